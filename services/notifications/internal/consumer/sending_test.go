package consumer_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/notifications/internal/consumer"
	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// fakeSender records what it sends; while down, every send fails.
type fakeSender struct {
	mu   sync.Mutex
	sent []notifications.Delivery
	down bool
}

func (s *fakeSender) Send(_ context.Context, d notifications.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("connection refused")
	}
	s.sent = append(s.sent, d)
	return nil
}

func (s *fakeSender) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *fakeSender) to(recipient string) []notifications.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notifications.Delivery
	for _, d := range s.sent {
		if d.Recipient == recipient {
			out = append(out, d)
		}
	}
	return out
}

type deliveryState struct {
	Channel  string
	Template string
	Status   string
	Attempts int
	Error    string
}

func deliveriesOf(t *testing.T, pool *pgxpool.Pool, eventID string) map[string]deliveryState {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT channel, template, status, attempts, coalesce(error, '') FROM deliveries WHERE event_id = $1`, eventID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]deliveryState{}
	for rows.Next() {
		var d deliveryState
		require.NoError(t, rows.Scan(&d.Channel, &d.Template, &d.Status, &d.Attempts, &d.Error))
		out[d.Channel] = d
	}
	require.NoError(t, rows.Err())
	return out
}

func registered(user uuid.UUID, email, name string) string {
	return `{"user_id": "` + user.String() + `", "email": "` + email + `", "name": "` + name + `"}`
}

func TestWelcomeIsSentOnceWithTheNameEscaped(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	sender := &fakeSender{}
	app := newAppSending(t, pool, sender)
	user := uuid.New()
	data := registered(user, "eve@example.com", `Eve <script>alert(1)</script>`)

	require.Equal(t, "SUCCESS", app.Deliver(t, "user.registered", "w-1", data))
	require.Equal(t, "SUCCESS", app.Deliver(t, "user.registered", "w-1", data), "redelivery")

	mails := sender.to("eve@example.com")
	require.Len(t, mails, 1, "one welcome however often the event arrives")
	assert.Equal(t, "welcome", mails[0].Template)
	assert.Contains(t, mails[0].Message.HTML, "Eve &lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotContains(t, mails[0].Message.HTML, "<script>")
	assert.Equal(t, map[string]deliveryState{
		"email": {"email", "welcome", "sent", 1, ""},
		"sms":   {"sms", "welcome", "skipped", 0, ""},
		"push":  {"push", "welcome", "skipped", 0, ""},
	}, deliveriesOf(t, pool, "w-1"))
}

func TestPreferencesGateAllButTransactionalMessages(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	sender := &fakeSender{}
	app := newAppSending(t, pool, sender)
	user := uuid.New()
	require.Equal(t, "SUCCESS", app.Deliver(t, "user.registered", "r-1", registered(user, "bob@example.com", "Bob")))
	_, err := pool.Exec(context.Background(), `UPDATE preferences SET email = false, push = true WHERE user_id = $1`, user)
	require.NoError(t, err)

	order := `{"order_id": "` + uuid.NewString() + `", "user_id": "` + user.String() + `", "total_cents": 4250, "currency": "USD"}`
	paid := `{"order_id": "` + uuid.NewString() + `", "user_id": "` + user.String() + `", "total_cents": 4250, "currency": "USD", "invoice_number": "INV-2025-0042"}`
	tests := []struct {
		name, topic, data string
		want              map[string]string // channel → status
	}{
		{"shipping news respects email off", "order.shipped", order,
			map[string]string{"email": "skipped", "sms": "skipped", "push": "sent"}},
		{"the receipt is always mailed", "order.paid", paid,
			map[string]string{"email": "sent", "sms": "skipped", "push": "sent"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "g-" + string(rune('a'+i))
			require.Equal(t, "SUCCESS", app.Deliver(t, tt.topic, id, tt.data))
			got := map[string]string{}
			for ch, d := range deliveriesOf(t, pool, id) {
				got[ch] = d.Status
			}
			assert.Equal(t, tt.want, got)
		})
	}
	mails := sender.to("bob@example.com")
	require.Len(t, mails, 2, "the welcome and the receipt")
	receipt := mails[1]
	assert.Equal(t, "order_paid", receipt.Template)
	assert.Contains(t, receipt.Message.HTML, "42.50 USD")
	assert.Contains(t, receipt.Message.HTML, "INV-2025-0042")
	assert.Len(t, sender.to(user.String()), 2, "push went to the user id")
}

func TestAddressComesFromTheEventOrTheRecipientTable(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	sender := &fakeSender{}
	app := newAppSending(t, pool, sender)
	known, unknown := uuid.New(), uuid.New()
	require.Equal(t, "SUCCESS", app.Deliver(t, "user.registered", "a-1", registered(known, "kim@example.com", "Kim")))

	// order.created names the address when the customer's token did.
	created := func(user uuid.UUID, email string) string {
		return `{"order_id": "` + uuid.NewString() + `", "user_id": "` + user.String() + `", "email": "` + email + `", "total_cents": 100, "currency": "USD"}`
	}
	require.Equal(t, "SUCCESS", app.Deliver(t, "order.created", "a-2", created(known, "")))
	require.Equal(t, "SUCCESS", app.Deliver(t, "order.created", "a-3", created(unknown, "new@example.com")))
	require.Equal(t, "SUCCESS", app.Deliver(t, "order.created", "a-4", created(uuid.New(), "")))

	assert.Len(t, sender.to("kim@example.com"), 2)
	assert.Len(t, sender.to("new@example.com"), 1)
	assert.Equal(t, deliveryState{"email", "order_created", "skipped", 0, "no address known for the user"}, deliveriesOf(t, pool, "a-4")["email"])
}

func TestFailedSendsAreRetriedThenDeadLettered(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	sender := &fakeSender{down: true}
	app := newAppSending(t, pool, sender) // MaxAttempts 3
	user := uuid.New()
	welcome := registered(user, "sam@example.com", "Sam")

	assert.Equal(t, "RETRY", app.Deliver(t, "user.registered", "f-1", welcome))
	assert.Equal(t, deliveryState{"email", "welcome", "queued", 1, "connection refused"}, deliveriesOf(t, pool, "f-1")["email"])
	sender.setDown(false)
	assert.Equal(t, "SUCCESS", app.Deliver(t, "user.registered", "f-1", welcome), "the redelivery sends it")
	assert.Equal(t, deliveryState{"email", "welcome", "sent", 2, "connection refused"}, deliveriesOf(t, pool, "f-1")["email"])
	assert.Len(t, sender.to("sam@example.com"), 1)

	sender.setDown(true)
	paid := `{"order_id": "` + uuid.NewString() + `", "user_id": "` + user.String() + `", "total_cents": 100, "currency": "USD"}`
	for _, want := range []string{"RETRY", "RETRY", "DROP"} {
		assert.Equal(t, want, app.Deliver(t, "order.paid", "f-2", paid))
	}
	assert.Equal(t, deliveryState{"email", "order_paid", "failed", 3, "connection refused"}, deliveriesOf(t, pool, "f-2")["email"],
		"failed for good: the event is a dead letter")
	sender.setDown(false)
	assert.Equal(t, "SUCCESS", app.Deliver(t, "order.paid", "f-2", paid))
	assert.Len(t, sender.to("sam@example.com"), 1, "a mere redelivery sends nothing that failed")
}

// An operator replaying the dead letter of an event whose mail failed for
// good (the SMTP server down for longer than the retries) gets the mail
// sent: one more send per replay, and nothing once it went out.
func TestAReplaySendsWhatFailed(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	sender := &fakeSender{}
	c := consumer.New(notifications.NewService(postgres.NewStore(pool), sender, notifications.Options{MaxAttempts: 2}))
	handlers := map[string]events.Handler{}
	for _, s := range c.Subscriptions() {
		handlers[s.Topic] = s.Handler
	}
	deliver := func(ctx context.Context, topic, id, data string) error {
		e, err := events.Parse([]byte(`{"specversion": "1.0", "id": "` + id + `", "source": "test", "type": "` + topic +
			`", "topic": "` + topic + `", "datacontenttype": "application/json", "data": ` + data + `}`))
		require.NoError(t, err)
		return handlers[topic](ctx, e)
	}
	replay := events.Replaying(context.Background())
	user := uuid.New()
	require.NoError(t, deliver(context.Background(), "user.registered", "r-1", registered(user, "ria@example.com", "Ria")))

	sender.setDown(true)
	paid := `{"order_id": "` + uuid.NewString() + `", "user_id": "` + user.String() + `", "total_cents": 100, "currency": "USD"}`
	require.Error(t, deliver(context.Background(), "order.paid", "r-2", paid), "queued")
	err := deliver(context.Background(), "order.paid", "r-2", paid)
	require.ErrorIs(t, err, notifications.ErrUndelivered)
	assert.Equal(t, deliveryState{"email", "order_paid", "failed", 2, "connection refused"}, deliveriesOf(t, pool, "r-2")["email"])

	assert.ErrorIs(t, deliver(replay, "order.paid", "r-2", paid), notifications.ErrUndelivered, "the server is still down")
	assert.Equal(t, deliveryState{"email", "order_paid", "failed", 3, "connection refused"}, deliveriesOf(t, pool, "r-2")["email"])
	assert.Len(t, sender.to("ria@example.com"), 1, "the welcome only")

	sender.setDown(false)
	require.NoError(t, deliver(replay, "order.paid", "r-2", paid))
	assert.Equal(t, deliveryState{"email", "order_paid", "sent", 4, "connection refused"}, deliveriesOf(t, pool, "r-2")["email"])
	require.NoError(t, deliver(replay, "order.paid", "r-2", paid), "a second replay")
	assert.Len(t, sender.to("ria@example.com"), 2, "the receipt went out once")
}

func TestLowStockGoesToTheAdmins(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	sender := &fakeSender{}
	app := newAppSending(t, pool, sender)
	data := `{"product_id": "` + uuid.NewString() + `", "sku": "MUG-1", "name": "Mug", "available": 2, "threshold": 5}`
	require.Equal(t, "SUCCESS", app.Deliver(t, "inventory.low_stock", "l-1", data))
	digest := `{"template": "low_stock_digest", "data": {"items": [{"sku": "MUG-1", "name": "Mug", "available": 2}, {"sku": "CUP-2", "name": "Cup", "available": 0}]}}`
	require.Equal(t, "SUCCESS", app.Deliver(t, "notification.requested", "l-2", digest))

	mails := sender.to("ops@example.com")
	require.Len(t, mails, 2, "%v", deliveriesOf(t, pool, "l-2"))
	assert.Equal(t, "Low stock: MUG-1", mails[0].Message.Subject)
	assert.Equal(t, "Low stock digest: 2 products", mails[1].Message.Subject)
	assert.Contains(t, mails[1].Message.HTML, "Cup (CUP-2): 0 available")
	assert.Equal(t, []string{"email"}, keys(deliveriesOf(t, pool, "l-1")), "admins are mailed only")

	unknown := `{"template": "nope", "data": {}}`
	assert.Equal(t, "DROP", app.Deliver(t, "notification.requested", "l-3", unknown))
}

func keys(m map[string]deliveryState) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
