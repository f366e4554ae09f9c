package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// TestRedisRestart holds the README's durability table to its word for
// Redis: killed with SIGKILL and started again, it still has the carts and
// every event of the Redis Streams broker, and the system goes on paying
// orders through it.
func TestRedisRestart(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })
	appendOnly, err := rdb.ConfigGet(ctx(t), "appendonly").Result()
	require.NoError(t, err)
	require.Equal(t, "yes", appendOnly["appendonly"], "tools/dev/infra.sh turns on Redis persistence")

	productID := s.newProduct(t, 990, 5)
	// An earlier order, charged once payments read its order.created: the
	// stream exists, with its subscribers' groups, and no event is on its way.
	earlier, pending := s.placeOrder(t, productID, 1)
	s.payment(t, earlier, pending.ID, "pending")
	customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
	s.saveCard(t, customer, "pm_card_visa")
	require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 2).Status)
	streamsBroker := os.Getenv("PUBSUB") == "" || os.Getenv("PUBSUB") == "redis"
	var before *redis.XInfoStream
	if streamsBroker {
		before, err = rdb.XInfoStream(ctx(t), contracts.TopicOrderCreated).Result()
		require.NoError(t, err)
	}

	killRedis(t, rdb)
	restart := exec.Command("bash", filepath.Join(sys.root, "tools", "dev", "infra.sh"))
	out, err := restart.CombinedOutput()
	require.NoError(t, err, "start Redis again: %s", out)

	if streamsBroker {
		after, err := rdb.XInfoStream(ctx(t), contracts.TopicOrderCreated).Result()
		require.NoError(t, err, "the order.created stream survives")
		assert.Equal(t, before.LastGeneratedID, after.LastGeneratedID, "no event of the stream is lost")
		assert.Equal(t, before.Length, after.Length)
		assert.Equal(t, before.Groups, after.Groups, "every subscriber's consumer group survives")
	}

	var cart struct {
		Items []struct {
			ProductID string `json:"product_id"`
			Quantity  int    `json:"quantity"`
		} `json:"items"`
	}
	require.Eventually(t, func() bool {
		resp := s.send(t, http.MethodGet, "/api/v1/cart", customer, "")
		if resp.Status != http.StatusOK {
			return false // the cart store reconnects
		}
		resp.JSON(t, &cart)
		return true
	}, 30*time.Second, 100*time.Millisecond, "the cart answers again")
	require.Len(t, cart.Items, 1, "the cart survives")
	assert.Equal(t, productID, cart.Items[0].ProductID)
	assert.Equal(t, 2, cart.Items[0].Quantity)

	resp := s.checkout(t, customer, uuid.NewString(), shipTo)
	require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
	var o orderJSON
	resp.JSON(t, &o)
	s.waitStatus(t, customer, o.ID, "paid")
	s.waitInventory(t, productID, inventory{OnHand: 3, Reserved: 1, Available: 2})
}

// killRedis kills the Redis server with SIGKILL, as a crash would, and
// waits until it no longer answers.
func killRedis(t *testing.T, rdb *redis.Client) {
	t.Helper()
	info, err := rdb.Info(ctx(t), "server").Result()
	require.NoError(t, err)
	var pid int
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, err = strconv.Atoi(v)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, pid, "Redis names its process")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL), "kill Redis (the suite runs as the user that started it)")
	require.Eventually(t, func() bool {
		ping, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return rdb.Ping(ping).Err() != nil
	}, 10*time.Second, 50*time.Millisecond, "Redis is down")
}
