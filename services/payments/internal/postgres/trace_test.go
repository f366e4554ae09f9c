package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// newTraceparent is a sampled W3C traceparent of a new trace.
func newTraceparent(t *testing.T) string {
	t.Helper()
	var ids [24]byte
	_, err := rand.Read(ids[:])
	require.NoError(t, err)
	return "00-" + hex.EncodeToString(ids[:16]) + "-" + hex.EncodeToString(ids[16:]) + "-01"
}

func traceID(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

// Stripe sends its webhook as soon as it has confirmed the intent, so it
// usually arrives while the payment is still being recorded. However
// close it comes, the payment is settled, and payment.succeeded published,
// in the trace of the request that recorded the payment (the checkout's),
// never in the webhook's own.
func TestWebhookSettlesInThePaymentsTrace(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	ctx := context.Background()
	for i := range 20 {
		checkout, webhook := newTraceparent(t), newTraceparent(t)
		intentID := fmt.Sprintf("pi_race_%d", i)
		p := payments.Payment{
			ID: uuid.New(), OrderID: uuid.New(), UserID: uuid.New(), IntentID: intentID, ClientSecret: "s",
			Status: payments.StatusProcessing, AmountCents: 1000, Currency: "USD",
		}
		settled := make(chan error, 1)
		go func() {
			// Delivered again until the payment is there, as Stripe does.
			webhookCtx := telemetry.WithTraceparent(ctx, webhook)
			for {
				_, err := store.Transition(webhookCtx, intentID, "evt_"+intentID, "payment_intent.succeeded",
					payments.OnVerdict(payments.StatusSucceeded, "", 0))
				if !errors.Is(err, payments.ErrUnknownIntent) {
					settled <- err
					return
				}
			}
		}()
		_, err := store.RecordPayment(telemetry.WithTraceparent(ctx, checkout), p.OrderID, uuid.NewString(), payments.OnIntent(p))
		require.NoError(t, err)
		require.NoError(t, <-settled)

		var tp string
		require.NoError(t, pool.QueryRow(ctx, `SELECT traceparent FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`,
			payments.TopicPaymentSucceeded, p.OrderID.String()).Scan(&tp))
		require.Equal(t, traceID(checkout), traceID(tp), "payment.succeeded of attempt %d continues the checkout's trace", i)
		assert.NotEqual(t, traceID(webhook), traceID(tp))
	}
}
