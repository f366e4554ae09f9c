// Package nrcache keeps the live addresses of each app id for a short
// while, so that a sidecar does not ask its name-resolution database once
// per invocation. It holds no Dapr types: the sidecar's resolver wraps it
// around its own lookup.
package nrcache

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrNoHost is returned by Resolve when an app id has no live address.
var ErrNoHost = errors.New("no host found with the given ID")

// Lookup lists the live addresses of appID; none is not an error.
type Lookup func(ctx context.Context, appID string) ([]string, error)

// Cache resolves app ids through a Lookup whose answers it keeps for TTL:
// an address that dies or leaves is still handed out for at most TTL
// after the lookup stops listing it. Failed and empty lookups are not
// kept, so an app that registers is found on the next call.
type Cache struct {
	lookup Lookup
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one app id's addresses; ready is closed once the lookup that
// fills it has returned, which callers arriving meanwhile wait for rather
// than look up again.
type entry struct {
	ready   chan struct{}
	addrs   []string
	err     error
	expires time.Time
}

// New returns a Cache over lookup keeping answers for ttl.
func New(lookup Lookup, ttl time.Duration, now func() time.Time) *Cache {
	return &Cache{lookup: lookup, ttl: ttl, now: now, entries: map[string]*entry{}}
}

// Resolve returns one live address of appID, picked at random among them
// so that calls spread over an app's instances. It returns ErrNoHost when
// there is none, or the lookup's error.
func (c *Cache) Resolve(ctx context.Context, appID string) (string, error) {
	addrs, err := c.addresses(ctx, appID)
	if err != nil {
		return "", err
	}
	if len(addrs) == 0 {
		return "", ErrNoHost
	}
	return addrs[rand.IntN(len(addrs))], nil
}

func (c *Cache) addresses(ctx context.Context, appID string) ([]string, error) {
	c.mu.Lock()
	e, ok := c.entries[appID]
	if ok {
		select {
		case <-e.ready:
			if c.now().Before(e.expires) {
				c.mu.Unlock()
				return e.addrs, nil
			}
		default: // being looked up: wait for that answer
			c.mu.Unlock()
			select {
			case <-e.ready:
				return e.addrs, e.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	e = &entry{ready: make(chan struct{})}
	c.entries[appID] = e
	c.mu.Unlock()

	addrs, err := c.lookup(ctx, appID)

	c.mu.Lock()
	e.addrs, e.err, e.expires = addrs, err, c.now().Add(c.ttl)
	if err != nil || len(addrs) == 0 {
		delete(c.entries, appID)
	}
	close(e.ready)
	c.mu.Unlock()
	return addrs, err
}
