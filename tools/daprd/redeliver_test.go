package main

import (
	"context"
	"testing"

	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/kit/logger"
	"github.com/stretchr/testify/assert"
)

// deliveringPubSub hands one message to each subscription, under the
// subscription's context, and keeps what the handler answered.
type deliveringPubSub struct {
	pubsub.PubSub
	answer error
}

func (p *deliveringPubSub) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, handler pubsub.Handler) error {
	p.answer = handler(ctx, &pubsub.NewMessage{Topic: req.Topic, Data: []byte("{}")})
	return nil
}

func TestRedeliverAfterUnsubscribe(t *testing.T) {
	inner := &deliveringPubSub{}
	ps := redeliverAfterUnsubscribe(func(logger.Logger) pubsub.PubSub { return inner })(logger.NewLogger("test"))
	acknowledged := func(context.Context, *pubsub.NewMessage) error { return nil }

	assert.NoError(t, ps.Subscribe(context.Background(), pubsub.SubscribeRequest{Topic: "order.created"}, acknowledged))
	assert.NoError(t, inner.answer, "handled while subscribed: acknowledged")

	// As daprd does with the subscriptions of an app that turned
	// unhealthy, the subscription's context is cancelled; the runtime's
	// handler then answers success whether or not the message reached the
	// app or its dead-letter topic.
	stopped, stop := context.WithCancel(context.Background())
	stop()
	assert.NoError(t, ps.Subscribe(stopped, pubsub.SubscribeRequest{Topic: "order.created"}, acknowledged))
	assert.ErrorIs(t, inner.answer, context.Canceled, "left to the broker to deliver again")
}
