// Package contracts names the events the services exchange: every topic,
// each app's dead-letter topic and the route a subscription is delivered at. A
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

// DeadLetterTopic is where app's sidecar puts the events app's
// subscriptions drop or exhaust their retries on. One topic per app keeps
// each app's dead letters its own: only app may publish and read it (the
// pub/sub scopes), and app replays them through its own consumers.
func DeadLetterTopic(app string) string { return "deadletter." + app }

// Route is the path the sidecar delivers topic's events at. Access
// policies list no event routes and the pub/sub scopes list topics, so the
// path is the app's own choice; deriving it keeps one style everywhere.
func Route(topic string) string { return "/events/" + topic }
