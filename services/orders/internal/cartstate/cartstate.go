// Package cartstate keeps carts in a Dapr state store (Redis), one key per
// user, with ETag optimistic concurrency.
package cartstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
)

// Client is the part of the Dapr client the store uses.
type Client interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveStateWithETag(ctx context.Context, storeName, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error
	DeleteStateWithETag(ctx context.Context, storeName, key string, etag *dapr.ETag, meta map[string]string, opts *dapr.StateOptions) error
}

// Store is an orders.CartStore in a Dapr state store.
type Store struct {
	client Client
	name   string
}

// New returns a Store in the state store component name.
func New(client Client, name string) *Store { return &Store{client: client, name: name} }

func key(userID uuid.UUID) string { return "cart:" + userID.String() }

// absentETag stands for "no cart yet". The Redis store writes a missing key
// whatever ETag comes with it, and refuses every ETag but the current
// version on an existing key; no version is ever -1. So two first writes
// racing cannot both land: the second finds the key and gets a mismatch.
// (An empty ETag would overwrite unconditionally.)
const absentETag = "-1"

// Load returns the user's cart and its ETag; an empty cart with
// absentETag when there is none.
func (s *Store) Load(ctx context.Context, userID uuid.UUID) (orders.Cart, string, error) {
	item, err := s.client.GetState(ctx, s.name, key(userID), nil)
	if err != nil {
		return orders.Cart{}, "", fmt.Errorf("read cart: %w", err)
	}
	if item == nil || len(item.Value) == 0 {
		return orders.Cart{}, absentETag, nil
	}
	var c orders.Cart
	if err := json.Unmarshal(item.Value, &c); err != nil {
		return orders.Cart{}, "", fmt.Errorf("decode cart: %w", err)
	}
	return c, item.Etag, nil
}

// Save writes the cart if it is still at etag, else orders.ErrCartChanged.
func (s *Store) Save(ctx context.Context, userID uuid.UUID, c orders.Cart, etag string) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode cart: %w", err)
	}
	err = s.client.SaveStateWithETag(ctx, s.name, key(userID), b, etag, nil,
		dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	return stateError("save cart", err)
}

// Delete removes the cart if it is still at etag (any version when etag is
// empty), else orders.ErrCartChanged.
func (s *Store) Delete(ctx context.Context, userID uuid.UUID, etag string) error {
	if etag == absentETag {
		return nil
	}
	var tag *dapr.ETag
	opts := &dapr.StateOptions{Concurrency: dapr.StateConcurrencyLastWrite}
	if etag != "" {
		tag, opts.Concurrency = &dapr.ETag{Value: etag}, dapr.StateConcurrencyFirstWrite
	}
	return stateError("delete cart", s.client.DeleteStateWithETag(ctx, s.name, key(userID), tag, nil, opts))
}

// stateError maps the sidecar's ETag mismatch (gRPC Aborted) to
// orders.ErrCartChanged.
func stateError(op string, err error) error {
	if err == nil {
		return nil
	}
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) && st.GRPCStatus().Code() == codes.Aborted {
		return orders.ErrCartChanged
	}
	return fmt.Errorf("%s: %w", op, err)
}
