// Command orders serves orders: checkout, order history and the order
// state machine.
package main

import (
	"context"
	"time"

	"github.com/daprshop/daprshop/services/orders/internal/cartstate"
	"github.com/daprshop/daprshop/services/orders/internal/consumer"
	"github.com/daprshop/daprshop/services/orders/internal/httpapi"
	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/orders/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/orders/internal/products"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
)

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{Name: contracts.AppOrders, Port: 3003, Migrations: migrations.FS, Outbox: true},
	Wire: wire,
}

func main() { program.Main() }

// settings are the orders service's own; config.Parse reads them.
type settings struct {
	CartStore               string        `env:"CART_STORE" default:"statestore" doc:"State store component holding the carts."`
	PaymentTimeout          time.Duration `env:"ORDER_PAYMENT_TIMEOUT" default:"30m" doc:"How long an order awaits its payment before it expires."`
	IdempotencyKeyRetention time.Duration `env:"IDEMPOTENCY_KEY_RETENTION" default:"24h" doc:"How long a checkout's Idempotency-Key is kept: as long as Stripe keeps its keys."`
	Retention               purge.Retention
}

// wire serves carts, checkout and orders, and applies the payment events
// to them.
func wire(ctx context.Context, svc *service.Service, cfg settings) error {
	catalog := products.New(svc.Config.DaprHTTPPort, svc.Config.DaprAPIToken, svc.Log)
	carts := cartstate.New(svc.Sidecar, cfg.CartStore)
	orderService := orders.NewService(postgres.NewStore(svc.DB), carts, catalog, time.Now, cfg.PaymentTimeout)
	app := svc.Server.App()
	// Subscriptions first: the sidecar calls them with its app token but no
	// user's bearer token.
	if err := svc.Subscribe(ctx, consumer.New(orderService, svc.Log).Subscriptions()...); err != nil {
		return err
	}
	purge.Mount(app, time.Now, map[string]purge.Task{
		"processed_events": purge.ProcessedEvents(svc.DB, cfg.Retention.ProcessedEvents),
		"dead_letters":     deadletter.PurgeReplayed(svc.DB, cfg.Retention.ProcessedEvents),
		"outbox":           purge.PublishedOutbox(svc.DB, cfg.Retention.PublishedOutbox),
		// As long as Stripe keeps its keys.
		"idempotency_keys": postgres.SpentIdempotencyKeys(svc.DB, cfg.IdempotencyKeyRetention),
	})
	httpapi.New(orderService, orders.NewCarts(carts, catalog), svc.Verifier).Register(app)
	return nil
}
