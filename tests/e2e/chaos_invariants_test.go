package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// violation is one broken invariant: what, about which ids, and when the
// order it concerns was placed (zero when it concerns no one order).
type violation struct {
	invariant string
	detail    string
	at        time.Time
}

// The invariants, by name.
const (
	invOrderStates   = "every order in a final, legal state"
	invPaidOnce      = "every paid order has one succeeded payment, one invoice, one receipt"
	invMailedTwice   = "a receipt mailed twice is stated and keeps its Message-ID"
	invMoney         = "money charged at Stripe = payments recorded - refunds"
	invChargedOrders = "no order paid without a succeeded charge"
	invStock         = "stock on hand + reserved + sold adds up per product"
	invInvoices      = "invoice numbers used once, without gaps"
	invEvents        = "no event lost"
	invAnalytics     = "analytics equal the databases"
)

// chaosProducers are the databases whose outboxes publish the events.
var chaosProducers = []string{"orders", "payments", "products", "auth"}

// chaosConsumers are the apps that subscribe to events and the database
// each keeps its processed events and dead letters in.
var chaosConsumers = map[string]string{
	"products": "products", "orders": "orders", "payments": "payments",
	"notifications": "notifications", "workers": "analytics",
}

// settleLimit bounds the wait for quiet; past it the invariants name what
// is still stuck. Dapr 1.14's JetStream component hands each subscription
// one message at a time (its parallel mode acknowledges before the app
// answers), so the checkouts queued behind a Stripe outage reach payments
// one by one, slower than the load placed them: the backlog drains
// minutes after the load, where the other brokers' subscribers take it in
// parallel.
func settleLimit() time.Duration {
	if os.Getenv("PUBSUB") == "jetstream" {
		return 8 * time.Minute
	}
	return 4 * time.Minute
}

// settle replays the dead letters of the chaos orders and customers
// through the admin API, as an operator would once the outages are over,
// and waits until the system is quiet: every chaos order final, every
// event of theirs out of its outbox and taken by each subscriber (or a
// dead letter), no mail queued, no webhook pending at Stripe, and nothing
// in the databases changing any more. It returns how many letters it
// replayed.
func (c *chaos) settle(t *testing.T) int {
	t.Helper()
	replayed := 0
	var last string
	limit := settleLimit()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for stable := 0; stable < 3; <-tick.C {
		if time.Now().After(deadline) {
			t.Logf("not quiet after %s: %s", limit, last)
			return replayed
		}
		n := c.replayDeadLetters(t)
		replayed += n
		state, busy := c.quietState(t)
		if n == 0 && !busy && state == last {
			stable++
		} else {
			stable = 0
		}
		last = state
	}
	return replayed
}

// quietState summarises what may still be moving, and whether work is
// known to be pending.
func (c *chaos) quietState(t *testing.T) (state string, busy bool) {
	t.Helper()
	var parts []string
	pending := func(format string, n int) {
		if n > 0 {
			busy = true
			parts = append(parts, fmt.Sprintf(format, n))
		}
	}
	count := func(db, query string, args ...any) int {
		var n int
		require.NoError(t, c.db(t, db).QueryRow(ctx(t), query, args...).Scan(&n), "%s: %s", db, query)
		return n
	}
	orders := c.orderIDs(t)
	for _, db := range chaosProducers {
		pending("%d events in the "+db+" outbox",
			count(db, `SELECT count(*) FROM outbox WHERE published_at IS NULL AND payload->>'order_id' = ANY($1)`, orders))
	}
	pending("%d deliveries queued", count("notifications", `SELECT count(*) FROM deliveries WHERE status = 'queued' AND user_id = ANY($1)`, c.userIDs()))
	pending("%d Stripe events with webhooks pending", c.pendingWebhooks(t))
	pending("%d orders awaiting their payment or refund", count("orders", `SELECT count(*) FROM orders o WHERE o.id = ANY($1)
		AND (o.status = 'pending_payment'
			OR (o.status = 'cancelled' AND EXISTS (SELECT 1 FROM order_status_history h WHERE h.order_id = o.id AND h.status = 'paid')))`, orders))
	pending("%d payments undecided", count("payments", `SELECT count(*) FROM payments WHERE order_id = ANY($1)
		AND status NOT IN ('succeeded', 'failed', 'cancelled')`, orders))
	pending("%d refunds pending", count("payments", `SELECT count(*) FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE p.order_id = ANY($1) AND r.status = 'pending'`, orders))
	pending("%d events not yet taken by a subscriber", len(c.lostEvents(t, c.events(t, orders), func(string) time.Time { return time.Time{} })))
	for app, db := range chaosConsumers {
		parts = append(parts, fmt.Sprintf("%s processed %d, dead letters %d", app,
			count(db, `SELECT count(*) FROM processed_events`),
			count(db, `SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL`)))
	}
	parts = append(parts, fmt.Sprintf("%d orders, %d states", len(orders),
		count("orders", `SELECT count(*) FROM order_status_history WHERE order_id = ANY($1)`, orders)))
	sort.Strings(parts)
	return strings.Join(parts, "; "), busy
}

// pendingWebhooks counts the Stripe emulator's recent events about the
// chaos customers' intents whose webhook has not been delivered yet.
func (c *chaos) pendingWebhooks(t *testing.T) int {
	t.Helper()
	mine := map[string]bool{}
	for _, cus := range c.stripeCustomers(t) {
		mine[cus] = true
	}
	var list struct {
		Data []struct {
			PendingWebhooks int `json:"pending_webhooks"`
			Data            struct {
				Object struct {
					Customer string `json:"customer"`
				} `json:"object"`
			} `json:"data"`
		} `json:"data"`
	}
	stripeGet(t, "/v1/events?limit=100", &list)
	n := 0
	for _, e := range list.Data {
		if mine[e.Data.Object.Customer] {
			n += e.PendingWebhooks
		}
	}
	return n
}

// userIDs are the chaos customers' ids, the probes' too.
func (c *chaos) userIDs() []uuid.UUID {
	var out []uuid.UUID
	for _, cu := range append(c.customers, c.probes...) {
		out = append(out, cu.id)
	}
	return out
}

// stripeCustomers are the chaos customers' Stripe customer ids.
func (c *chaos) stripeCustomers(t *testing.T) []string {
	t.Helper()
	rows, err := c.db(t, "payments").Query(ctx(t), `SELECT stripe_customer_id FROM customers WHERE user_id = ANY($1)`, c.userIDs())
	require.NoError(t, err)
	customers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, customers, len(c.userIDs()), "every chaos customer is a Stripe customer")
	return customers
}

func stripeGet(t *testing.T, path string, v any) {
	t.Helper()
	resp := call(t, http.MethodGet, "http://"+stripeAddr+path, nil, "Authorization", "Bearer "+sys.secrets["stripe-secret-key"])
	require.Equal(t, http.StatusOK, resp.Status, "stripe %s: %s", path, resp.Body)
	resp.JSON(t, v)
}

// replayPause is how long a letter whose replay failed waits before it is
// replayed again: longer than the stripe circuit breaker stays open.
const replayPause = 20 * time.Second

// replayDeadLetters replays, through the admin API, every unresolved dead
// letter about a chaos order or customer, in random order, and returns how
// many were replayed. Letters of other tests are left as they are. The
// replays run after their 202: all are started, then each is waited for.
func (c *chaos) replayDeadLetters(t *testing.T) int {
	t.Helper()
	orders := map[string]bool{}
	for _, id := range c.orderIDs(t) {
		orders[id] = true
	}
	users := map[string]bool{}
	for _, id := range c.userIDs() {
		users[id.String()] = true
	}
	type started struct {
		letter deadLetterJSON
		before *time.Time // its last replay before this one
	}
	var pending []started
	for app, db := range chaosConsumers {
		rows, err := c.db(t, db).Query(ctx(t), `SELECT id::text, event_id, topic, payload FROM dead_letters WHERE replayed_at IS NULL`)
		require.NoError(t, err)
		var l deadLetterJSON
		var payload []byte
		var mine []deadLetterJSON
		_, err = pgx.ForEachRow(rows, []any{&l.ID, &l.EventID, &l.Topic, &payload}, func() error {
			var e struct {
				Data struct {
					OrderID string `json:"order_id"`
					UserID  string `json:"user_id"`
				} `json:"data"`
			}
			if json.Unmarshal(payload, &e) == nil && (orders[e.Data.OrderID] || users[e.Data.UserID]) {
				l.Service = app
				mine = append(mine, l)
			}
			return nil
		})
		require.NoError(t, err)
		rand.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		for _, l := range mine {
			// A replay failing on an open circuit breaker waits for the
			// breaker's timeout before it is tried again.
			if time.Since(c.replayedAt[l.ID]) < replayPause {
				continue
			}
			c.replayedAt[l.ID] = time.Now()
			pending = append(pending, started{l, deadLetters{}.lastReplay(t, c.db(t, db), l)})
			deadLetters{}.startReplay(t, l.ID)
		}
	}
	replayed := 0
	for _, p := range pending {
		l := deadLetters{}.ran(t, c.db(t, chaosConsumers[p.letter.Service]), p.letter, p.before)
		switch {
		case l.Status == "replayed":
			replayed++
		case !c.unreplayable[l.ID]:
			c.unreplayable[l.ID] = true
			t.Logf("replaying %s's dead letter %s (%s) failed: %s", l.Service, l.EventID, l.Topic, l.LastError)
		}
	}
	return replayed
}

// chaosOrderIDs are the orders of the chaos products: the load's and the
// probes'.
func (c *chaos) orderIDs(t *testing.T) []string {
	t.Helper()
	rows, err := c.db(t, "orders").Query(ctx(t),
		`SELECT DISTINCT order_id::text FROM order_items WHERE product_id = ANY($1::uuid[]) ORDER BY 1`, c.products)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return ids
}

// dailySales reads the analytics' aggregates, by day.
func (c *chaos) dailySales(t *testing.T) map[string]daySales {
	t.Helper()
	rows, err := c.db(t, "analytics").Query(ctx(t),
		`SELECT day, orders, revenue_cents, refunds_cents, items_sold FROM daily_sales`)
	require.NoError(t, err)
	out := map[string]daySales{}
	var day time.Time
	var d daySales
	_, err = pgx.ForEachRow(rows, []any{&day, &d.Orders, &d.RevenueCents, &d.RefundsCents, &d.ItemsSold}, func() error {
		d.Date = day.Format(time.DateOnly)
		out[d.Date] = d
		return nil
	})
	require.NoError(t, err)
	return out
}

// db is a connection to a database of the run, opened again when the
// one kept no longer answers (PostgreSQL was restarted).
func (c *chaos) db(t *testing.T, name string) *pgx.Conn {
	t.Helper()
	if conn, ok := c.conns[name]; ok {
		if conn.Ping(ctx(t)) == nil {
			return conn
		}
		conn.Close(context.Background())
	}
	conn, err := pgx.Connect(ctx(t), databaseURL(name))
	require.NoError(t, err)
	if c.conns == nil {
		c.conns = map[string]*pgx.Conn{}
		t.Cleanup(func() {
			for _, conn := range c.conns {
				conn.Close(context.Background())
			}
		})
	}
	c.conns[name] = conn
	return conn
}

// chaosOrder is an order of the run as the orders database has it.
type chaosOrder struct {
	ID, UserID, Status string
	TotalCents         int64
	CreatedAt          time.Time
	History            []string
}

// outboxEvent is an event a service published (or is to publish).
type outboxEvent struct {
	ID, Topic, OrderID, UserID string
	Refund                     bool
}

// chaosPayment is a payment of a chaos order.
type chaosPayment struct {
	ID, OrderID, Status, IntentID string
	AmountCents, RefundedCents    int64
}

// legalPaths are the histories an order may end with once the system is
// quiet: paid, declined (cancelled), or paid, cancelled and refunded.
var legalPaths = [][]string{
	{"pending_payment", "paid"},
	{"pending_payment", "cancelled"},
	{"pending_payment", "paid", "cancelled", "refunded"},
}

// chaosInvariants checks the invariants over the chaos orders, from the
// databases and the emulators only, and returns what is broken.
func chaosInvariants(t *testing.T, c *chaos) []violation {
	t.Helper()
	var out []violation
	add := func(inv string, at time.Time, format string, args ...any) {
		out = append(out, violation{invariant: inv, detail: fmt.Sprintf(format, args...), at: at})
	}
	ordersDB, paymentsDB, productsDB := c.db(t, "orders"), c.db(t, "payments"), c.db(t, "products")
	ids := c.orderIDs(t)
	require.NotEmpty(t, ids, "the load placed orders")

	rows, err := ordersDB.Query(ctx(t), `SELECT o.id::text, o.user_id::text, o.status, o.total_cents, o.created_at,
			array_agg(h.status ORDER BY h.at, array_position(ARRAY['pending_payment','paid','shipped','delivered','cancelled','refunded'], h.status))
		FROM orders o JOIN order_status_history h ON h.order_id = o.id
		WHERE o.id = ANY($1::uuid[]) GROUP BY o.id`, ids)
	require.NoError(t, err)
	orderList, err := pgx.CollectRows(rows, pgx.RowToStructByPos[chaosOrder])
	require.NoError(t, err)
	orders := map[string]chaosOrder{}
	for _, o := range orderList {
		orders[o.ID] = o
	}
	wasPaid := func(o chaosOrder) bool { return slices.Contains(o.History, "paid") }
	placed := func(orderID string) time.Time { return orders[orderID].CreatedAt }

	// Every order in a final, legal state.
	for _, o := range orderList {
		legal := false
		for _, p := range legalPaths {
			legal = legal || (slices.Equal(o.History, p) && o.Status == p[len(p)-1])
		}
		if !legal {
			add(invOrderStates, o.CreatedAt, "order %s is %s after %v", o.ID, o.Status, o.History)
		}
	}

	// Payments, invoices, receipts.
	rows, err = paymentsDB.Query(ctx(t), `SELECT id::text, order_id::text, status, payment_intent_id, amount_cents, refunded_cents
		FROM payments WHERE order_id = ANY($1::uuid[])`, ids)
	require.NoError(t, err)
	payments, err := pgx.CollectRows(rows, pgx.RowToStructByPos[chaosPayment])
	require.NoError(t, err)
	paymentsOf := map[string][]chaosPayment{}
	for _, p := range payments {
		paymentsOf[p.OrderID] = append(paymentsOf[p.OrderID], p)
	}
	invoicesOf := countBy(t, paymentsDB, `SELECT order_id::text FROM invoices WHERE order_id = ANY($1::uuid[])`, ids)
	events := c.events(t, ids)
	paidEvent := map[string][]string{} // order → its order.paid events
	for _, e := range events {
		if e.Topic == "order.paid" {
			paidEvent[e.OrderID] = append(paidEvent[e.OrderID], e.ID)
		}
	}
	var paidEventIDs []string
	for _, es := range paidEvent {
		paidEventIDs = append(paidEventIDs, es...)
	}
	sentReceipts, uncertainSends := map[string]int{}, map[string]int{}
	rows, err = c.db(t, "notifications").Query(ctx(t), `SELECT event_id, uncertain_sends FROM deliveries
		WHERE template = 'order_paid' AND channel = 'email' AND status = 'sent' AND event_id = ANY($1)`, paidEventIDs)
	require.NoError(t, err)
	var eventID string
	var uncertain int
	_, err = pgx.ForEachRow(rows, []any{&eventID, &uncertain}, func() error {
		sentReceipts[eventID]++
		uncertainSends[eventID] += uncertain
		return nil
	})
	require.NoError(t, err)
	mails := receiptMails(t)
	// A receipt is sent once (its delivery), but its mail may reach the
	// SMTP server twice when the server, the sidecar or notifications dies
	// between the server keeping the mail and notifications recording it
	// sent: SMTP has no idempotency. Each such send must be stated on the
	// delivery (uncertain_sends), and every copy carries the delivery's
	// Message-ID, so mail clients show one.
	var twice []string
	defer func() {
		if len(twice) > 0 {
			t.Logf("%d receipts were mailed more than once (sent once, stated): %v", len(twice), twice)
		}
	}()
	for _, o := range orderList {
		ps := paymentsOf[o.ID]
		succeeded := 0
		for _, p := range ps {
			if p.Status == "succeeded" {
				succeeded++
			}
		}
		receipts, stated := 0, 0
		for _, e := range paidEvent[o.ID] {
			receipts += sentReceipts[e]
			stated += uncertainSends[e]
		}
		mailed := len(mails[o.ID])
		if mailed > 1 {
			twice = append(twice, o.ID)
			if ids := slices.Compact(slices.Sorted(slices.Values(mails[o.ID]))); len(ids) != 1 || ids[0] == "" || mailed-1 > stated {
				add(invMailedTwice, o.CreatedAt, "order %s's receipt was mailed %d times with Message-IDs %q; its delivery states %d uncertain sends",
					o.ID, mailed, ids, stated)
			}
		}
		if wasPaid(o) {
			if len(ps) != 1 || succeeded != 1 || invoicesOf[o.ID] != 1 || receipts != 1 || mailed < 1 {
				add(invPaidOnce, o.CreatedAt, "paid order %s has %d payments (%d succeeded), %d invoices, %d receipts sent, %d receipt mails",
					o.ID, len(ps), succeeded, invoicesOf[o.ID], receipts, mailed)
			}
		} else if succeeded+invoicesOf[o.ID]+receipts+mailed > 0 {
			add(invPaidOnce, o.CreatedAt, "unpaid order %s has %d succeeded payments, %d invoices, %d receipts sent, %d receipt mails",
				o.ID, succeeded, invoicesOf[o.ID], receipts, mailed)
		}
	}

	// Money at Stripe.
	intents, refunded := stripeMoney(t, c)
	byIntent := map[string]chaosPayment{}
	var recorded, refundedInDB int64
	for _, p := range payments {
		byIntent[p.IntentID] = p
		if p.Status == "succeeded" {
			recorded += p.AmountCents
			refundedInDB += p.RefundedCents
		}
	}
	var charged, refundedAtStripe int64
	for id, pi := range intents {
		charged += pi.AmountReceived
		refundedAtStripe += refunded[id]
		p, ok := byIntent[id]
		switch {
		case pi.AmountReceived > 0 && (!ok || p.Status != "succeeded" || p.AmountCents != pi.AmountReceived):
			add(invMoney, placed(p.OrderID), "intent %s charged %d but its payment is %+v", id, pi.AmountReceived, p)
		case ok && refunded[id] != p.RefundedCents:
			add(invMoney, placed(p.OrderID), "intent %s: %d refunded at Stripe, %d recorded", id, refunded[id], p.RefundedCents)
		}
	}
	if charged-refundedAtStripe != recorded-refundedInDB {
		add(invMoney, time.Time{}, "Stripe charged %d and refunded %d; payments recorded %d and refunds %d",
			charged, refundedAtStripe, recorded, refundedInDB)
	}
	for _, o := range orderList {
		if !wasPaid(o) {
			continue
		}
		ps := paymentsOf[o.ID]
		if len(ps) == 0 {
			add(invChargedOrders, o.CreatedAt, "order %s paid without a payment", o.ID)
			continue
		}
		pi, ok := intents[ps[0].IntentID]
		if !ok || pi.Status != "succeeded" || pi.AmountReceived != o.TotalCents {
			add(invChargedOrders, o.CreatedAt, "order %s of %d paid, its intent %s at Stripe: %+v", o.ID, o.TotalCents, ps[0].IntentID, pi)
		}
	}

	// Stock.
	for _, v := range stockViolations(t, productsDB, c.products, orders) {
		out = append(out, v)
	}

	// Invoice numbers.
	for _, d := range invoiceGaps(t, paymentsDB) {
		add(invInvoices, time.Time{}, "%s", d)
	}

	// Events.
	for _, v := range c.lostEvents(t, events, placed) {
		out = append(out, v)
	}

	// Analytics.
	after := c.dailySales(t)
	truth := salesTruth(t, ordersDB, paymentsDB, ids)
	days := map[string]bool{}
	for d := range after {
		days[d] = true
	}
	want := map[string]daySales{}
	for _, d := range truth {
		want[d.Date], days[d.Date] = d, true
	}
	for d := range days {
		got := after[d]
		before := c.salesBefore[d]
		delta := daySales{Date: d, Orders: got.Orders - before.Orders, RevenueCents: got.RevenueCents - before.RevenueCents,
			RefundsCents: got.RefundsCents - before.RefundsCents, ItemsSold: got.ItemsSold - before.ItemsSold}
		w := want[d]
		w.Date = d
		if delta != w {
			add(invAnalytics, time.Time{}, "on %s the analytics grew by %+v during the run, the databases say %+v", d, delta, w)
		}
	}
	return out
}

// countBy counts the rows of query (one text column, taking ids as $1)
// by value.
func countBy(t *testing.T, db *pgx.Conn, query string, ids any) map[string]int {
	t.Helper()
	rows, err := db.Query(ctx(t), query, ids)
	require.NoError(t, err)
	vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	out := map[string]int{}
	for _, v := range vals {
		out[v]++
	}
	return out
}

var receiptSubject = regexp.MustCompile(`^Receipt for order ([0-9a-f-]{36})$`)

// receiptMails lists the Message-IDs of the receipts mailpit holds, by
// order.
func receiptMails(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	const pageSize = 500
	for start := 0; ; start += pageSize {
		resp := call(t, http.MethodGet, fmt.Sprintf("%s/api/v1/search?query=%s&start=%d&limit=%d",
			mailpitURL, url.QueryEscape(`subject:"Receipt for order"`), start, pageSize), nil)
		require.Equal(t, http.StatusOK, resp.Status, "mailpit: %s", resp.Body)
		var page struct {
			Total    int           `json:"messages_count"`
			Messages []mailSummary `json:"messages"`
		}
		resp.JSON(t, &page)
		for _, m := range page.Messages {
			if g := receiptSubject.FindStringSubmatch(m.Subject); g != nil {
				out[g[1]] = append(out[g[1]], m.MessageID)
			}
		}
		if len(page.Messages) < pageSize {
			return out
		}
	}
}

// stripeMoney reads, from the Stripe emulator, the intents of the chaos
// customers and the succeeded refunds of each.
func stripeMoney(t *testing.T, c *chaos) (map[string]stripeIntent, map[string]int64) {
	t.Helper()
	intents := map[string]stripeIntent{}
	for _, cus := range c.stripeCustomers(t) {
		var list struct{ Data []stripeIntent }
		stripeGet(t, "/v1/payment_intents?customer="+url.QueryEscape(cus), &list)
		for _, pi := range list.Data {
			intents[pi.ID] = pi
		}
	}
	var all struct {
		Data []struct {
			Amount        int64  `json:"amount"`
			PaymentIntent string `json:"payment_intent"`
			Status        string `json:"status"`
		}
	}
	stripeGet(t, "/v1/refunds", &all)
	refunded := map[string]int64{}
	for _, r := range all.Data {
		if _, mine := intents[r.PaymentIntent]; mine && r.Status == "succeeded" {
			refunded[r.PaymentIntent] += r.Amount
		}
	}
	return intents, refunded
}

// stockViolations checks each chaos product's stock against its
// reservations, and each order's reservation against the order.
func stockViolations(t *testing.T, db *pgx.Conn, products []string, orders map[string]chaosOrder) []violation {
	t.Helper()
	var out []violation
	for _, p := range products {
		var onHand, reserved, adjusted, held, sold int
		require.NoError(t, db.QueryRow(ctx(t), `SELECT i.on_hand, i.reserved,
				(SELECT coalesce(sum(delta), 0) FROM inventory_adjustments WHERE product_id = i.product_id),
				(SELECT coalesce(sum(l.quantity), 0) FROM reservation_lines l JOIN reservations r USING (order_id)
					WHERE l.product_id = i.product_id AND r.status = 'reserved'),
				(SELECT coalesce(sum(l.quantity), 0) FROM reservation_lines l JOIN reservations r USING (order_id)
					WHERE l.product_id = i.product_id AND r.status IN ('committed', 'restocked'))
			FROM inventory i WHERE i.product_id = $1`, p).Scan(&onHand, &reserved, &adjusted, &held, &sold))
		if reserved != held || chaosStock+adjusted != (onHand-reserved)+reserved+sold {
			out = append(out, violation{invariant: invStock, detail: fmt.Sprintf(
				"product %s: initial %d + adjustments %d, but on hand %d (available %d + reserved %d, reservations holding %d) + sold %d",
				p, chaosStock, adjusted, onHand, onHand-reserved, reserved, held, sold)})
		}
	}
	ids := make([]string, 0, len(orders))
	for id := range orders {
		ids = append(ids, id)
	}
	rows, err := db.Query(ctx(t), `SELECT order_id::text, status FROM reservations WHERE order_id = ANY($1::uuid[])`, ids)
	require.NoError(t, err)
	status := map[string]string{}
	var id, s string
	_, err = pgx.ForEachRow(rows, []any{&id, &s}, func() error { status[id] = s; return nil })
	require.NoError(t, err)
	want := map[string]string{"paid": "committed", "cancelled": "released", "refunded": "restocked"}
	for _, o := range orders {
		if w, final := want[o.Status]; final && status[o.ID] != w {
			out = append(out, violation{invariant: invStock, at: o.CreatedAt, detail: fmt.Sprintf(
				"order %s is %s, its reservation %q (want %s)", o.ID, o.Status, status[o.ID], w)})
		}
	}
	return out
}

// invoiceGaps checks that each year's invoice numbers are 1..n, each once,
// n being the year's counter.
func invoiceGaps(t *testing.T, db *pgx.Conn) []string {
	t.Helper()
	rows, err := db.Query(ctx(t), `SELECT c.year, c.last_number, count(i.number), count(DISTINCT i.number),
			coalesce(min(i.number % 1000000), 0), coalesce(max(i.number % 1000000), 0)
		FROM invoice_year_counters c LEFT JOIN invoices i ON i.number / 1000000 = c.year
		GROUP BY c.year, c.last_number`)
	require.NoError(t, err)
	var out []string
	var year, last, n, distinct, lo, hi int64
	_, err = pgx.ForEachRow(rows, []any{&year, &last, &n, &distinct, &lo, &hi}, func() error {
		if n != distinct || n != last || (n > 0 && (lo != 1 || hi != last)) {
			out = append(out, fmt.Sprintf("%d: counter at %d, %d invoices (%d numbers) from %d to %d", year, last, n, distinct, lo, hi))
		}
		return nil
	})
	require.NoError(t, err)
	var outside int
	require.NoError(t, db.QueryRow(ctx(t), `SELECT count(*) FROM invoices i
		WHERE NOT EXISTS (SELECT 1 FROM invoice_year_counters c WHERE c.year = i.number / 1000000)`).Scan(&outside))
	if outside > 0 {
		out = append(out, fmt.Sprintf("%d invoices of a year without a counter", outside))
	}
	return out
}

// chaosEvents are the events the producers' outboxes hold about the
// chaos orders.
func (c *chaos) events(t *testing.T, orderIDs []string) []outboxEvent {
	t.Helper()
	var out []outboxEvent
	for _, db := range chaosProducers {
		rows, err := c.db(t, db).Query(ctx(t), `SELECT event_id::text, topic, coalesce(payload->>'order_id', ''),
				coalesce(payload->>'user_id', ''), coalesce((payload->>'refund')::boolean, false)
			FROM outbox WHERE payload->>'order_id' = ANY($1)`, orderIDs)
		require.NoError(t, err)
		events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[outboxEvent])
		require.NoError(t, err)
		out = append(out, events...)
	}
	return out
}

// subscribers maps each topic to the apps subscribing to it, from the
// pub/sub component's subscription scopes (dead-letter topics left out).
func subscribers(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sys.root, "components", "pubsub", "redis", "pubsub.yaml"))
	require.NoError(t, err)
	m := subscriptionScopes.FindSubmatch(b)
	require.NotNil(t, m, "the pub/sub component names its subscribers")
	out := map[string][]string{}
	for _, scope := range strings.Split(string(m[1]), ";") {
		app, topics, _ := strings.Cut(scope, "=")
		for _, topic := range strings.Split(topics, ",") {
			if topic != "" && !strings.HasPrefix(topic, "deadletter.") {
				out[topic] = append(out[topic], app)
			}
		}
	}
	return out
}

var subscriptionScopes = regexp.MustCompile(`name: subscriptionScopes\s+value: "([^"]*)"`)

// lostEvents checks that every event left its outbox and reached each
// subscriber: processed (its id recorded with the effect), or in the
// subscriber's dead letters. Three effects are recorded without the event
// id: products marks an order's reservation placed on order.created, and
// payments records an unpaid order's cancellation, and refunds a paid one.
func (c *chaos) lostEvents(t *testing.T, events []outboxEvent, placed func(orderID string) time.Time) []violation {
	t.Helper()
	var out []violation
	processed, lettered := map[string]map[string]bool{}, map[string]map[string]bool{}
	for app, db := range chaosConsumers {
		processed[app] = c.set(t, db, `SELECT event_id FROM processed_events`)
		lettered[app] = c.set(t, db, `SELECT event_id FROM dead_letters`)
	}
	placedOrders := c.set(t, "products", `SELECT order_id::text FROM reservations WHERE placed_at IS NOT NULL`)
	cancelledUnpaid := c.set(t, "payments", `SELECT order_id::text FROM cancelled_orders`)
	refundedOrders := c.set(t, "payments", `SELECT DISTINCT p.order_id::text FROM refunds r JOIN payments p ON p.id = r.payment_id`)
	unpublished := map[string]bool{}
	for _, db := range chaosProducers {
		for id := range c.set(t, db, `SELECT event_id::text FROM outbox WHERE published_at IS NULL`) {
			unpublished[id] = true
		}
	}
	subs := subscribers(t)
	for _, e := range events {
		if unpublished[e.ID] {
			out = append(out, violation{invariant: invEvents, at: placed(e.OrderID),
				detail: fmt.Sprintf("%s %s (order %s) never left its outbox", e.Topic, e.ID, e.OrderID)})
			continue
		}
		for _, app := range subs[e.Topic] {
			reached := processed[app][e.ID] || lettered[app][e.ID]
			switch {
			case app == "products" && e.Topic == "order.created":
				reached = reached || placedOrders[e.OrderID]
			case app == "payments" && e.Topic == "order.cancelled" && !e.Refund:
				reached = reached || cancelledUnpaid[e.OrderID]
			case app == "payments" && e.Topic == "order.cancelled":
				reached = reached || refundedOrders[e.OrderID]
			}
			if !reached {
				out = append(out, violation{invariant: invEvents, at: placed(e.OrderID),
					detail: fmt.Sprintf("%s %s (order %s) neither processed by %s nor in its dead letters", e.Topic, e.ID, e.OrderID, app)})
			}
		}
	}
	return out
}

// set reads query's one text column into a set.
func (c *chaos) set(t *testing.T, db, query string) map[string]bool {
	t.Helper()
	rows, err := c.db(t, db).Query(ctx(t), query)
	require.NoError(t, err)
	vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	out := make(map[string]bool, len(vals))
	for _, v := range vals {
		out[v] = true
	}
	return out
}
