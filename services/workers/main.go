// Command workers runs the background jobs (scheduled by cron bindings) and
// keeps the sales aggregates behind the admin reports.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/consumer"
	"github.com/daprshop/daprshop/services/workers/internal/httpapi"
	"github.com/daprshop/daprshop/services/workers/internal/jobs"
	"github.com/daprshop/daprshop/services/workers/internal/postgres"
	"github.com/daprshop/daprshop/services/workers/internal/postgres/migrations"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

// settings are the workers service's own; config.Parse reads them.
type settings struct {
	Retention purge.Retention
}

func run(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	var cfg settings
	if err := config.Parse(getenv, &cfg); err != nil {
		return err
	}
	svc, err := service.Start(ctx, service.Spec{Name: "workers", Database: "analytics", Port: 3006, Migrations: migrations.FS}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	app := svc.Server.App()
	sales := analytics.NewService(postgres.NewStore(svc.DB), time.Now)
	runner, err := jobs.NewRunner(svc.Log, svc.Server.Metrics().Registry, time.Now)
	if err != nil {
		return err
	}
	// Events and cron deliveries come from the sidecar with its app token
	// only, so they are mounted before the routes that need a user's token.
	events.Mount(app, svc.Log, consumer.New(sales).Subscriptions()...)
	// Each job is named after the cron binding (components/cron-*.yaml)
	// that triggers it; the work itself runs in the service owning the data.
	runner.Mount(app, map[string]jobs.Job{
		"cron-expire-orders":      jobs.Counted(svc.Sidecar, contracts.AppOrders, contracts.ExpireOrdersPath),
		"cron-reconcile-payments": jobs.Counted(svc.Sidecar, contracts.AppPayments, contracts.ReconcilePaymentsPath),
		"cron-purge": jobs.Purge(svc.Sidecar,
			[]string{contracts.AppAuth, contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications},
			map[string]purge.Task{"processed_events": purge.ProcessedEvents(svc.DB, cfg.Retention.ProcessedEvents)},
			time.Now),
		"cron-low-stock-digest": jobs.LowStockDigest(svc.Sidecar, svc.Sidecar, time.Now),
	})
	httpapi.New(sales, svc.Verifier).Register(app)
	return svc.Run(ctx)
}
