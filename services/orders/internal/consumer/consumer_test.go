package consumer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/consumer"
	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/orders/orderstest"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/orders/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

func TestPaymentEventsApplyOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewDatabase(t, migrations.FS)
	carts, catalog := orderstest.NewCarts(), orderstest.NewCatalog()
	store := postgres.NewStore(pool)
	svc := orders.NewService(store, carts, catalog, time.Now, time.Hour)
	p := catalog.Add("Cup", 800, 10)
	place := func() uuid.UUID {
		user := uuid.New()
		_, err := orders.NewCarts(carts, catalog).Add(ctx, user, p.ID, 1)
		require.NoError(t, err)
		out, err := svc.Checkout(ctx, orders.CheckoutCommand{UserID: user, Key: "k", RequestHash: "h"})
		require.NoError(t, err)
		return out.Order.ID
	}
	var logged bytes.Buffer
	handlers := map[string]events.Handler{}
	for _, s := range consumer.New(svc, slog.New(slog.NewJSONHandler(&logged, nil))).Subscriptions() {
		handlers[s.Topic] = s.Handler
	}
	deliver := func(topic, id string, data any) error {
		b, err := json.Marshal(data)
		require.NoError(t, err)
		return handlers[topic](ctx, events.Event{ID: id, Topic: topic, Data: b})
	}
	count := func(query string, args ...any) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, query, args...).Scan(&n))
		return n
	}

	tests := []struct {
		topic     string
		want      orders.Status
		wantTopic string
		payStatus string
	}{
		{contracts.TopicPaymentSucceeded, orders.StatusPaid, contracts.TopicOrderPaid, orders.PaymentSucceeded},
		{contracts.TopicPaymentFailed, orders.StatusCancelled, contracts.TopicOrderCancelled, orders.PaymentFailed},
	}
	for _, tt := range tests {
		t.Run(tt.topic+" delivered twice takes effect once", func(t *testing.T) {
			id := place()
			eventID := uuid.NewString()
			intent := "pi_" + eventID[:8]
			for range 2 {
				require.NoError(t, deliver(tt.topic, eventID, map[string]any{"order_id": id, "payment_intent_id": intent}))
			}
			d, err := store.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.Status)
			assert.Equal(t, tt.payStatus, d.Payment.Status)
			assert.Equal(t, intent, d.Payment.PaymentIntentID)
			assert.Equal(t, 1, count(`SELECT count(*) FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`, tt.wantTopic, id.String()))
			assert.Equal(t, 1, count(`SELECT count(*) FROM processed_events WHERE event_id = $1`, eventID))
		})
	}

	t.Run("payment.refunded closes a cancelled order and gives its units back, once", func(t *testing.T) {
		id := place()
		require.NoError(t, deliver(contracts.TopicPaymentSucceeded, uuid.NewString(), map[string]any{"order_id": id}))
		_, err := svc.Cancel(ctx, orders.Viewer{Admin: true}, id)
		require.NoError(t, err)
		eventID := uuid.NewString()
		for range 2 {
			require.NoError(t, deliver(contracts.TopicPaymentRefunded, eventID, map[string]any{"order_id": id}))
		}
		d, err := store.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusRefunded, d.Status)
		rows, err := pool.Query(ctx, `SELECT payload FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`, contracts.TopicOrderRefunded, id.String())
		require.NoError(t, err)
		refunded, err := pgx.CollectRows(rows, pgx.RowTo[contracts.OrderRefundedV1])
		require.NoError(t, err)
		require.Len(t, refunded, 1)
		assert.True(t, refunded[0].Restock)
		assert.Equal(t, []contracts.OrderItemV1{{ProductID: p.ID, Name: "Cup", Quantity: 1, UnitPriceCents: 800}}, refunded[0].Items)
	})
	t.Run("a late payment.failed leaves a paid order paid", func(t *testing.T) {
		id := place()
		require.NoError(t, deliver(contracts.TopicPaymentSucceeded, uuid.NewString(), map[string]any{"order_id": id}))
		require.NoError(t, deliver(contracts.TopicPaymentFailed, uuid.NewString(), map[string]any{"order_id": id}))
		d, err := store.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusPaid, d.Status)
	})
	t.Run("money taken for an order no longer payable is logged once for follow-up", func(t *testing.T) {
		id := place()
		_, err := svc.Cancel(ctx, orders.Viewer{Admin: true}, id)
		require.NoError(t, err)
		logged.Reset()
		eventID := uuid.NewString()
		for range 2 {
			require.NoError(t, deliver(contracts.TopicPaymentSucceeded, eventID, map[string]any{"order_id": id}))
		}
		d, err := store.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusCancelled, d.Status)
		assert.Equal(t, orders.PaymentSucceeded, d.Payment.Status)
		assert.Equal(t, 1, strings.Count(logged.String(), "payment succeeded for an order that is not payable"), logged.String())
		assert.Contains(t, logged.String(), id.String())
	})
	t.Run("an event for an unknown order is dropped", func(t *testing.T) {
		err := deliver(contracts.TopicPaymentSucceeded, uuid.NewString(), map[string]any{"order_id": uuid.New()})
		assert.ErrorContains(t, err, "poison event")
	})
}
