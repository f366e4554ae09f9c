package main

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/kit/logger"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startRedis starts a Redis server of the test's own (make infra installs
// it), whose blocked clients are the test's alone, and returns its address.
func startRedis(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	server := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	require.NoError(t, server.Start())
	t.Cleanup(func() {
		_ = server.Process.Kill()
		_ = server.Wait()
	})
	addr := "127.0.0.1:" + port
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, 10*time.Second, 10*time.Millisecond, "Redis starts")
	return addr
}

// initRedis initialises a Redis Streams component made by newPubSub on a
// Redis of its own, with components/pubsub/redis's processingTimeout: a
// message left pending comes back minutes later.
func initRedis(t *testing.T, newPubSub func(logger.Logger) pubsub.PubSub) (ps pubsub.PubSub, addr string) {
	t.Helper()
	addr = startRedis(t)
	ps = newPubSub(logger.NewLogger("test"))
	require.NoError(t, ps.Init(context.Background(), pubsub.Metadata{Base: metadata.Base{Properties: map[string]string{
		"redisHost": addr, "consumerID": "payments", "processingTimeout": "2m", "redeliverInterval": "10000",
	}}}))
	t.Cleanup(func() { _ = ps.Close() })
	return ps, addr
}

// received records what a subscription's handler was handed.
type received struct {
	mu   sync.Mutex
	data []string
}

func (r *received) handler(_ context.Context, msg *pubsub.NewMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data = append(r.data, string(msg.Data))
	return nil
}

func (r *received) has(data string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.data, data)
}

// subscribeAndStop subscribes to a topic, waits until the component's
// reader is blocked on it, waiting for a message, and stops the
// subscription as daprd does when its app turns unhealthy (the context is
// cancelled). It returns what the stopped subscription received.
func subscribeAndStop(t *testing.T, ps pubsub.PubSub, addr, topic string) *received {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	var stopped received
	ctx, stop := context.WithCancel(context.Background())
	require.NoError(t, ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, stopped.handler))
	require.Eventually(t, func() bool {
		info, err := rdb.Info(context.Background(), "clients").Result()
		return err == nil && strings.Contains(info, "blocked_clients:1\r\n")
	}, 10*time.Second, 10*time.Millisecond, "the subscription reads %s", topic)
	stop()
	return &stopped
}

func publish(t *testing.T, ps pubsub.PubSub, topic, data string) {
	t.Helper()
	require.NoError(t, ps.Publish(context.Background(), &pubsub.PublishRequest{Topic: topic, PubsubName: "pubsub", Data: []byte(data)}))
}

// messageAfterResubscribe: the app turned unhealthy and healthy again,
// daprd stopped its subscription and subscribed again; the next message
// goes to the new subscription at once, not processingTimeout later.
func messageAfterResubscribe(t *testing.T, ps pubsub.PubSub, addr string) {
	const topic = "order.created"
	stopped := subscribeAndStop(t, ps, addr, topic)
	var current received
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	require.NoError(t, ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, current.handler))

	publish(t, ps, topic, "after")
	assert.Eventually(t, func() bool { return current.has("after") }, 10*time.Second, 10*time.Millisecond,
		"the subscription started again gets the next message")
	assert.False(t, stopped.has("after"), "the stopped subscription gets nothing")
}

// messageWhileUnsubscribed: a message published while the app is down,
// its subscription stopped, goes to the next subscription as it starts.
func messageWhileUnsubscribed(t *testing.T, ps pubsub.PubSub, addr string) {
	const topic = "order.created"
	stopped := subscribeAndStop(t, ps, addr, topic)
	publish(t, ps, topic, "meanwhile")
	var current received
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	require.NoError(t, ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, current.handler))
	assert.Eventually(t, func() bool { return current.has("meanwhile") }, 10*time.Second, 10*time.Millisecond,
		"the subscription started again gets the message")
	assert.False(t, stopped.has("meanwhile"), "the stopped subscription gets nothing")
}

func TestRedisMessageAfterResubscribe(t *testing.T) {
	ps, addr := initRedis(t, newRedisStreams)
	messageAfterResubscribe(t, ps, addr)
}

func TestRedisMessageWhileUnsubscribed(t *testing.T) {
	ps, addr := initRedis(t, newRedisStreams)
	messageWhileUnsubscribed(t, ps, addr)
}
