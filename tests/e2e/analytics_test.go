package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// daySales is one day of GET /api/v1/admin/analytics/sales, and of the
// same figures computed from the orders and payments databases.
type daySales struct {
	Date         string `json:"date"`
	Orders       int    `json:"orders"`
	RevenueCents int64  `json:"revenue_cents"`
	RefundsCents int64  `json:"refunds_cents"`
	ItemsSold    int    `json:"items_sold"`
}

// salesTruth computes the sales per UTC day from the databases the events
// come from, as the analytics define them: an order counts, with its total
// and items, on the day it was paid, whatever happened to it later; a
// refund counts on the day it succeeded. With orderIDs, only those orders
// and their refunds count.
func salesTruth(t *testing.T, ordersDB, paymentsDB *pgx.Conn, orderIDs []string) []daySales {
	t.Helper()
	days := map[string]*daySales{}
	day := func(d time.Time) *daySales {
		key := d.Format(time.DateOnly)
		if days[key] == nil {
			days[key] = &daySales{Date: key}
		}
		return days[key]
	}
	rows, err := ordersDB.Query(ctx(t), `SELECT (h.at AT TIME ZONE 'UTC')::date, count(*)::int,
			sum(o.total_cents)::bigint, coalesce(sum(i.items), 0)::int
		FROM order_status_history h
		JOIN orders o ON o.id = h.order_id
		LEFT JOIN LATERAL (SELECT sum(quantity) AS items FROM order_items WHERE order_id = o.id) i ON true
		WHERE h.status = 'paid' AND ($1::uuid[] IS NULL OR o.id = ANY($1::uuid[]))
		GROUP BY 1`, orderIDs)
	require.NoError(t, err)
	var (
		d      time.Time
		paid   daySales
		refund int64
	)
	_, err = pgx.ForEachRow(rows, []any{&d, &paid.Orders, &paid.RevenueCents, &paid.ItemsSold}, func() error {
		s := day(d)
		s.Orders, s.RevenueCents, s.ItemsSold = paid.Orders, paid.RevenueCents, paid.ItemsSold
		return nil
	})
	require.NoError(t, err)
	rows, err = paymentsDB.Query(ctx(t), `SELECT (r.updated_at AT TIME ZONE 'UTC')::date, sum(r.amount_cents)::bigint
		FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE r.status = 'succeeded' AND ($1::uuid[] IS NULL OR p.order_id = ANY($1::uuid[]))
		GROUP BY 1`, orderIDs)
	require.NoError(t, err)
	_, err = pgx.ForEachRow(rows, []any{&d, &refund}, func() error {
		day(d).RefundsCents = refund
		return nil
	})
	require.NoError(t, err)
	out := make([]daySales, 0, len(days))
	for _, s := range days {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out
}

// salesReport asks the workers, through the gateway, for the days of want
// and one day either side, so that a day the databases lack shows too.
func salesReport(t *testing.T, want []daySales) []daySales {
	t.Helper()
	require.NotEmpty(t, want, "the databases hold sales")
	from, err := time.Parse(time.DateOnly, want[0].Date)
	require.NoError(t, err)
	to, err := time.Parse(time.DateOnly, want[len(want)-1].Date)
	require.NoError(t, err)
	// A token per call: the waits here can outlast one token's lifetime.
	admin := token(t, uuid.New(), authn.RoleAdmin)
	resp := call(t, http.MethodGet, fmt.Sprintf("%s/api/v1/admin/analytics/sales?from=%s&to=%s", gatewayURL,
		from.AddDate(0, 0, -1).Format(time.DateOnly), to.AddDate(0, 0, 1).Format(time.DateOnly)), nil,
		"Authorization", "Bearer "+admin)
	require.Equal(t, http.StatusOK, resp.Status, "sales: %s", resp.Body)
	var got []daySales
	resp.JSON(t, &got)
	return got
}

func total(days []daySales) daySales {
	var sum daySales
	for _, d := range days {
		sum.Orders += d.Orders
		sum.RevenueCents += d.RevenueCents
		sum.RefundsCents += d.RefundsCents
		sum.ItemsSold += d.ItemsSold
	}
	return sum
}

// TestSalesAnalyticsReplay proves the sales report equals what the orders
// and payments databases say was sold and refunded: once the events have
// flowed, after every event has been delivered to the workers a second
// time, and after the aggregates have been deleted and rebuilt from every
// event, as an operator does after fixing a bug.
//
// The report counts every order.paid and payment.refunded event, hand-made
// ones too, which the databases never see: this file's name runs the test
// before those that publish such events (checkout's, notifications').
func TestSalesAnalyticsReplay(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	ordersDB, paymentsDB, analyticsDB := connect(t, "orders"), connect(t, "payments"), connect(t, "analytics")
	widget, gadget := s.newProduct(t, 1250, 50), s.newProduct(t, 3999, 50)

	// buy checks out a fresh customer's cart of quantities per product,
	// paying with card when one is given.
	buy := func(t *testing.T, card string, quantities map[string]int) (string, orderJSON) {
		t.Helper()
		auth := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		if card != "" {
			s.saveCard(t, auth, card)
		}
		for product, qty := range quantities {
			require.Equal(t, http.StatusOK, s.addToCart(t, auth, product, qty).Status)
		}
		resp := s.checkout(t, auth, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		return auth, o
	}

	ada, kept := buy(t, "pm_card_visa", map[string]int{widget: 2, gadget: 1})
	bob, partly := buy(t, "pm_card_visa", map[string]int{widget: 3, gadget: 2})
	cyd, cancelled := buy(t, "pm_card_visa", map[string]int{widget: 4, gadget: 1})
	dee, declined := buy(t, "pm_card_chargeDeclined", map[string]int{widget: 1})
	eve, unpaid := buy(t, "", map[string]int{gadget: 1})
	s.waitStatus(t, ada, kept.ID, "paid")
	s.waitStatus(t, bob, partly.ID, "paid")
	s.waitStatus(t, cyd, cancelled.ID, "paid")
	s.waitStatus(t, dee, declined.ID, "cancelled")
	s.payment(t, eve, unpaid.ID, "pending")
	s.cancel(t, eve, unpaid.ID)
	s.waitStatus(t, eve, unpaid.ID, "cancelled")

	const partial = 1000
	p := s.payment(t, bob, partly.ID, "succeeded")
	resp := s.refund(t, p.ID, uuid.NewString(), partial)
	require.Equal(t, http.StatusCreated, resp.Status, "partial refund: %s", resp.Body)
	s.cancel(t, cyd, cancelled.ID)
	s.waitStatus(t, cyd, cancelled.ID, "refunded")

	// The truth counts this test's business as the analytics should: the
	// paid orders whatever came after, their refunds, nothing unpaid.
	mine := total(salesTruth(t, ordersDB, paymentsDB, []string{kept.ID, partly.ID, cancelled.ID, declined.ID, unpaid.ID}))
	require.Equal(t, daySales{
		Orders:       3,
		RevenueCents: kept.TotalCents + partly.TotalCents + cancelled.TotalCents,
		RefundsCents: partial + cancelled.TotalCents,
		ItemsSold:    3 + 5 + 5,
	}, mine, "this test's sales in the databases")

	var want []daySales
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		want = salesTruth(t, ordersDB, paymentsDB, nil)
		assert.Equal(c, want, salesReport(t, want))
	}, 60*time.Second, 250*time.Millisecond, "the report catches up with the databases")
	t.Logf("sales: %+v", want)

	if broker := os.Getenv("PUBSUB"); broker != "" && broker != "redis" {
		// Replaying means moving a Redis Streams consumer group back; the
		// other brokers keep no such history here.
		t.Logf("on %s the report was checked as the events flowed, without a replay", broker)
		return
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })
	// sell is new business on both topics: the workers' sidecar blocks on
	// XREADGROUP until the next event arrives, so a moved group is read
	// then, as in a shop that keeps selling while an operator replays.
	sell := func(t *testing.T) daySales {
		t.Helper()
		auth, o := buy(t, "pm_card_visa", map[string]int{widget: 1})
		s.waitStatus(t, auth, o.ID, "paid")
		p := s.payment(t, auth, o.ID, "succeeded")
		resp := s.refund(t, p.ID, uuid.NewString(), 100)
		require.Equal(t, http.StatusCreated, resp.Status, "refund: %s", resp.Body)
		return daySales{Orders: 1, RevenueCents: o.TotalCents, RefundsCents: 100, ItemsSold: 1}
	}
	// replay redelivers every event of the run to the workers, with new
	// business, and returns what the databases say then.
	replay := func(t *testing.T) []daySales {
		t.Helper()
		before, was := eventDeliveries(t), total(want)
		var newSale daySales
		replayed := replayToWorkers(t, rdb, runEvents(t, ordersDB, paymentsDB), func(t *testing.T) { newSale = sell(t) })
		assert.GreaterOrEqual(t, eventDeliveries(t)-before, replayed, "the workers were handed every replayed event")
		now := salesTruth(t, ordersDB, paymentsDB, nil)
		added := total(now)
		added.Orders, added.RevenueCents, added.RefundsCents, added.ItemsSold =
			added.Orders-was.Orders, added.RevenueCents-was.RevenueCents, added.RefundsCents-was.RefundsCents, added.ItemsSold-was.ItemsSold
		require.Equal(t, newSale, added, "the databases moved by the new sale only")
		return now
	}

	t.Run("a replay of every event changes nothing", func(t *testing.T) {
		want = replay(t)
		assert.Equal(t, want, salesReport(t, want))
	})

	t.Run("aggregates rebuilt from every event equal the databases", func(t *testing.T) {
		require.NoError(t, pgx.BeginFunc(ctx(t), analyticsDB, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx(t), `DELETE FROM daily_sales`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx(t), `DELETE FROM processed_events WHERE consumer = 'analytics'`)
			return err
		}))
		require.Empty(t, salesReport(t, want), "the aggregates are gone")
		want = replay(t)
		assert.Equal(t, want, salesReport(t, want))
	})
}

// runEvents returns the CloudEvent ids of every event orders and payments
// published in this run, by topic (from their outboxes).
func runEvents(t *testing.T, dbs ...*pgx.Conn) map[string]map[string]bool {
	t.Helper()
	ids := map[string]map[string]bool{}
	for _, db := range dbs {
		rows, err := db.Query(ctx(t), `SELECT topic, event_id::text FROM outbox WHERE published_at IS NOT NULL`)
		require.NoError(t, err)
		var topic, id string
		_, err = pgx.ForEachRow(rows, []any{&topic, &id}, func() error {
			if ids[topic] == nil {
				ids[topic] = map[string]bool{}
			}
			ids[topic][id] = true
			return nil
		})
		require.NoError(t, err)
	}
	return ids
}

// workersGroup is the workers' consumer group on every stream: Dapr's
// Redis Streams component names it after the consumer id, the app id.
const workersGroup = "workers"

// replayToWorkers moves the workers' consumer group back to before this
// run's first event on every topic they subscribe to, so that Redis
// Streams delivers each of the run's events to them again, runs wake,
// which must publish an event on each of those topics, then waits until
// the workers have consumed and acknowledged everything. Earlier runs'
// events (the streams outlive the databases) stay behind the group. It
// returns how many events were replayed.
func replayToWorkers(t *testing.T, rdb *redis.Client, events map[string]map[string]bool, wake func(t *testing.T)) int {
	t.Helper()
	topics := workersTopics(t)
	require.NotEmpty(t, topics, "the workers subscribe to topics")
	replayed := 0
	for _, topic := range topics {
		groups, err := rdb.XInfoGroups(ctx(t), topic).Result()
		require.NoError(t, err, "stream %s", topic)
		require.True(t, hasGroup(groups, workersGroup), "stream %s has the %s consumer group: %+v", topic, workersGroup, groups)

		// The run's events are the tail of the stream: walk back to the
		// first entry that is not one of them.
		start, seen, end := "0", map[string]bool{}, "+"
	walk:
		for {
			entries, err := rdb.XRevRangeN(ctx(t), topic, end, "-", 100).Result()
			require.NoError(t, err)
			for _, e := range entries {
				data, _ := e.Values["data"].(string)
				var ce struct{ ID string }
				if json.Unmarshal([]byte(data), &ce) != nil || !events[topic][ce.ID] {
					start = e.ID
					break walk
				}
				seen[ce.ID] = true
				replayed++
			}
			if len(entries) < 100 {
				break
			}
			end = "(" + entries[len(entries)-1].ID
		}
		require.NotEmpty(t, seen, "%s has events of the run", topic)
		require.Len(t, seen, len(events[topic]), "every %s event of the run is at the end of its stream", topic)
		require.NoError(t, rdb.XGroupSetID(ctx(t), topic, workersGroup, start).Err())
		t.Logf("%s: %d events replayed to %s", topic, len(seen), workersGroup)
	}

	wake(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, topic := range topics {
			stream, err := rdb.XInfoStream(ctx(t), topic).Result()
			require.NoError(t, err)
			groups, err := rdb.XInfoGroups(ctx(t), topic).Result()
			require.NoError(t, err)
			for _, g := range groups {
				if g.Name == workersGroup {
					assert.Equal(c, stream.LastGeneratedID, g.LastDeliveredID, "%s: %s read up to the last event", topic, g.Name)
					assert.Zero(c, g.Pending, "%s: %s acknowledged everything", topic, g.Name)
				}
			}
		}
	}, 2*time.Minute, 100*time.Millisecond, "the workers consumed and acknowledged the replay")
	return replayed
}

func hasGroup(groups []redis.XInfoGroup, name string) bool {
	for _, g := range groups {
		if g.Name == name {
			return true
		}
	}
	return false
}

// workersTopics asks the workers which topics of business events they
// subscribe to, the way their sidecar does at start (the sidecar's
// metadata API is closed to everyone: the workers' Configuration does not
// allow it). Their dead-letter topic carries no event of an outbox.
func workersTopics(t *testing.T) []string {
	t.Helper()
	resp := call(t, http.MethodGet, "http://127.0.0.1:3006/dapr/subscribe", nil, "dapr-api-token", sys.env["APP_API_TOKEN"])
	require.Equal(t, http.StatusOK, resp.Status, "subscriptions: %s", resp.Body)
	var subs []struct {
		PubsubName string `json:"pubsubname"`
		Topic      string `json:"topic"`
	}
	resp.JSON(t, &subs)
	var topics []string
	for _, s := range subs {
		if s.PubsubName == "pubsub" && s.Topic != contracts.DeadLetterTopic(contracts.AppWorkers) {
			topics = append(topics, s.Topic)
		}
	}
	return topics
}

// eventDeliveries counts the events the workers' sidecar has handed to the
// app, whatever the answer, from the workers' /metrics.
func eventDeliveries(t *testing.T) int {
	t.Helper()
	resp := call(t, http.MethodGet, "http://127.0.0.1:3006/metrics", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(resp.Body)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `http_request_duration_seconds_count{method="POST",route="/events/`) {
			var v float64
			_, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			require.NoError(t, err)
			n += int(v)
		}
	}
	return n
}
