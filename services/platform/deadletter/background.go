package deadletter

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// A replay runs after the request asking for it is answered (202): a
// consumer may call out (payments to Stripe, up to its own timeouts and
// circuit breaker), longer than an invocation's deadline, and a caller
// timing out would have Dapr retry a replay that is still running.
const (
	// replayTimeout bounds the replay of one letter, from when it starts:
	// a batch, or a replay waiting for a slot, is not cut short by it.
	replayTimeout = 2 * time.Minute
	// replaySlots is how many replays run at once; the others wait.
	replaySlots = 4
)

// errStopping is the answer to a replay asked for while the service stops.
var errStopping = apperr.New(apperr.Unavailable, "the service is stopping: replay later")

// background runs work after the request that asked for it, at most slots
// at a time, until its context ends or it is closed; close waits for the
// work under way.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}

	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup
}

func newBackground(ctx context.Context, slots int) *background {
	ctx, cancel := context.WithCancel(ctx)
	return &background{ctx: ctx, cancel: cancel, slots: make(chan struct{}, slots)}
}

// start runs work in the background with the values of ctx (request id,
// trace) but not its end, or returns errStopping once closed.
func (b *background) start(ctx context.Context, work func(ctx context.Context)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped || b.ctx.Err() != nil {
		return errStopping
	}
	b.running.Add(1)
	go func() {
		defer b.running.Done()
		select {
		case b.slots <- struct{}{}:
		case <-b.ctx.Done(): // stopping: what it would have replayed stays unresolved
			return
		}
		defer func() { <-b.slots }()
		if b.ctx.Err() != nil { // a slot freed as it stopped
			return
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		stop := context.AfterFunc(b.ctx, cancel)
		defer stop()
		work(ctx)
	}()
	return nil
}

// close ends the work under way and waits for it.
func (b *background) close() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.cancel()
	b.running.Wait()
}

// claims are the letters being replayed.
type claims struct {
	mu  sync.Mutex
	ids map[uuid.UUID]bool
}

// claim marks id as being replayed; false when it already was.
func (c *claims) claim(id uuid.UUID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[id] {
		return false
	}
	if c.ids == nil {
		c.ids = map[uuid.UUID]bool{}
	}
	c.ids[id] = true
	return true
}

func (c *claims) release(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ids, id)
}
