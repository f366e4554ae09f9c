package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/components-contrib/pubsub/rabbitmq"
	"github.com/dapr/kit/logger"
	kitmd "github.com/dapr/kit/metadata"
	amqp "github.com/rabbitmq/amqp091-go"
)

// confirmedRabbitMQ is components-contrib's RabbitMQ pub/sub with a
// publisher that reports what the broker did not take. Upstream's (1.14)
// waits for the broker's confirmation and, when none comes (the broker
// closed the channel first, as it does when it restarts, or refused the
// message), logs "did not receive confirmation of publishing" and still
// returns success (pubsub/rabbitmq/rabbitmq.go, publishSync): the
// publishing app then takes its event as delivered and it is lost. Here
// such a publish fails, so the app publishes it again. Subscriptions are
// upstream's.
type confirmedRabbitMQ struct {
	pubsub.PubSub
	log logger.Logger
	md  publisherMetadata

	mu       sync.Mutex
	conn     *amqp.Connection
	ch       *amqp.Channel
	declared map[string]bool // exchanges declared on ch
}

// publisherMetadata are the component's settings the publisher uses,
// decoded with upstream's names and defaults.
type publisherMetadata struct {
	ConnectionString string `mapstructure:"connectionString"`
	Durable          bool   `mapstructure:"durable"`
	DeleteWhenUnused bool   `mapstructure:"deletedWhenUnused"`
	DeliveryMode     uint8  `mapstructure:"deliveryMode"`
	ExchangeKind     string `mapstructure:"exchangeKind"`
}

func newConfirmedRabbitMQ(log logger.Logger) pubsub.PubSub {
	return &confirmedRabbitMQ{PubSub: rabbitmq.NewRabbitMQ(log), log: log}
}

func (r *confirmedRabbitMQ) Init(ctx context.Context, md pubsub.Metadata) error {
	r.md = publisherMetadata{Durable: true, DeleteWhenUnused: true, ExchangeKind: amqp.ExchangeFanout}
	if err := kitmd.DecodeMetadata(md.Properties, &r.md); err != nil {
		return err
	}
	// Only the settings above reach the broker from this publisher: a
	// component relying on others to publish would silently lose them.
	if !strings.HasPrefix(r.md.ConnectionString, "amqp://") {
		return errors.New("rabbitmq: this build publishes over an amqp:// connectionString only")
	}
	return r.PubSub.Init(ctx, md)
}

// Features leaves message TTLs to the runtime (an expiry in the
// CloudEvent), as for a broker without them: this publisher sets none.
func (r *confirmedRabbitMQ) Features() []pubsub.Feature { return nil }

// Publish publishes req on its topic's exchange and returns once the
// broker confirmed it, or an error.
func (r *confirmedRabbitMQ) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.publish(ctx, req)
	if err != nil {
		// The channel may be closed, or hold a confirmation this call no
		// longer waits for: the next publish starts on a new one.
		r.reset()
		return fmt.Errorf("rabbitmq: publish to %s: %w", req.Topic, err)
	}
	return nil
}

func (r *confirmedRabbitMQ) publish(ctx context.Context, req *pubsub.PublishRequest) error {
	ch, err := r.channel(req.Topic)
	if err != nil {
		return err
	}
	confirm, err := ch.PublishWithDeferredConfirmWithContext(ctx, req.Topic, req.Metadata["routingKey"], false, false,
		amqp.Publishing{ContentType: "text/plain", Body: req.Data, DeliveryMode: r.md.DeliveryMode})
	if err != nil {
		return err
	}
	acked, err := confirm.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return errors.New("the broker did not confirm the message")
	}
	return nil
}

// channel returns the publishing channel, in confirm mode, with topic's
// exchange declared as upstream's subscribers declare it.
func (r *confirmedRabbitMQ) channel(topic string) (*amqp.Channel, error) {
	if r.ch == nil || r.ch.IsClosed() {
		r.reset()
		conn, err := amqp.Dial(r.md.ConnectionString)
		if err != nil {
			return nil, err
		}
		ch, err := conn.Channel()
		if err == nil {
			err = ch.Confirm(false)
		}
		if err != nil {
			conn.Close()
			return nil, err
		}
		r.conn, r.ch, r.declared = conn, ch, map[string]bool{}
	}
	if !r.declared[topic] {
		if err := r.ch.ExchangeDeclare(topic, r.md.ExchangeKind, r.md.Durable, r.md.DeleteWhenUnused, false, false, nil); err != nil {
			return nil, err
		}
		r.declared[topic] = true
	}
	return r.ch, nil
}

func (r *confirmedRabbitMQ) reset() {
	if r.conn != nil {
		if err := r.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
			r.log.Warnf("rabbitmq: closing the publishing connection: %v", err)
		}
	}
	r.conn, r.ch = nil, nil
}

func (r *confirmedRabbitMQ) Close() error {
	r.mu.Lock()
	r.reset()
	r.mu.Unlock()
	return r.PubSub.Close()
}
