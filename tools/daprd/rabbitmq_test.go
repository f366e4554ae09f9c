package main

import (
	"context"
	"testing"
	"time"

	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/components-contrib/pubsub/rabbitmq"
	"github.com/dapr/kit/logger"
	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The local RabbitMQ that make infra starts.
const rabbitURL = "amqp://guest:guest@127.0.0.1:5672"

// bindQueue binds a new queue with args to topic's exchange, declared as
// the component declares it, and returns its name and the channel that
// owns it.
func bindQueue(t *testing.T, topic string, args amqp.Table) (string, *amqp.Channel) {
	t.Helper()
	conn, err := amqp.Dial(rabbitURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDeclare(topic, amqp.ExchangeFanout, true, false, false, false, nil))
	q, err := ch.QueueDeclare("", false, true, true, false, args)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(q.Name, "", topic, false, nil))
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(q.Name, false, false, false)
		_ = ch.ExchangeDelete(topic, false, false)
	})
	return q.Name, ch
}

func initPubSub(t *testing.T, ps pubsub.PubSub) {
	t.Helper()
	require.NoError(t, ps.Init(context.Background(), pubsub.Metadata{Base: metadata.Base{Properties: map[string]string{
		"connectionString": rabbitURL, "durable": "true", "deletedWhenUnused": "false",
		"deliveryMode": "2", "publisherConfirm": "true",
	}}}))
	t.Cleanup(func() { _ = ps.Close() })
}

func TestRabbitMQPublishFailsWhatTheBrokerRefused(t *testing.T) {
	// A queue that holds nothing and refuses what would overflow it: the
	// broker answers each publish routed to it with a negative
	// confirmation.
	topic := "daprd-test-" + uuid.NewString()
	_, _ = bindQueue(t, topic, amqp.Table{"x-max-length": 0, "x-overflow": "reject-publish"})
	req := &pubsub.PublishRequest{Topic: topic, PubsubName: "pubsub", Data: []byte(`{"id":"1"}`)}

	upstream := rabbitmq.NewRabbitMQ(logger.NewLogger("test"))
	initPubSub(t, upstream)
	assert.NoError(t, upstream.Publish(context.Background(), req),
		"upstream reports the refused message published; when it no longer does, confirmedRabbitMQ can go")

	confirmed := newConfirmedRabbitMQ(logger.NewLogger("test"))
	initPubSub(t, confirmed)
	assert.ErrorContains(t, confirmed.Publish(context.Background(), req), "did not confirm")
}

func TestRabbitMQPublishDeliversAfterTheChannelClosed(t *testing.T) {
	topic := "daprd-test-" + uuid.NewString()
	queue, ch := bindQueue(t, topic, nil)
	ps := newConfirmedRabbitMQ(logger.NewLogger("test"))
	initPubSub(t, ps)
	publish := func(data string) error {
		return ps.Publish(context.Background(), &pubsub.PublishRequest{Topic: topic, PubsubName: "pubsub", Data: []byte(data)})
	}
	require.NoError(t, publish("one"))
	// As when the broker restarts: the publishing connection goes away.
	c := ps.(*confirmedRabbitMQ)
	c.mu.Lock()
	require.NoError(t, c.conn.Close())
	c.mu.Unlock()
	require.NoError(t, publish("two"), "the next publish opens a new channel")

	var got []string
	require.Eventually(t, func() bool {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if ok {
			got = append(got, string(d.Body))
		}
		return len(got) == 2
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"one", "two"}, got)
	assert.Equal(t, amqp.Persistent, c.md.DeliveryMode)
}
