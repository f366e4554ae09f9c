package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReconcileSettlesWhatTheWebhookMissed(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-order", order, user) // the intent succeeded; its webhook never comes
	other := uuid.New()
	f.charge(t, "evt-other", other, uuid.New()) // no card: still awaiting the client

	later := time.Now().Add(time.Hour)
	for range 2 { // a second run changes nothing
		_, err := f.svc.Reconcile(context.Background(), later, time.Minute, 10)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'pending'`, other))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order))

	t.Run("recent payments are left to their webhook", func(t *testing.T) {
		fresh := uuid.New()
		f.charge(t, "evt-fresh", fresh, user)
		n, err := f.svc.Reconcile(context.Background(), time.Now(), time.Minute, 10)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, fresh))
	})
	t.Run("the late webhook changes nothing", func(t *testing.T) {
		payload := intentEvent(t, "evt_late", "payment_intent.succeeded", "pi_"+order.String())
		require.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`))
	})
}
