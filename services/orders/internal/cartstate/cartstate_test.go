package cartstate_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/daprshop/daprshop/services/orders/internal/cartstate"
	"github.com/daprshop/daprshop/services/orders/internal/orders"
)

// fakeClient answers like the sidecar: saveErr for every save.
type fakeClient struct {
	value   []byte
	etag    string
	gotETag string
	gotOpts dapr.StateOptions
	saveErr error
}

func (f *fakeClient) GetState(context.Context, string, string, map[string]string) (*dapr.StateItem, error) {
	return &dapr.StateItem{Value: f.value, Etag: f.etag}, nil
}

func (f *fakeClient) SaveStateWithETag(_ context.Context, _, _ string, _ []byte, etag string, _ map[string]string, so ...dapr.StateOption) error {
	f.gotETag = etag
	for _, o := range so {
		o(&f.gotOpts)
	}
	return f.saveErr
}

func (f *fakeClient) DeleteStateWithETag(context.Context, string, string, *dapr.ETag, map[string]string, *dapr.StateOptions) error {
	return nil
}

func TestSave(t *testing.T) {
	user := uuid.New()
	t.Run("a missing cart is written only if still missing", func(t *testing.T) {
		c := &fakeClient{}
		s := cartstate.New(c, "statestore")
		cart, etag, err := s.Load(context.Background(), user)
		require.NoError(t, err)
		assert.Empty(t, cart.Lines)
		require.NoError(t, s.Save(context.Background(), user, cart, etag))
		assert.NotEmpty(t, c.gotETag, "an empty ETag would overwrite")
		assert.Equal(t, dapr.StateConcurrencyFirstWrite, c.gotOpts.Concurrency)
	})
	t.Run("an ETag mismatch is ErrCartChanged", func(t *testing.T) {
		c := &fakeClient{value: []byte(`{"lines": []}`), etag: "3",
			saveErr: fmt.Errorf("error saving state: %w", status.Error(codes.Aborted, "possible etag mismatch"))}
		err := cartstate.New(c, "statestore").Save(context.Background(), user, orders.Cart{}, "3")
		assert.ErrorIs(t, err, orders.ErrCartChanged)
	})
	t.Run("other failures are not", func(t *testing.T) {
		c := &fakeClient{saveErr: status.Error(codes.Unavailable, "down")}
		err := cartstate.New(c, "statestore").Save(context.Background(), user, orders.Cart{}, "3")
		require.Error(t, err)
		assert.False(t, errors.Is(err, orders.ErrCartChanged))
	})
}
