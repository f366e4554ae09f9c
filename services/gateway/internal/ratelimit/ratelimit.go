// Package ratelimit counts requests per client in fixed windows kept in
// Redis, so every gateway replica enforces the same budget.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Decision is the outcome of one request against its limit.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is the time left until the window ends and the count restarts.
	Reset time.Duration
}

// Limiter enforces limits with one atomic Redis round trip per request.
type Limiter struct {
	rdb    redis.Scripter
	prefix string
}

// New returns a Limiter whose keys start with prefix.
func New(rdb redis.Scripter, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// The window starts with a bucket's first request; PEXPIRE only then, so
// later requests cannot stretch it. A key that somehow lost its expiry
// gets one back rather than limiting its client forever.
var hit = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`)

// Allow counts one request of bucket (a client key) under the named limit
// of requests per window.
func (l *Limiter) Allow(ctx context.Context, name, bucket string, requests int, window time.Duration) (Decision, error) {
	key := l.prefix + name + ":" + bucket
	res, err := hit.Run(ctx, l.rdb, []string{key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", name, err)
	}
	count, ttl := int(res[0]), time.Duration(res[1])*time.Millisecond
	return Decision{
		Allowed:   count <= requests,
		Limit:     requests,
		Remaining: max(requests-count, 0),
		Reset:     ttl,
	}, nil
}
