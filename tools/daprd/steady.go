package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/dapr/components-contrib/pubsub"
	pubsubredis "github.com/dapr/components-contrib/pubsub/redis"
	"github.com/dapr/kit/logger"
)

// newRedisStreams is Redis Streams as the sidecars load it: each topic read
// by one reader for the sidecar's life (steadyReaders).
var newRedisStreams = redeliverAfterUnsubscribe(steadyReaders(pubsubredis.NewRedisStreams))

// steadyReaders wraps a pub/sub component so that each topic is read by
// one subscription of the component's own, from the first Subscribe until
// Close, and Dapr's subscriptions only choose who handles what it reads.
//
// Dapr 1.14 stops an app's subscriptions while the app is unhealthy (it
// cancels their contexts) and subscribes again once it is healthy. The
// Redis Streams component reads with XREADGROUP ... BLOCK 0, and its client
// does not end a blocked read when the context is cancelled: the stopped
// subscription's reader stays blocked, and Redis serves the reader that
// has waited longest first. The topic's next message goes to it, not to the
// new subscription; it then either drops the message, left pending, or
// hands it to the stopped subscription (contrib pubsub/redis
// enqueueMessages picks at random between its queue and the cancelled
// context). Either way the message waits in the consumer group's pending
// list until the reclaim loop takes it again, processingTimeout later.
//
// Here no reader is ever stopped: a message read while no subscription to
// its topic is active waits for the next one, or, once its delivery's
// context ends (processingTimeout), fails and is delivered again.
func steadyReaders(newPubSub func(logger.Logger) pubsub.PubSub) func(logger.Logger) pubsub.PubSub {
	return func(log logger.Logger) pubsub.PubSub {
		ctx, stop := context.WithCancel(context.Background())
		return &steadyPubSub{PubSub: newPubSub(log), ctx: ctx, stop: stop, topics: map[string]*topicHandler{}}
	}
}

type steadyPubSub struct {
	pubsub.PubSub
	// ctx is the readers' context, ended by Close.
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	topics map[string]*topicHandler
}

func (p *steadyPubSub) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, handler pubsub.Handler) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, reading := p.topics[req.Topic]
	if !reading {
		t = &topicHandler{changed: make(chan struct{})}
		if err := p.PubSub.Subscribe(p.ctx, req, t.handle); err != nil {
			return err
		}
		p.topics[req.Topic] = t
	}
	s := &subscription{ctx: ctx, handler: handler}
	t.set(s)
	context.AfterFunc(ctx, func() { t.unset(s) })
	return nil
}

func (p *steadyPubSub) Close() error {
	p.stop()
	return p.PubSub.Close()
}

// topicHandler hands a topic's messages to its active subscription.
type topicHandler struct {
	mu      sync.Mutex
	active  *subscription // nil while none is
	changed chan struct{} // closed when a subscription becomes active
}

// subscription is one of Dapr's subscriptions: its context ends when Dapr
// stops it.
type subscription struct {
	ctx     context.Context
	handler pubsub.Handler
}

func (t *topicHandler) set(s *subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active = s
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *topicHandler) unset(s *subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active == s {
		t.active = nil
	}
}

// handle waits for an active subscription and hands it msg, under a context
// that ends with either the delivery's or the subscription's, so that a
// subscription stopped meanwhile is seen as stopped (redeliverAfterUnsubscribe).
func (t *topicHandler) handle(ctx context.Context, msg *pubsub.NewMessage) error {
	for {
		t.mu.Lock()
		s, changed := t.active, t.changed
		t.mu.Unlock()
		// A subscription stopped a moment ago may not be unset yet.
		if s != nil && s.ctx.Err() == nil {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			defer context.AfterFunc(s.ctx, cancel)()
			return s.handler(ctx, msg)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("no subscription to %s took the message: %w", msg.Topic, ctx.Err())
		}
	}
}
