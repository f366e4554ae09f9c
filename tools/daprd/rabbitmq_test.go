package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
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
		"upstream reports the refused message published; when it no longer does, rabbitMQ need not check confirmations")

	ours := newRabbitMQ(logger.NewLogger("test"))
	initPubSub(t, ours)
	assert.ErrorContains(t, ours.Publish(context.Background(), req), "did not confirm")
}

func TestRabbitMQPublishDeliversAfterTheChannelClosed(t *testing.T) {
	topic := "daprd-test-" + uuid.NewString()
	queue, ch := bindQueue(t, topic, nil)
	ps := newRabbitMQ(logger.NewLogger("test"))
	initPubSub(t, ps)
	publish := func(data string) error {
		return ps.Publish(context.Background(), &pubsub.PublishRequest{Topic: topic, PubsubName: "pubsub", Data: []byte(data)})
	}
	require.NoError(t, publish("one"))
	// As when the broker restarts: the publishing connection goes away.
	c := ps.(*rabbitMQ)
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

// deleteTopic deletes what a subscription to topic declared: durable, the
// broker keeps it.
func deleteTopic(t *testing.T, topic, queue string) {
	conn, err := amqp.Dial(rabbitURL)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDelete(queue, false, false, false)
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDelete(topic, false, false))
}

// closeConnections closes, as a broker restart would, the connections whose
// properties contain name, and returns how many.
func closeConnections(t *testing.T, name string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-q", "--no-table-headers", "list_connections", "pid", "client_properties").Output()
	require.NoError(t, err)
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		pid, properties, _ := strings.Cut(line, "\t")
		if strings.Contains(properties, name) {
			out, err := exec.Command("rabbitmqctl", "close_connection", pid, "test: as a broker restart").CombinedOutput()
			require.NoError(t, err, "%s", out)
			closed++
		}
	}
	return closed
}

func TestRabbitMQSubscriptionsEachKeepTheirTopicAfterTheirConnectionsDrop(t *testing.T) {
	consumer := "daprd-test-" + uuid.NewString()
	ps := newRabbitMQ(logger.NewLogger("test"))
	require.NoError(t, ps.Init(context.Background(), pubsub.Metadata{Base: metadata.Base{Properties: map[string]string{
		"connectionString": rabbitURL, "consumerID": consumer, "durable": "true", "deletedWhenUnused": "false",
		"deliveryMode": "2", "requeueInFailure": "true", "prefetchCount": "20",
	}}}))
	t.Cleanup(func() { _ = ps.Close() })

	// Many subscriptions on one sidecar, as notifications has: each must
	// be handed its own topic's messages, before and after a reconnect.
	topics := make([]string, 10)
	var mu sync.Mutex
	got := map[string][]string{} // topic subscribed -> payloads handled
	for i := range topics {
		topics[i] = fmt.Sprintf("%s-topic-%d", consumer, i)
		topic := topics[i]
		t.Cleanup(func() { deleteTopic(t, topic, consumer+"-"+topic) })
		require.NoError(t, ps.Subscribe(context.Background(), pubsub.SubscribeRequest{Topic: topic},
			func(_ context.Context, msg *pubsub.NewMessage) error {
				mu.Lock()
				defer mu.Unlock()
				got[topic] = append(got[topic], string(msg.Data))
				return nil
			}))
	}
	publishAll := func(round string) {
		for _, topic := range topics {
			require.NoError(t, ps.Publish(context.Background(), &pubsub.PublishRequest{
				Topic: topic, PubsubName: "pubsub", Data: []byte(topic + " " + round),
			}))
		}
	}
	delivered := func(rounds ...string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, topic := range topics {
				var want []string
				for _, r := range rounds {
					want = append(want, topic+" "+r)
				}
				if !assert.ObjectsAreEqual(want, got[topic]) {
					return false
				}
			}
			return true
		}
	}
	publishAll("before")
	require.Eventually(t, delivered("before"), 10*time.Second, 20*time.Millisecond)

	require.Equal(t, len(topics), closeConnections(t, consumer), "one connection per subscription")
	publishAll("after")
	require.Eventually(t, delivered("before", "after"), 30*time.Second, 20*time.Millisecond,
		"every topic's message reaches its own subscription, once")
}
