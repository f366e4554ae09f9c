package consumer_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/consumer"
	"github.com/daprshop/daprshop/services/workers/internal/postgres"
	"github.com/daprshop/daprshop/services/workers/internal/postgres/migrations"
)

var today = time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC)

func TestSalesAddUpOnceHoweverOftenEventsArrive(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	app := servertest.NewClient("workers")
	events.Mount(app.App(), slog.New(slog.DiscardHandler), consumer.New(analytics.NewService(postgres.NewStore(pool), func() time.Time { return today })).Subscriptions()...)

	stream := []struct{ topic, id, data string }{
		{contracts.TopicOrderPaid, "p1", `{"order_id": "00000001-0000-4000-8000-000000000000", "total_cents": 2500, "currency": "USD", "paid_at": "2025-03-01T23:59:59Z", "items": [{"quantity": 2}, {"quantity": 1}]}`},
		{contracts.TopicOrderPaid, "p2", `{"order_id": "00000002-0000-4000-8000-000000000000", "total_cents": 1000, "currency": "USD", "paid_at": "2025-03-01T08:00:00+09:00", "items": [{"quantity": 4}]}`},
		{contracts.TopicOrderPaid, "p3", `{"order_id": "00000003-0000-4000-8000-000000000000", "total_cents": 700, "currency": "USD", "paid_at": "2025-03-02T00:00:00Z"}`},
		{contracts.TopicPaymentRefunded, "r1", `{"order_id": "00000001-0000-4000-8000-000000000000", "amount_cents": 500, "currency": "USD", "refunded_at": "2025-03-02T10:00:00Z"}`},
		{contracts.TopicOrderPaid, "p4", `{"order_id": "00000004-0000-4000-8000-000000000000", "total_cents": 300, "currency": "USD"}`}, // no paid_at: today
	}
	for round := range 3 { // the first delivery, then two full replays
		for _, e := range stream {
			require.Equal(t, "SUCCESS", app.Deliver(t, e.topic, e.id, e.data), "round %d %s", round, e.id)
		}
	}
	r, err := analytics.NewRange(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), today)
	require.NoError(t, err)
	got, err := postgres.NewStore(pool).Sales(context.Background(), r)
	require.NoError(t, err)
	for i := range got {
		got[i].Day = got[i].Day.UTC()
	}
	d := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	assert.Equal(t, []analytics.DaySales{
		// p2 was paid at 23:00 UTC on 28 February.
		{Day: d("2025-02-28"), Orders: 1, RevenueCents: 1000, ItemsSold: 4},
		{Day: d("2025-03-01"), Orders: 1, RevenueCents: 2500, ItemsSold: 3},
		{Day: d("2025-03-02"), Orders: 1, RevenueCents: 700, RefundsCents: 500},
		{Day: d("2025-03-10"), Orders: 1, RevenueCents: 300},
	}, got)

	t.Run("poison events are dropped and change nothing", func(t *testing.T) {
		for name, e := range map[string]struct{ topic, data string }{
			"negative total":  {contracts.TopicOrderPaid, `{"total_cents": -1}`},
			"negative qty":    {contracts.TopicOrderPaid, `{"total_cents": 1, "items": [{"quantity": -1}]}`},
			"negative refund": {contracts.TopicPaymentRefunded, `{"amount_cents": -5}`},
			"not an object":   {contracts.TopicOrderPaid, `"x"`},
		} {
			t.Run(name, func(t *testing.T) {
				assert.Equal(t, "DROP", app.Deliver(t, e.topic, "bad-"+name, e.data))
			})
		}
		again, err := postgres.NewStore(pool).Sales(context.Background(), r)
		require.NoError(t, err)
		assert.Len(t, again, 4)
	})
}

// v7 is a version 7 UUID minted at at, as the outbox mints event ids.
func v7(at time.Time) string {
	var id uuid.UUID
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	id[6], id[8] = 0x70, 0x80 // version 7, RFC 4122 variant
	return id.String()
}

func TestEventsWithoutTimeKeepTheDayOfTheirIDOnRebuild(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	var now atomic.Int64 // unix seconds
	now.Store(today.Unix())
	app := servertest.NewClient("workers")
	events.Mount(app.App(), slog.New(slog.DiscardHandler),
		consumer.New(analytics.NewService(postgres.NewStore(pool), func() time.Time { return time.Unix(now.Load(), 0) })).Subscriptions()...)
	r, err := analytics.NewRange(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	d := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	sales := func(t *testing.T) []analytics.DaySales {
		t.Helper()
		got, err := postgres.NewStore(pool).Sales(context.Background(), r)
		require.NoError(t, err)
		for i := range got {
			got[i].Day = got[i].Day.UTC()
		}
		return got
	}
	refunds := []struct{ id, data string }{
		// Completed a moment before midnight, processed days later.
		{v7(time.Date(2025, 3, 5, 23, 59, 59, 900e6, time.UTC)), `{"order_id": "00000001-0000-4000-8000-000000000000", "amount_cents": 400, "currency": "USD"}`},
		// An id that carries no time: the day it is processed.
		{"legacy-1", `{"order_id": "00000002-0000-4000-8000-000000000000", "amount_cents": 100, "currency": "USD"}`},
	}
	deliverAll := func(t *testing.T) {
		t.Helper()
		for _, e := range refunds {
			require.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicPaymentRefunded, e.id, e.data), e.id)
		}
	}

	deliverAll(t)
	assert.Equal(t, []analytics.DaySales{
		{Day: d("2025-03-05"), RefundsCents: 400},
		{Day: d("2025-03-10"), RefundsCents: 100},
	}, sales(t))

	t.Run("a rebuild on a later day keeps the refund on its day", func(t *testing.T) {
		_, err := pool.Exec(context.Background(), `DELETE FROM processed_events; DELETE FROM daily_sales`)
		require.NoError(t, err)
		now.Store(time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC).Unix())
		deliverAll(t)
		assert.Equal(t, []analytics.DaySales{
			{Day: d("2025-03-05"), RefundsCents: 400},
			{Day: d("2025-03-12"), RefundsCents: 100},
		}, sales(t))
	})
}
