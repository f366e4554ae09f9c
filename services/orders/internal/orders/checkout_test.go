package orders

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// meetingCatalog answers a price only once lines lookups are in flight
// together: lookups made one after another never meet.
type meetingCatalog struct {
	reserver
	lines   int
	mu      sync.Mutex
	waiting int
	met     chan struct{}
}

func (c *meetingCatalog) Product(ctx context.Context, id uuid.UUID) (Product, error) {
	c.mu.Lock()
	if c.waiting++; c.waiting == c.lines {
		close(c.met)
	}
	c.mu.Unlock()
	select {
	case <-c.met:
		return Product{ID: id, Name: "Paprika", PriceCents: 150000, Currency: "HUF", Active: true}, nil
	case <-time.After(10 * time.Second):
		return Product{}, errors.New("price lookups made one after another")
	case <-ctx.Done():
		return Product{}, ctx.Err()
	}
}

// TestPayPalPriceCheckLooksUpTheCartLinesTogether: a cart's prices are
// read concurrently, not one line after another.
func TestPayPalPriceCheckLooksUpTheCartLinesTogether(t *testing.T) {
	const lines = priceLookups
	catalog := &meetingCatalog{lines: lines, met: make(chan struct{})}
	s := NewService(nil, nil, catalog, time.Now, time.Hour)
	cart := Cart{}
	for range lines {
		cart.Lines = append(cart.Lines, CartLine{ProductID: uuid.New(), Quantity: 1})
	}
	refused, err := s.unpayable(context.Background(), contracts.PaymentProviderPayPal, cart)
	require.NoError(t, err)
	assert.Nil(t, refused, "whole forints")
}
