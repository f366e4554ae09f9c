// Command products serves the catalog: products, categories and stock.
package main

import (
	"context"
	"time"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
	"github.com/daprshop/daprshop/services/products/internal/cache"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/consumer"
	"github.com/daprshop/daprshop/services/products/internal/httpapi"
	"github.com/daprshop/daprshop/services/products/internal/metrics"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{Name: contracts.AppProducts, Port: 3002, Migrations: migrations.FS, Outbox: true},
	Wire: wire,
}

func main() { program.Main() }

// cacheOff, as CACHE_STORE, serves every read from the database.
const cacheOff = "off"

// settings are the products service's own; config.Parse reads them.
type settings struct {
	// Off by default: a cached read cost two state-store calls through
	// the sidecar (generation, then value), more than the indexed read
	// from PostgreSQL it saved (make bench: products' sidecar spent 0.56 ms
	// per read with the cache, its floor is 0.24).
	CacheStore string `env:"CACHE_STORE" default:"off" doc:"State store component caching catalog reads (cache: the Redis store of components/state/); off serves every read from the database, which on one host costs less than the two sidecar calls a cached read takes."`
	Retention  purge.Retention
}

// wire serves the catalog behind its read cache, applies the order events
// to stock and exports the stock reservations and abandoned checkouts hold.
func wire(ctx context.Context, svc *service.Service, cfg settings) error {
	cacheStore := cfg.CacheStore
	if cacheStore == cacheOff {
		cacheStore = ""
	}
	store := cache.New(postgres.NewStore(svc.DB), svc.Sidecar, cacheStore, svc.Log)
	products := catalog.NewService(store, svc.Log)
	app := svc.Server.App()
	// Subscriptions first: the sidecar calls them with its app token but no
	// user's bearer token.
	if err := svc.Subscribe(ctx, consumer.New(products).Subscriptions()...); err != nil {
		return err
	}
	purge.Mount(app, time.Now, map[string]purge.Task{
		"processed_events": purge.ProcessedEvents(svc.DB, cfg.Retention.ProcessedEvents),
		"dead_letters":     deadletter.PurgeReplayed(svc.DB, cfg.Retention.ProcessedEvents),
		"outbox":           purge.PublishedOutbox(svc.DB, cfg.Retention.PublishedOutbox),
	})
	httpapi.New(products, svc.Verifier).Register(app)
	return svc.Server.Metrics().Registry.Register(metrics.NewReservations(products, svc.Log))
}
