package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newLimiter(t *testing.T) *Limiter {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	require.NoError(t, rdb.Ping(context.Background()).Err(), "Redis must run on 127.0.0.1:6379")
	prefix := "test-ratelimit:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
		rdb.Close()
	})
	return New(rdb, prefix)
}

func TestAllowCountsDownThenRefuses(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		d, err := l.Allow(ctx, "login", "1.2.3.4", 3, time.Minute)
		require.NoError(t, err)
		assert.True(t, d.Allowed, "request %d", i)
		assert.Equal(t, 3-i, d.Remaining)
		assert.Equal(t, 3, d.Limit)
		assert.InDelta(t, time.Minute, d.Reset, float64(2*time.Second))
	}
	d, err := l.Allow(ctx, "login", "1.2.3.4", 3, time.Minute)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Zero(t, d.Remaining)

	other, err := l.Allow(ctx, "login", "5.6.7.8", 3, time.Minute)
	require.NoError(t, err)
	assert.True(t, other.Allowed, "buckets are per client")
	otherLimit, err := l.Allow(ctx, "default", "1.2.3.4", 3, time.Minute)
	require.NoError(t, err)
	assert.True(t, otherLimit.Allowed, "buckets are per limit")
}

func TestWindowRestarts(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	d, err := l.Allow(ctx, "tiny", "c", 1, 50*time.Millisecond)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	d, err = l.Allow(ctx, "tiny", "c", 1, 50*time.Millisecond)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Eventually(t, func() bool {
		d, err := l.Allow(ctx, "tiny", "c", 1, 50*time.Millisecond)
		return err == nil && d.Allowed
	}, 2*time.Second, 20*time.Millisecond)
}

// Concurrent requests from one client never exceed the limit in total.
func TestAllowIsAtomicUnderConcurrency(t *testing.T) {
	l := newLimiter(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := l.Allow(context.Background(), "burst", "c", 20, time.Minute)
			if assert.NoError(t, err) && d.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 20, allowed)
}
