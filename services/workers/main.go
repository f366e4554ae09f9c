// Command workers runs the background jobs (scheduled by cron bindings) and
// keeps the sales aggregates behind the admin reports.
package main

import (
	"context"
	"time"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/consumer"
	"github.com/daprshop/daprshop/services/workers/internal/deadletters"
	"github.com/daprshop/daprshop/services/workers/internal/httpapi"
	"github.com/daprshop/daprshop/services/workers/internal/jobs"
	"github.com/daprshop/daprshop/services/workers/internal/postgres"
	"github.com/daprshop/daprshop/services/workers/internal/postgres/migrations"
)

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{Name: contracts.AppWorkers, Database: "analytics", Port: 3006, Migrations: migrations.FS},
	Wire: wire,
}

func main() { program.Main() }

// deadLetterApps are the other services with subscriptions, whose dead
// letters the workers serve to admins (auth subscribes to nothing).
var deadLetterApps = []string{contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications}

// settings are the workers service's own; config.Parse reads them.
type settings struct {
	Retention purge.Retention
}

// wire mounts the scheduled jobs and keeps the sales aggregates from the
// order and payment events.
func wire(ctx context.Context, svc *service.Service, cfg settings) error {
	app := svc.Server.App()
	sales := analytics.NewService(postgres.NewStore(svc.DB), time.Now)
	runner, err := jobs.NewRunner(svc.Log, svc.Server.Metrics().Registry, time.Now)
	if err != nil {
		return err
	}
	// Events and cron deliveries come from the sidecar with its app token
	// only, so they are mounted before the routes that need a user's token.
	if err := svc.Subscribe(ctx, consumer.New(sales).Subscriptions()...); err != nil {
		return err
	}
	// Each job is named after the cron binding (components/common/cron-*.yaml)
	// that triggers it; the work itself runs in the service owning the data.
	runner.Mount(app, map[string]jobs.Job{
		"cron-expire-orders":      jobs.Counted(svc.Sidecar, contracts.AppOrders, contracts.ExpireOrdersPath),
		"cron-reconcile-payments": jobs.Counted(svc.Sidecar, contracts.AppPayments, contracts.ReconcilePaymentsPath),
		"cron-purge": jobs.Purge(svc.Sidecar,
			[]string{contracts.AppAuth, contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications},
			map[string]purge.Task{
				"processed_events": purge.ProcessedEvents(svc.DB, cfg.Retention.ProcessedEvents),
				"dead_letters":     deadletter.PurgeReplayed(svc.DB, cfg.Retention.ProcessedEvents),
			},
			time.Now),
		"cron-low-stock-digest": jobs.LowStockDigest(svc.Sidecar, svc.Sidecar, time.Now),
	})
	httpapi.New(sales, svc.Verifier).Register(app)
	// The workers' own letters are read in process; the others' through
	// the sidecar (a self-invocation would carry no caller to check).
	sources := map[string]deadletters.Source{contracts.AppWorkers: svc.DeadLetters}
	for _, name := range deadLetterApps {
		sources[name] = deadletters.NewRemote(svc.Config.DaprHTTPPort, svc.Config.DaprAPIToken, name)
	}
	httpapi.NewDeadLetters(deadletters.New(sources, svc.Log), svc.Verifier).Register(app)
	return nil
}
