package payments

import (
	"context"
	"sync"
)

// recording tracks the intents whose payment this instance is recording.
// The provider sends an intent's webhook as soon as it confirms it, which
// is often before the payment that names it commits here: rather than
// answering "unknown intent" and having the provider deliver it again
// later (a whole webhook round trip more, and a wait), the webhook waits
// for a recording in flight on this instance. On another instance it is
// unknown as before, and comes again.
type recording struct {
	mu       sync.Mutex
	inFlight map[string]*inFlight
}

type inFlight struct {
	done    chan struct{}
	callers int
}

func newRecording() *recording { return &recording{inFlight: map[string]*inFlight{}} }

// start marks intentID's payment as being recorded until the returned
// function is called.
func (r *recording) start(intentID string) (finish func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.inFlight[intentID]
	if f == nil {
		f = &inFlight{done: make(chan struct{})}
		r.inFlight[intentID] = f
	}
	f.callers++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if f.callers--; f.callers == 0 {
			delete(r.inFlight, intentID)
			close(f.done)
		}
	}
}

// wait waits until no payment of intentID is being recorded, or ctx ends;
// it reports whether one was.
func (r *recording) wait(ctx context.Context, intentID string) bool {
	r.mu.Lock()
	f := r.inFlight[intentID]
	r.mu.Unlock()
	if f == nil {
		return false
	}
	select {
	case <-f.done:
		return true
	case <-ctx.Done():
		return false
	}
}
