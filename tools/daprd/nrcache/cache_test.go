package nrcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registry is a made-up name-resolution database: the live addresses of
// each app id, and how often it was asked.
type registry struct {
	mu      sync.Mutex
	live    map[string][]string
	err     error
	lookups atomic.Int64
}

func (r *registry) set(appID string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[appID] = addrs
}

func (r *registry) lookup(_ context.Context, appID string) ([]string, error) {
	r.lookups.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live[appID], r.err
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup() (*registry, *clock, *Cache) {
	reg := &registry{live: map[string][]string{}}
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	return reg, clk, New(reg.lookup, time.Second, clk.now)
}

func TestResolve(t *testing.T) {
	ctx := context.Background()

	t.Run("one lookup serves every call for the TTL, then the next call looks up again", func(t *testing.T) {
		reg, clk, c := setup()
		reg.set("products", "127.0.0.1:3702")
		for range 100 {
			addr, err := c.Resolve(ctx, "products")
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1:3702", addr)
		}
		assert.EqualValues(t, 1, reg.lookups.Load())
		clk.t = clk.t.Add(time.Second)
		_, err := c.Resolve(ctx, "products")
		require.NoError(t, err)
		assert.EqualValues(t, 2, reg.lookups.Load())
	})

	t.Run("calls spread over every live instance", func(t *testing.T) {
		reg, _, c := setup()
		reg.set("products", "127.0.0.1:3702", "127.0.0.1:3712")
		seen := map[string]int{}
		for range 200 {
			addr, err := c.Resolve(ctx, "products")
			require.NoError(t, err)
			seen[addr]++
		}
		assert.Len(t, seen, 2, "both instances are picked: %v", seen)
	})

	t.Run("an instance that leaves is no longer picked once the TTL has passed", func(t *testing.T) {
		reg, clk, c := setup()
		reg.set("products", "127.0.0.1:3702", "127.0.0.1:3712")
		_, err := c.Resolve(ctx, "products")
		require.NoError(t, err)
		reg.set("products", "127.0.0.1:3702")
		clk.t = clk.t.Add(time.Second)
		for range 50 {
			addr, err := c.Resolve(ctx, "products")
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1:3702", addr)
		}
	})

	t.Run("an app with no instance is looked up again on the next call, not kept", func(t *testing.T) {
		reg, _, c := setup()
		_, err := c.Resolve(ctx, "orders")
		assert.ErrorIs(t, err, ErrNoHost)
		reg.set("orders", "127.0.0.1:3703")
		addr, err := c.Resolve(ctx, "orders")
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1:3703", addr)
	})

	t.Run("a failed lookup is returned and not kept", func(t *testing.T) {
		reg, _, c := setup()
		reg.set("orders", "127.0.0.1:3703")
		reg.err = errors.New("database is locked")
		_, err := c.Resolve(ctx, "orders")
		assert.ErrorContains(t, err, "database is locked")
		reg.err = nil
		addr, err := c.Resolve(ctx, "orders")
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1:3703", addr)
	})

	t.Run("app ids are kept apart", func(t *testing.T) {
		reg, _, c := setup()
		reg.set("orders", "127.0.0.1:3703")
		reg.set("products", "127.0.0.1:3702")
		o, err := c.Resolve(ctx, "orders")
		require.NoError(t, err)
		p, err := c.Resolve(ctx, "products")
		require.NoError(t, err)
		assert.Equal(t, []string{"127.0.0.1:3703", "127.0.0.1:3702"}, []string{o, p})
	})
}

// TestConcurrentCallersShareALookup: callers that arrive while a lookup
// runs wait for its answer instead of each asking the database.
func TestConcurrentCallersShareALookup(t *testing.T) {
	release := make(chan struct{})
	var lookups atomic.Int64
	started := make(chan struct{}, 1)
	c := New(func(context.Context, string) ([]string, error) {
		lookups.Add(1)
		started <- struct{}{}
		<-release
		return []string{"127.0.0.1:3702"}, nil
	}, time.Second, time.Now)

	var wg sync.WaitGroup
	results := make(chan error, 20)
	resolve := func() {
		defer wg.Done()
		_, err := c.Resolve(context.Background(), "products")
		results <- err
	}
	wg.Add(1)
	go resolve()
	<-started
	for range 19 {
		wg.Add(1)
		go resolve()
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		assert.NoError(t, err)
	}
	assert.EqualValues(t, 1, lookups.Load())
}

func TestWaitingCallerGivesUpWithItsContext(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	c := New(func(context.Context, string) ([]string, error) {
		close(started)
		<-release
		return []string{"127.0.0.1:3702"}, nil
	}, time.Second, time.Now)
	go func() { _, _ = c.Resolve(context.Background(), "products") }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Resolve(ctx, "products")
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
}
