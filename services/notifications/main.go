// Command notifications sends users the messages business events call
// for, on the channels they chose.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/daprshop/daprshop/services/notifications/internal/consumer"
	"github.com/daprshop/daprshop/services/notifications/internal/httpapi"
	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/notifications/internal/sender"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

// settings are the notifications service's own; config.Parse reads them.
type settings struct {
	MaxAttempts int    `env:"NOTIFY_MAX_ATTEMPTS" default:"8" doc:"How many times one delivery is sent before it is failed (and dead-lettered)."`
	AdminEmail  string `env:"NOTIFY_ADMIN_EMAIL" default:"admin@daprshop.local" doc:"Address receiving the messages meant for the shop's admins."`
	Retention   purge.Retention
}

func run(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	var cfg settings
	if err := config.Parse(getenv, &cfg); err != nil {
		return err
	}
	svc, err := service.Start(ctx, service.Spec{Name: "notifications", Port: 3005, Migrations: migrations.FS}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	app := svc.Server.App()
	notifier := notifications.NewService(postgres.NewStore(svc.DB), sender.New(svc.Sidecar), notifications.Options{
		MaxAttempts: cfg.MaxAttempts,
		AdminEmail:  cfg.AdminEmail,
		Log:         svc.Log,
		Now:         time.Now,
	})
	// Subscriptions first: the sidecar calls them with its app token but no
	// user's bearer token, so no route group's auth may come before them.
	if err := svc.Subscribe(ctx, consumer.New(notifier).Subscriptions()...); err != nil {
		return err
	}
	purge.Mount(app, time.Now, map[string]purge.Task{
		"processed_events": purge.ProcessedEvents(svc.DB, cfg.Retention.ProcessedEvents),
		"dead_letters":     deadletter.PurgeReplayed(svc.DB, cfg.Retention.ProcessedEvents),
	})
	httpapi.New(notifier, svc.Verifier).Register(app)
	return svc.Run(ctx)
}
