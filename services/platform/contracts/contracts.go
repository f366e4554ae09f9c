// Package contracts holds what the services agree on between them: every
// topic, each app's dead-letter topic, the route a subscription is delivered at
// and the payload of each topic; the app ids; and the internal endpoints
// one app invokes on another (internal.go). A producer publishes these
// types on these constants and a consumer subscribes with them and decodes
// the same types; an owner mounts an internal path and its caller invokes
// the same constant, so each is spelt once.
//
// Payload types carry their version in their name (OrderCreatedV1). A
// field tagged omitempty or omitzero is optional: the producer leaves it
// out when it has no value and consumers cope without it; every other
// field is always sent. Adding an optional field keeps the version. Any
// change a consumer of the version could not decode (a field removed,
// renamed, retyped or made required) is a new type, OrderCreatedV2,
// published on a new topic alongside the old one until every consumer
// moved to it; then the old topic and type go.
package contracts

// The topics, grouped by the service that publishes them.
const (
	// auth
	TopicUserRegistered = "user.registered"

	// products
	TopicInventoryReleased  = "inventory.released"
	TopicInventoryRestocked = "inventory.restocked"
	TopicInventoryLowStock  = "inventory.low_stock"

	// orders
	TopicOrderCreated   = "order.created"
	TopicOrderPaid      = "order.paid"
	TopicOrderCancelled = "order.cancelled"
	TopicOrderShipped   = "order.shipped"
	TopicOrderDelivered = "order.delivered"
	TopicOrderRefunded  = "order.refunded"

	// payments
	TopicPaymentCreated   = "payment.created"
	TopicPaymentSucceeded = "payment.succeeded"
	TopicPaymentFailed    = "payment.failed"
	TopicPaymentRefunded  = "payment.refunded"

	// workers
	TopicNotificationRequested = "notification.requested"
)

// Published lists the topics each app publishes, as grouped above. The
// outbox relay reports each of its app's topics from the start, zero
// included, so that a dashboard or a rate sees the first event of a topic
// as a change rather than as a series appearing.
var Published = map[string][]string{
	AppAuth:     {TopicUserRegistered},
	AppProducts: {TopicInventoryReleased, TopicInventoryRestocked, TopicInventoryLowStock},
	AppOrders: {TopicOrderCreated, TopicOrderPaid, TopicOrderCancelled, TopicOrderShipped,
		TopicOrderDelivered, TopicOrderRefunded},
	AppPayments: {TopicPaymentCreated, TopicPaymentSucceeded, TopicPaymentFailed,
		TopicPaymentRefunded},
	AppWorkers: {TopicNotificationRequested},
}

// DeadLetterTopic is where app's sidecar puts the events app's
// subscriptions drop or exhaust their retries on. One topic per app keeps
// each app's dead letters its own: only app may publish and read it (the
// pub/sub scopes), and app replays them through its own consumers.
func DeadLetterTopic(app string) string { return "deadletter." + app }

// Route is the path the sidecar delivers topic's events at. Access
// policies list no event routes and the pub/sub scopes list topics, so the
// path is the app's own choice; deriving it keeps one style everywhere.
func Route(topic string) string { return "/events/" + topic }
