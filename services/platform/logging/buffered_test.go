package logging_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/logging"
)

// sink records each write it gets.
type sink struct {
	mu     sync.Mutex
	writes []string
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestBufferedLogger(t *testing.T) {
	ctx := context.Background()

	t.Run("info lines go out together once the delay has passed", func(t *testing.T) {
		out := &sink{}
		log, flush := logging.NewWithBuffer(out, "orders", "info", 20*time.Millisecond)
		log.InfoContext(ctx, "request", "path", "/a")
		log.InfoContext(ctx, "request", "path", "/b")
		require.Eventually(t, func() bool { return len(out.all()) == 1 }, 5*time.Second, 5*time.Millisecond)
		lines := strings.Split(strings.TrimSuffix(out.all()[0], "\n"), "\n")
		require.Len(t, lines, 2, "one write for both lines")
		assert.Contains(t, lines[0], `"path":"/a"`)
		assert.Contains(t, lines[1], `"path":"/b"`)
		require.NoError(t, flush())
		assert.Len(t, out.all(), 1, "nothing left to write")
	})

	t.Run("a warning goes out at once, after the lines before it", func(t *testing.T) {
		out := &sink{}
		log, _ := logging.NewWithBuffer(out, "orders", "info", time.Hour)
		log.InfoContext(ctx, "request")
		log.With("app", "products").WarnContext(ctx, "invocation failed")
		got := out.all()
		require.Len(t, got, 1)
		assert.Less(t, strings.Index(got[0], `"msg":"request"`), strings.Index(got[0], `"msg":"invocation failed"`))
		assert.Contains(t, got[0], `"app":"products"`)
	})

	t.Run("flush writes what is held", func(t *testing.T) {
		var out bytes.Buffer
		log, flush := logging.NewWithBuffer(&out, "orders", "info", time.Hour)
		log.InfoContext(logging.WithRequestID(ctx, "r-1"), "request")
		assert.Zero(t, out.Len())
		require.NoError(t, flush())
		assert.Contains(t, out.String(), `"request_id":"r-1"`)
	})

	t.Run("a burst past the buffer is written without waiting", func(t *testing.T) {
		out := &sink{}
		log, _ := logging.NewWithBuffer(out, "orders", "info", time.Hour)
		for range 400 {
			log.InfoContext(ctx, "request", "pad", strings.Repeat("x", 100))
		}
		assert.NotEmpty(t, out.all())
	})
}
