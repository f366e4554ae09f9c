// Package contracts names the events the services exchange: every topic,
// the dead-letter topic and the route a subscription is delivered at. A
// producer publishes on these constants and a consumer subscribes with
// them, so a topic is spelt once.
package contracts

// The topics, grouped by the service that publishes them.
const (
	// auth
	TopicUserRegistered = "user.registered"

	// products
	TopicInventoryReserved = "inventory.reserved"
	TopicInventoryReleased = "inventory.released"
	TopicInventoryLowStock = "inventory.low_stock"

	// orders
	TopicOrderCreated   = "order.created"
	TopicOrderPaid      = "order.paid"
	TopicOrderCancelled = "order.cancelled"
	TopicOrderShipped   = "order.shipped"
	TopicOrderDelivered = "order.delivered"

	// payments
	TopicPaymentCreated   = "payment.created"
	TopicPaymentSucceeded = "payment.succeeded"
	TopicPaymentFailed    = "payment.failed"
	TopicPaymentRefunded  = "payment.refunded"

	// workers
	TopicNotificationRequested = "notification.requested"
)

// DeadLetterTopic receives the events a consumer drops.
const DeadLetterTopic = "deadletter"

// Route is the path the sidecar delivers topic's events at. Access
// policies list no event routes and the pub/sub scopes list topics, so the
// path is the app's own choice; deriving it keeps one style everywhere.
func Route(topic string) string { return "/events/" + topic }
