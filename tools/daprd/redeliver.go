package main

import (
	"context"
	"fmt"

	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/kit/logger"
)

// redeliverAfterUnsubscribe wraps a pub/sub component so that a message
// whose subscription stopped while the message was handled is not
// acknowledged. Dapr 1.14 retries a delivery under context.Background()
// but, once the retries are spent, publishes the message to the
// dead-letter topic under the subscription's context and acknowledges it
// whatever that publish did (pkg/runtime/subscription/subscription.go,
// `_ = s.sendToDeadLetter(ctx, ...)` then `return nil`). When the app
// turned unhealthy meanwhile (it was killed, say), daprd has stopped the
// subscription, the context is cancelled, the dead-letter publish fails
// and the message is gone. Here the handler answers an error instead: the
// broker delivers the message again, and the consumers are idempotent.
func redeliverAfterUnsubscribe(newPubSub func(logger.Logger) pubsub.PubSub) func(logger.Logger) pubsub.PubSub {
	return func(log logger.Logger) pubsub.PubSub { return redeliveringPubSub{newPubSub(log)} }
}

type redeliveringPubSub struct{ pubsub.PubSub }

func (p redeliveringPubSub) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, handler pubsub.Handler) error {
	return p.PubSub.Subscribe(ctx, req, func(ctx context.Context, msg *pubsub.NewMessage) error {
		err := handler(ctx, msg)
		if err == nil && ctx.Err() != nil {
			return fmt.Errorf("the subscription to %s stopped while its message was handled: %w", msg.Topic, ctx.Err())
		}
		return err
	})
}
