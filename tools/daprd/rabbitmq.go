package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/kit/logger"
	kitmd "github.com/dapr/kit/metadata"
	"github.com/dapr/kit/utils"
	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbitMQ is the RabbitMQ pub/sub this daprd registers in place
// of components-contrib's (1.14), which loses events two ways:
//   - Its publisher waits for the broker's confirmation and, when none
//     comes (the broker closed the channel first, as it does when it
//     restarts, or refused the message), logs "did not receive confirmation
//     of publishing" and still returns success (pubsub/rabbitmq/rabbitmq.go,
//     publishSync): the publishing app takes its event as delivered and it
//     is lost. Here such a publish fails, so the app publishes it again.
//   - All subscriptions of a sidecar share one AMQP channel and, after a
//     reconnect, declare queues and start consumers on it concurrently
//     (ensureSubscription holds only a read lock). amqp091 hands an RPC's
//     reply to whichever caller reads it first (channel.go, call), so a
//     subscription can be given another's queue by QueueDeclare and
//     consume from it while its own queue keeps no consumer: after a broker
//     restart a sidecar logged "unexpected command received" and one of
//     its topics was never delivered again. Here each subscription has its
//     own connection and channel, used by one goroutine, and reconnects on
//     its own.
type rabbitMQ struct {
	log logger.Logger
	md  rabbitMetadata

	mu       sync.Mutex
	conn     *amqp.Connection
	ch       *amqp.Channel
	declared map[string]bool // exchanges declared on ch

	closing       chan struct{} // closed by Close: every subscription ends
	closeOnce     sync.Once
	subscriptions sync.WaitGroup
}

// rabbitMetadata are the component's settings this implementation reads,
// decoded with upstream's names and defaults.
type rabbitMetadata struct {
	ConnectionString string `mapstructure:"connectionString"`
	ConsumerID       string `mapstructure:"consumerID"` // daprd sets it to the app id when unset
	Durable          bool   `mapstructure:"durable"`
	DeleteWhenUnused bool   `mapstructure:"deletedWhenUnused"`
	DeliveryMode     uint8  `mapstructure:"deliveryMode"`
	ExchangeKind     string `mapstructure:"exchangeKind"`
	PrefetchCount    uint8  `mapstructure:"prefetchCount"`
	RequeueInFailure bool   `mapstructure:"requeueInFailure"`
}

// unsupportedSettings are upstream settings this implementation does not
// apply: a component naming one would silently lose what it asks for.
var unsupportedSettings = []string{
	"maxLen", "maxLenBytes", "exchangeKind", "ttlInSeconds", "reconnectWaitSeconds",
	"clientCert", "clientKey", "caCert", "saslExternal", "hostname", "username", "password",
}

func newRabbitMQ(log logger.Logger) pubsub.PubSub {
	return &rabbitMQ{log: log, closing: make(chan struct{})}
}

func (r *rabbitMQ) Init(_ context.Context, md pubsub.Metadata) error {
	r.md = rabbitMetadata{
		Durable: true, DeleteWhenUnused: true, ExchangeKind: amqp.ExchangeFanout,
	}
	if err := kitmd.DecodeMetadata(md.Properties, &r.md); err != nil {
		return err
	}
	if !strings.HasPrefix(r.md.ConnectionString, "amqp://") {
		return errors.New("rabbitmq: this build connects over an amqp:// connectionString only")
	}
	for _, name := range unsupportedSettings {
		if md.Properties[name] != "" {
			return fmt.Errorf("rabbitmq: this build does not support the setting %q", name)
		}
	}
	// Messages are acknowledged once handled, and dead letters are Dapr's.
	if utils.IsTruthy(md.Properties["autoAck"]) || utils.IsTruthy(md.Properties["enableDeadLetter"]) {
		return errors.New("rabbitmq: this build supports neither autoAck nor enableDeadLetter")
	}
	if md.Properties["concurrencyMode"] == string(pubsub.Single) {
		return errors.New("rabbitmq: this build handles messages in parallel only")
	}
	// As upstream's, a sidecar whose broker is unreachable does not start.
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connect()
}

// Features leaves message TTLs to the runtime (an expiry in the
// CloudEvent), as for a broker without them: this publisher sets none.
func (r *rabbitMQ) Features() []pubsub.Feature { return nil }

// Publish publishes req on its topic's exchange and returns once the
// broker confirmed it, or an error.
func (r *rabbitMQ) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
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

func (r *rabbitMQ) publish(ctx context.Context, req *pubsub.PublishRequest) error {
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
func (r *rabbitMQ) channel(topic string) (*amqp.Channel, error) {
	if r.ch == nil || r.ch.IsClosed() {
		if err := r.connect(); err != nil {
			return nil, err
		}
	}
	if !r.declared[topic] {
		if err := r.ch.ExchangeDeclare(topic, r.md.ExchangeKind, r.md.Durable, r.md.DeleteWhenUnused, false, false, nil); err != nil {
			return nil, err
		}
		r.declared[topic] = true
	}
	return r.ch, nil
}

// connect opens the publishing connection and its channel, in confirm
// mode.
func (r *rabbitMQ) connect() error {
	r.reset()
	conn, err := amqp.Dial(r.md.ConnectionString)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		conn.Close()
		return err
	}
	r.conn, r.ch, r.declared = conn, ch, map[string]bool{}
	return nil
}

func (r *rabbitMQ) reset() {
	if r.conn != nil {
		if err := r.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
			r.log.Warnf("rabbitmq: closing the publishing connection: %v", err)
		}
	}
	r.conn, r.ch = nil, nil
}

// Close ends every subscription, waiting for their handlers, and closes
// the publishing connection.
func (r *rabbitMQ) Close() error {
	r.closeOnce.Do(func() { close(r.closing) })
	r.subscriptions.Wait()
	r.mu.Lock()
	r.reset()
	r.mu.Unlock()
	return nil
}

// Subscribe consumes req.Topic from the queue <consumerID>-<topic> (or the
// subscription's queueName), bound to the topic's exchange, until ctx ends
// or the component closes. It returns once the first consumer runs; a
// subscription that cannot start yet keeps trying in the background and
// says so in the log, rather than staying unsubscribed.
func (r *rabbitMQ) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, handler pubsub.Handler) error {
	queue := req.Metadata["queueName"]
	if queue == "" {
		queue = r.md.ConsumerID + "-" + req.Topic
	}
	for name := range req.Metadata {
		if name != "queueName" && name != "routingKey" && !strings.HasPrefix(name, "rawPayload") {
			return fmt.Errorf("rabbitmq: this build does not support the subscription setting %q", name)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	first := make(chan error, 1)
	r.subscriptions.Add(1)
	go func() {
		defer r.subscriptions.Done()
		defer cancel()
		select {
		case <-ctx.Done():
		case <-r.closing:
		}
	}()
	r.subscriptions.Add(1)
	go func() {
		defer r.subscriptions.Done()
		r.consumeForever(ctx, req, queue, handler, first)
	}()
	select {
	case err := <-first:
		if err != nil {
			r.log.Errorf("rabbitmq: subscribing to %s through queue %s failed, retrying: %v", req.Topic, queue, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// consumeForever runs consume again, after a pause that grows while it
// keeps failing, whenever its connection ends, until ctx ends. first gets
// the outcome of the first attempt.
func (r *rabbitMQ) consumeForever(ctx context.Context, req pubsub.SubscribeRequest, queue string, handler pubsub.Handler, first chan<- error) {
	const minPause, maxPause = 250 * time.Millisecond, 5 * time.Second
	pause := minPause
	for ctx.Err() == nil {
		consumed, err := r.consume(ctx, req, queue, handler, first)
		first = nil
		if ctx.Err() != nil {
			return
		}
		if consumed {
			pause = minPause
		}
		r.log.Warnf("rabbitmq: consumer of %s ended, subscribing again in %s: %v", queue, pause, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

// consume opens a connection of its own, declares the topic's exchange and
// the queue as upstream's component does (so queues it created keep
// working), and hands each delivery to handler in its own goroutine (at
// most prefetchCount at once): acknowledged when handled, returned to the
// queue when not. It returns when ctx ends or the connection does (the
// handlers still running settle what they can; Close waits for them);
// whether it consumed at all.
func (r *rabbitMQ) consume(ctx context.Context, req pubsub.SubscribeRequest, queue string, handler pubsub.Handler, first chan<- error) (bool, error) {
	started := func(err error) {
		if first != nil {
			first <- err
		}
	}
	// Named after its queue, so an operator can tell the connections of
	// a sidecar apart (rabbitmqctl list_connections client_properties).
	conn, err := amqp.DialConfig(r.md.ConnectionString, amqp.Config{
		Properties: amqp.Table{"connection_name": "dapr " + queue},
	})
	if err != nil {
		started(err)
		return false, err
	}
	// Closing the connection returns every unacknowledged delivery to
	// the queue, among them those whose handler ctx cancelled.
	defer conn.Close()
	ch, err := conn.Channel()
	if err == nil {
		err = ch.ExchangeDeclare(req.Topic, r.md.ExchangeKind, r.md.Durable, r.md.DeleteWhenUnused, false, false, nil)
	}
	if err == nil {
		_, err = ch.QueueDeclare(queue, r.md.Durable, r.md.DeleteWhenUnused, false, false,
			amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic})
	}
	for _, key := range strings.Split(req.Metadata["routingKey"], ",") {
		if err == nil {
			err = ch.QueueBind(queue, key, req.Topic, false, nil)
		}
	}
	if err == nil && r.md.PrefetchCount > 0 {
		err = ch.Qos(int(r.md.PrefetchCount), 0, false)
	}
	var deliveries <-chan amqp.Delivery
	if err == nil {
		deliveries, err = ch.Consume(queue, "", false, false, false, false, nil)
	}
	started(err)
	if err != nil {
		return false, err
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case err := <-closed:
			return true, err
		case d, ok := <-deliveries:
			if !ok {
				return true, errors.New("the broker ended the consumer")
			}
			r.subscriptions.Add(1)
			go func() {
				defer r.subscriptions.Done()
				r.handle(ctx, req.Topic, d, handler)
			}()
		}
	}
}

// handle hands d to handler and settles it with the broker; a delivery
// that cannot be settled (its channel closed) comes again.
func (r *rabbitMQ) handle(ctx context.Context, topic string, d amqp.Delivery, handler pubsub.Handler) {
	if err := handler(ctx, &pubsub.NewMessage{Data: d.Body, Topic: topic}); err != nil {
		if nackErr := d.Nack(false, r.md.RequeueInFailure); nackErr != nil {
			r.log.Warnf("rabbitmq: returning a message of %s: %v", topic, nackErr)
		}
		return
	}
	if err := d.Ack(false); err != nil {
		r.log.Warnf("rabbitmq: acknowledging a message of %s (it comes again): %v", topic, err)
	}
}
