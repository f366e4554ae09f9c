package contracts

// The app ids: the name Dapr gives each service, which a service
// invocation targets and which the callee's sidecar reports as the caller.
const (
	AppGateway       = "gateway"
	AppAuth          = "auth"
	AppProducts      = "products"
	AppOrders        = "orders"
	AppPayments      = "payments"
	AppNotifications = "notifications"
	AppWorkers       = "workers"
)

// The internal endpoints, grouped by the app serving them: routes one app
// invokes on another through Dapr, never routed by the gateway. The owner
// mounts each path behind server.OnlyCallers of its caller, and the
// caller invokes the same path, so neither can drift from the other (the
// access policies in config/access list them too).
const (
	// products, for the orders' checkout: hold stock for an order, and
	// release it under ReservationsPath/{order_id}/release.
	ReservationsPath   = "/internal/reservations"
	ReservationsCaller = AppOrders

	// products, for the workers' daily low-stock digest.
	LowStockPath   = "/internal/inventory/low-stock"
	LowStockCaller = AppWorkers

	// orders, for the workers' job expiring unpaid orders.
	ExpireOrdersPath   = "/internal/orders/expire"
	ExpireOrdersCaller = AppWorkers

	// payments, for the workers' reconciliation job.
	ReconcilePaymentsPath   = "/internal/payments/reconcile"
	ReconcilePaymentsCaller = AppWorkers

	// auth, products, orders, payments and notifications (platform/purge
	// mounts it), for the workers' purge job.
	PurgePath   = "/internal/purge"
	PurgeCaller = AppWorkers

	// products, orders, payments and notifications (platform/deadletter
	// mounts it), for the workers, who serve every service's dead letters
	// to admins: list them here, replay one under
	// DeadLettersPath/{id}/replay, or a batch under DeadLettersPath/replay.
	DeadLettersPath   = "/internal/dead-letters"
	DeadLettersCaller = AppWorkers
)
