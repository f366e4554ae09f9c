// Package denylist writes revoked access token ids into the Dapr state
// store every verifier reads (authn.DenylistKey), each entry expiring with
// its token.
package denylist

import (
	"context"
	"fmt"
	"strconv"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// StateSaver is the part of the Dapr client the denylist needs.
type StateSaver interface {
	SaveState(ctx context.Context, store, key string, data []byte, meta map[string]string, opts ...dapr.StateOption) error
}

// Writer adds token ids to the denylist in one state store.
type Writer struct {
	state StateSaver
	store string
}

// NewWriter returns a Writer saving into store.
func NewWriter(state StateSaver, store string) *Writer { return &Writer{state: state, store: store} }

// Revoke denylists tokenID for ttl, rounded up to whole seconds so the
// entry never expires before the token.
func (w *Writer) Revoke(ctx context.Context, tokenID string, ttl time.Duration) error {
	secs := int64((ttl + time.Second - 1) / time.Second)
	meta := map[string]string{"ttlInSeconds": strconv.FormatInt(max(secs, 1), 10)}
	if err := w.state.SaveState(ctx, w.store, authn.DenylistKey(tokenID), []byte("1"), meta); err != nil {
		return fmt.Errorf("denylist token: %w", err)
	}
	return nil
}
