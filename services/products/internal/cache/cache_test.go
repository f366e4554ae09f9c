package cache_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/products/internal/cache"
	"github.com/daprshop/daprshop/services/products/internal/cache/cachetest"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// slowStore serves one product; a Get can be held between reading the
// database and returning, as a slow request would be.
type slowStore struct {
	catalog.Store
	mu      sync.Mutex
	product catalog.Product
	reads   int
	hold    chan struct{} // when set, the next Get waits on it after reading
	read    chan struct{}
}

func (s *slowStore) Get(context.Context, uuid.UUID) (catalog.Product, error) {
	s.mu.Lock()
	p, hold, read := s.product, s.hold, s.read
	s.hold = nil
	s.reads++
	s.mu.Unlock()
	if hold != nil {
		close(read)
		<-hold
	}
	return p, nil
}

func (s *slowStore) Update(_ context.Context, _ uuid.UUID, patch catalog.ProductPatch) (catalog.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.product.PriceCents = *patch.PriceCents
	return s.product, nil
}

func TestReadsAfterAWriteNeverSeeWhatItReplaced(t *testing.T) {
	ctx := context.Background()
	id := uuid.New()
	store := &slowStore{product: catalog.Product{ID: id, Name: "Mug", PriceCents: 100}}
	states := cachetest.NewState()
	c := cache.New(store, states, "cache", slog.New(slog.DiscardHandler))

	t.Run("a second read is a hit", func(t *testing.T) {
		for range 2 {
			p, err := c.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, int64(100), p.PriceCents)
		}
		assert.Equal(t, 1, store.reads)
	})

	t.Run("a slow read that loaded the old price cannot cache it past the write", func(t *testing.T) {
		require.NoError(t, c.Invalidate(ctx, id)) // force the slow read to miss
		hold, read := make(chan struct{}), make(chan struct{})
		store.mu.Lock()
		store.hold, store.read = hold, read
		store.mu.Unlock()
		slow := make(chan catalog.Product)
		go func() {
			p, err := c.Get(ctx, id)
			assert.NoError(t, err)
			slow <- p
		}()
		<-read // the slow read has the old price from the database

		_, err := c.Update(ctx, id, catalog.ProductPatch{PriceCents: new(int64(250))})
		require.NoError(t, err)
		close(hold)
		assert.Equal(t, int64(100), (<-slow).PriceCents, "the overlapping read saw the old price")

		for range 2 {
			p, err := c.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, int64(250), p.PriceCents, "a read after the write returned")
		}
	})

	t.Run("switched off, every read goes to the store", func(t *testing.T) {
		off := cache.New(store, states, "", slog.New(slog.DiscardHandler))
		before, gets := store.reads, states.Gets()
		for range 3 {
			_, err := off.Get(ctx, id)
			require.NoError(t, err)
		}
		assert.Equal(t, before+3, store.reads)
		assert.Equal(t, gets, states.Gets())
	})
}
