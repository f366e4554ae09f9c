package denylist_test

import (
	"context"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/auth/internal/denylist"
)

type saved struct {
	store, key, value string
	meta              map[string]string
}

type recorder struct{ calls []saved }

func (r *recorder) SaveState(_ context.Context, store, key string, data []byte, meta map[string]string, _ ...dapr.StateOption) error {
	r.calls = append(r.calls, saved{store, key, string(data), meta})
	return nil
}

func TestRevokeSavesTheTokenIDUntilItExpires(t *testing.T) {
	tests := map[string]struct {
		ttl  time.Duration
		want string
	}{
		"whole seconds":           {14 * time.Minute, "840"},
		"a fraction rounds up":    {1500 * time.Millisecond, "2"},
		"never less than one sec": {time.Millisecond, "1"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			require.NoError(t, denylist.NewWriter(rec, "denylist").Revoke(context.Background(), "jti-1", tt.ttl))
			assert.Equal(t, []saved{{"denylist", "denylist:jti-1", "1", map[string]string{"ttlInSeconds": tt.want}}}, rec.calls)
		})
	}
}
