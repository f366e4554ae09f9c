package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

var day0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// insertDelivery adds a queued email n hours after day0.
func insertDelivery(t *testing.T, pool *pgxpool.Pool, user uuid.UUID, n int) uuid.UUID {
	t.Helper()
	id := uuid.New()
	_, err := pool.Exec(context.Background(), `INSERT INTO deliveries
		(id, user_id, channel, template, recipient, event_id, created_at)
		VALUES ($1, $2, 'email', 'welcome', 'a@example.com', $3, $4)`,
		id, user, uuid.NewString(), day0.Add(time.Duration(n)*time.Hour))
	require.NoError(t, err)
	return id
}

func TestDeliveriesListsOneUsersNewestFirst(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	alice, bob := uuid.New(), uuid.New()
	a1 := insertDelivery(t, pool, alice, 1)
	insertDelivery(t, pool, bob, 2)
	a2 := insertDelivery(t, pool, alice, 3)
	a3 := insertDelivery(t, pool, alice, 4)

	tests := []struct {
		name  string
		q     notifications.ListQuery
		want  []uuid.UUID
		total int
	}{
		{"first page", notifications.ListQuery{UserID: alice, Limit: 2}, []uuid.UUID{a3, a2}, 3},
		{"second page", notifications.ListQuery{UserID: alice, Limit: 2, Offset: 2}, []uuid.UUID{a1}, 3},
		{"past the last page", notifications.ListQuery{UserID: alice, Limit: 2, Offset: 4}, []uuid.UUID{}, 3},
		{"no deliveries", notifications.ListQuery{UserID: uuid.New(), Limit: 2}, []uuid.UUID{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := store.Deliveries(context.Background(), tt.q)
			require.NoError(t, err)
			ids := make([]uuid.UUID, len(got))
			for i, d := range got {
				ids[i] = d.ID
			}
			assert.Equal(t, tt.want, ids)
			assert.Equal(t, tt.total, total)
		})
	}

	got, _, err := store.Deliveries(context.Background(), notifications.ListQuery{UserID: alice, Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	got[0].CreatedAt = got[0].CreatedAt.UTC()
	assert.Equal(t, notifications.Delivery{
		ID: a3, UserID: alice, EventID: got[0].EventID, Channel: notifications.ChannelEmail, Template: "welcome",
		Recipient: "a@example.com", Status: notifications.StatusQueued, CreatedAt: day0.Add(4 * time.Hour),
	}, got[0])
}

func TestPreferences(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	ctx := context.Background()
	user := uuid.New()

	got, err := store.Preferences(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, notifications.Preferences{UserID: user, Email: true}, got, "defaults without a row")

	chosen := notifications.Preferences{UserID: user, Email: false, SMS: true, Push: true}
	require.NoError(t, store.Queue(ctx, "evt-1", func(ctx context.Context, in notifications.Intake) ([]notifications.Delivery, error) {
		return nil, in.CreatePreferences(ctx, chosen)
	}))
	got, err = store.Preferences(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, chosen, got)

	require.NoError(t, store.Queue(ctx, "evt-2", func(ctx context.Context, in notifications.Intake) ([]notifications.Delivery, error) {
		return nil, in.CreatePreferences(ctx, notifications.DefaultPreferences(user))
	}))
	got, err = store.Preferences(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, chosen, got, "creating again keeps the user's choice")
}

// The schema itself refuses states the code must never write.
func TestSchemaGuardsInvariants(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	ctx := context.Background()
	user := uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO deliveries (id, user_id, channel, template, recipient, event_id)
		VALUES ($1, $2, 'sms', 'welcome', '+33600000000', 'evt-1')`, uuid.New(), user)
	require.NoError(t, err)
	insert := `INSERT INTO deliveries (id, user_id, channel, template, recipient, status, error, event_id, sent_at)
		VALUES ($1, $2, $3, 'welcome', 'r', $4, $5, $6, $7)`
	sentAt := time.Now().Add(time.Minute)

	tests := []struct {
		name string
		args []any
		code string
	}{
		{"unknown channel", []any{"fax", "queued", nil, "e1", nil}, "23514"},
		{"unknown status", []any{"email", "lost", nil, "e2", nil}, "23514"},
		{"sent without sent_at", []any{"email", "sent", nil, "e3", nil}, "23514"},
		{"pending with sent_at", []any{"email", "queued", nil, "e4", sentAt}, "23514"},
		{"failed without error", []any{"email", "failed", nil, "e5", nil}, "23514"},
		{"same event on the same channel", []any{"sms", "queued", nil, "evt-1", nil}, "23505"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pgtest.RequireRefused(t, pool, tt.code, insert, append([]any{uuid.New(), user}, tt.args...)...)
		})
	}
	t.Run("same event on another channel", func(t *testing.T) {
		_, err := pool.Exec(ctx, insert, uuid.New(), user, "email", "sent", nil, "evt-1", sentAt)
		assert.NoError(t, err)
	})
	t.Run("template name with spaces", func(t *testing.T) {
		pgtest.RequireRefused(t, pool, "23514", `INSERT INTO templates (name, subject, body) VALUES ('order paid', 's', 'b')`)
	})
}

// Down must undo Up completely, or a rollback in production fails half way.
func TestMigrationsRollBackAndReapply(t *testing.T) {
	pgtest.RequireReversible(t, migrations.FS)
}

// queueEmail queues one email delivery of a new event and returns the
// event's id.
func queueEmail(t *testing.T, store *postgres.Store) string {
	t.Helper()
	eventID := uuid.NewString()
	require.NoError(t, store.Queue(context.Background(), eventID, func(context.Context, notifications.Intake) ([]notifications.Delivery, error) {
		return []notifications.Delivery{{ID: uuid.New(), UserID: uuid.New(), EventID: eventID, Channel: notifications.ChannelEmail,
			Template: "order_paid", Recipient: "a@example.com", Status: notifications.StatusQueued,
			Message: notifications.Message{Subject: "Receipt", HTML: "<p>paid</p>"}}}, nil
	}))
	return eventID
}

// sendAll offers eventID's queued deliveries to send, which succeeds.
func sendAll(t *testing.T, store *postgres.Store, eventID string, send func(d *notifications.Delivery)) (pending, failed int, err error) {
	t.Helper()
	return store.SendQueued(context.Background(), eventID, func(_ context.Context, d *notifications.Delivery) error {
		send(d)
		return d.RecordAttempt(nil, 3, time.Now())
	})
}

func deliveryOf(t *testing.T, pool *pgxpool.Pool, eventID string) (status string, attempts, uncertain int) {
	t.Helper()
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT status, attempts, uncertain_sends FROM deliveries WHERE event_id = $1`, eventID).Scan(&status, &attempts, &uncertain))
	return status, attempts, uncertain
}

// A message the provider took while the database restarted is recorded
// sent once the database is back, not sent again on the next delivery.
func TestASendDuringADatabaseRestartIsNotRepeated(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	eventID := queueEmail(t, store)

	sends := 0
	_, _, err := sendAll(t, store, eventID, func(*notifications.Delivery) {
		sends++
		// As a restart does: every session of the database ends.
		_, err := pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		require.NoError(t, err)
	})
	assert.NoError(t, err, "the outcome is saved once the database answers again")
	pending, _, err := sendAll(t, store, eventID, func(*notifications.Delivery) { sends++ })
	require.NoError(t, err)
	assert.Zero(t, pending)
	assert.Equal(t, 1, sends, "the message went out once")
	status, attempts, uncertain := deliveryOf(t, pool, eventID)
	assert.Equal(t, []any{"sent", 1, 0}, []any{status, attempts, uncertain})
}

// A send whose sender died after claiming it may have gone out: the next
// send says so on the delivery it offers and in the database.
func TestASendNobodySettledIsCountedUncertain(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	eventID := queueEmail(t, store)
	_, err := pool.Exec(context.Background(), `UPDATE deliveries SET sending_since = now() - interval '1 minute' WHERE event_id = $1`, eventID)
	require.NoError(t, err)

	var offered []notifications.Delivery
	_, _, err = sendAll(t, store, eventID, func(d *notifications.Delivery) { offered = append(offered, *d) })
	require.NoError(t, err)
	require.Len(t, offered, 1)
	assert.Equal(t, 1, offered[0].UncertainSends)
	status, attempts, uncertain := deliveryOf(t, pool, eventID)
	assert.Equal(t, []any{"sent", 1, 1}, []any{status, attempts, uncertain})

	eventID = queueEmail(t, store)
	_, _, err = store.SendQueued(context.Background(), eventID, func(_ context.Context, d *notifications.Delivery) error {
		return d.RecordAttempt(fmt.Errorf("connection reset: %w", notifications.ErrMaybeSent), 3, time.Now())
	})
	require.NoError(t, err)
	status, attempts, uncertain = deliveryOf(t, pool, eventID)
	assert.Equal(t, []any{"queued", 1, 1}, []any{status, attempts, uncertain}, "a send the channel may have delivered")
}

// Two deliveries of one event at once send its message once.
func TestConcurrentSendersSendOnce(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	eventID := queueEmail(t, store)

	inSend, release := make(chan struct{}), make(chan struct{})
	var sends atomic.Int32
	first := make(chan error, 1)
	go func() {
		_, _, err := sendAll(t, store, eventID, func(*notifications.Delivery) {
			sends.Add(1)
			close(inSend)
			<-release
		})
		first <- err
	}()
	<-inSend
	pending, _, err := sendAll(t, store, eventID, func(*notifications.Delivery) { sends.Add(1) })
	require.NoError(t, err)
	assert.Zero(t, pending, "the other sender settles it")
	close(release)
	require.NoError(t, <-first)
	assert.Equal(t, int32(1), sends.Load())
	status, _, _ := deliveryOf(t, pool, eventID)
	assert.Equal(t, "sent", status)
}
