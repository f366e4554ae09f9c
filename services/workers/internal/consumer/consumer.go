// Package consumer receives order and payment events and hands each to the
// analytics service, answering Dapr SUCCESS, RETRY or DROP.
package consumer

import (
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
)

// Consumer handles the subscribed events.
type Consumer struct{ svc *analytics.Service }

// New returns a Consumer applying events with svc.
func New(svc *analytics.Service) *Consumer { return &Consumer{svc: svc} }

// Subscriptions lists the topics to mount with events.Mount. Figures that
// can never be counted are dropped.
func (c *Consumer) Subscriptions() []events.Subscription {
	return []events.Subscription{
		{Topic: contracts.TopicOrderPaid, Route: contracts.Route(contracts.TopicOrderPaid), Handler: events.Apply(c.svc.OrderPaid, analytics.ErrNegative)},
		{Topic: contracts.TopicPaymentRefunded, Route: contracts.Route(contracts.TopicPaymentRefunded), Handler: events.Apply(c.svc.PaymentRefunded, analytics.ErrNegative)},
	}
}
