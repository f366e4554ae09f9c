package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPairDeliveries(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := []outboxRow{
		{ID: "e1", Topic: "order.created", Created: t0},
		{ID: "e2", Topic: "order.created", Created: t0.Add(time.Second)},
		{ID: "e3", Topic: "payment.succeeded", Created: t0},
	}
	recorded := []processedRow{
		{Consumer: "payments", EventID: "e1", Processed: t0.Add(20 * time.Millisecond)},
		{Consumer: "orders", EventID: "e3", Processed: t0.Add(5 * time.Millisecond)},
		{Consumer: "workers", EventID: "e3", Processed: t0.Add(40 * time.Millisecond)},
		{Consumer: "orders", EventID: "from another load", Processed: t0},
	}
	got, missing := pairDeliveries(events, recorded)
	assert.ElementsMatch(t, []delivery{
		{topic: "order.created", consumer: "payments", delay: 20 * time.Millisecond},
		{topic: "payment.succeeded", consumer: "orders", delay: 5 * time.Millisecond},
		{topic: "payment.succeeded", consumer: "workers", delay: 40 * time.Millisecond},
	}, got)
	assert.Equal(t, 1, missing, "payments has recorded order.created e1, not yet e2")
	assert.Equal(t, 40*time.Millisecond, deliveryP99(got))
}
