package authn

import (
	"context"
	"strings"
	"sync"
	"time"
)

// MaxDenylistCacheTTL bounds how long a service may trust that a token was
// not revoked: a revocation reaches every service within it.
const MaxDenylistCacheTTL = time.Second

// CacheDenylist returns d with its "not revoked" answers kept for ttl per
// token (the ids it is asked about together), so that a client's burst of
// requests costs one denylist read, not one each. A revocation written
// after an answer was kept is seen once ttl has passed: keep ttl under
// MaxDenylistCacheTTL. Revoked answers and errors are not kept. A ttl of
// zero returns d itself.
func CacheDenylist(d Denylist, ttl time.Duration, now func() time.Time) Denylist {
	if ttl <= 0 {
		return d
	}
	return &denylistCache{next: d, ttl: ttl, now: now, clear: map[string]time.Time{}}
}

type denylistCache struct {
	next Denylist
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	clear   map[string]time.Time // ids read as not revoked → until when that holds
	sweptAt time.Time
}

func (c *denylistCache) Revoked(ctx context.Context, ids ...string) (bool, error) {
	key := strings.Join(ids, "\x00")
	start := c.now()
	c.mu.Lock()
	until, ok := c.clear[key]
	c.mu.Unlock()
	if ok && start.Before(until) {
		return false, nil
	}
	revoked, err := c.next.Revoked(ctx, ids...)
	if err != nil || revoked {
		return revoked, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if start.Sub(c.sweptAt) > c.ttl {
		for k, u := range c.clear {
			if !start.Before(u) {
				delete(c.clear, k)
			}
		}
		c.sweptAt = start
	}
	// Counted from before the read: a revocation committed while it ran
	// may have been missed, and must show within ttl of that.
	c.clear[key] = start.Add(c.ttl)
	return false, nil
}
