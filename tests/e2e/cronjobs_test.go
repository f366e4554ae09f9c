package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// runJob triggers a workers job the way its cron binding does and waits
// for its run.
func runJob(t *testing.T, name string) {
	t.Helper()
	resp := deliverBinding(t, name)
	require.Equal(t, http.StatusOK, resp.Status, "%s: %s", name, resp.Body)
}

// TestScheduledJobs runs each of the workers' scheduled jobs and checks
// its effect in the service owning the data.
func TestScheduledJobs(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}

	t.Run("unpaid orders expire through the workers", func(t *testing.T) {
		productID := s.newProduct(t, 300, 2)
		customer, o := s.placeOrder(t, productID, 2)
		_, err := connect(t, "orders").Exec(ctx(t), `UPDATE orders SET created_at = created_at - interval '2 hours' WHERE id = $1`, o.ID)
		require.NoError(t, err)
		runJob(t, "cron-expire-orders")
		s.waitStatus(t, customer, o.ID, "cancelled")
		s.waitInventory(t, productID, inventory{OnHand: 2, Reserved: 0, Available: 2})
	})

	t.Run("a checkout abandoned after reserving gives its stock back", func(t *testing.T) {
		productID := s.newProduct(t, 300, 5)
		orderID, userID := uuid.New(), uuid.New()
		// What a checkout that crashed between reserving and placing leaves:
		// a reservation at products and an unfinished claim at orders.
		resp := invokeAs(t, "orders", http.MethodPost, "products", "internal/reservations",
			fmt.Sprintf(`{"order_id": %q, "lines": [{"product_id": %q, "quantity": 3}]}`, orderID, productID))
		require.Equal(t, http.StatusOK, resp.Status, "reserve: %s", resp.Body)
		s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 3, Available: 2})
		_, err := connect(t, "orders").Exec(ctx(t), `INSERT INTO checkout_requests (user_id, idempotency_key, request_hash, order_id, created_at)
			VALUES ($1, 'crashed', 'h', $2, now() - interval '20 minutes')`, userID, orderID)
		require.NoError(t, err)

		runJob(t, "cron-expire-orders")
		s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 0, Available: 5})
	})

	t.Run("payment reconciliation runs through the workers", func(t *testing.T) {
		runJob(t, "cron-reconcile-payments")
	})

	t.Run("the low-stock digest mails the admins once per change", func(t *testing.T) {
		suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		name := "Digest item " + suffix
		resp := s.send(t, http.MethodPost, "/api/v1/products", s.admin, fmt.Sprintf(
			`{"sku": "DG-%s", "name": %q, "description": "e2e", "price_cents": 500, "currency": "USD", "initial_stock": 2, "low_stock_threshold": 5}`,
			suffix, name))
		require.Equal(t, http.StatusCreated, resp.Status, "create product: %s", resp.Body)
		admin := "admin@daprshop.local"
		digests := func() []mailSummary {
			var out []mailSummary
			for _, m := range mailsTo(t, admin) {
				if strings.HasPrefix(m.Subject, "Low stock digest") {
					out = append(out, m)
				}
			}
			return out
		}
		before := len(digests())

		runJob(t, "cron-low-stock-digest")
		runJob(t, "cron-low-stock-digest")
		var got []mailSummary
		require.Eventually(t, func() bool { got = digests(); return len(got) > before }, 60*time.Second, 100*time.Millisecond, "a digest mail")
		m := readMail(t, got[0].ID)
		assert.Contains(t, m.HTML, name+" (DG-"+suffix+"): 2 available")
		waitConsumed(t, "notification.requested")
		assert.Len(t, digests(), before+1, "the second run with the same list sends nothing")
	})

	t.Run("the purge deletes what outlived its use in every service", func(t *testing.T) {
		const old, recent = "61 days", "1 hour"
		seed := func(database, id, age string) {
			_, err := connect(t, database).Exec(ctx(t), `INSERT INTO processed_events (consumer, event_id, processed_at)
				VALUES ('e2e', $1, now() - $2::interval)`, id, age)
			require.NoError(t, err)
		}
		databases := []string{"products", "orders", "payments", "notifications", "analytics"}
		for _, db := range databases {
			seed(db, "old-"+db, old)
			seed(db, "recent-"+db, recent)
		}
		authDB := connect(t, "auth")
		var userID uuid.UUID
		require.NoError(t, authDB.QueryRow(ctx(t), `SELECT id FROM users ORDER BY created_at LIMIT 1`).Scan(&userID))
		ended, live := uuid.New(), uuid.New()
		_, err := authDB.Exec(ctx(t), `INSERT INTO sessions (id, user_id, created_at, revoked_at) VALUES
			($1, $3, now() - interval '40 days', now() - interval '8 days'), ($2, $3, now(), NULL)`, ended, live, userID)
		require.NoError(t, err)
		_, err = authDB.Exec(ctx(t), `INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, now() + interval '30 days')`,
			[]byte(live.String()), live)
		require.NoError(t, err)

		runJob(t, "cron-purge")
		for _, db := range databases {
			var ids []string
			rows, err := connect(t, db).Query(ctx(t), `SELECT event_id FROM processed_events WHERE consumer = 'e2e' ORDER BY event_id`)
			require.NoError(t, err)
			for rows.Next() {
				var id string
				require.NoError(t, rows.Scan(&id))
				ids = append(ids, id)
			}
			require.NoError(t, rows.Err())
			assert.Equal(t, []string{"recent-" + db}, ids, db)
		}
		var sessions []uuid.UUID
		rows, err := authDB.Query(ctx(t), `SELECT id FROM sessions WHERE id = ANY($1)`, []uuid.UUID{ended, live})
		require.NoError(t, err)
		for rows.Next() {
			var id uuid.UUID
			require.NoError(t, rows.Scan(&id))
			sessions = append(sessions, id)
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, []uuid.UUID{live}, sessions, "the session revoked a week ago is gone, the live one stays")
	})
}
