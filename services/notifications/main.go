// Command notifications sends users the messages business events call
// for, on the channels they chose.
package main

import (
	"context"
	"time"

	"github.com/daprshop/daprshop/services/notifications/internal/consumer"
	"github.com/daprshop/daprshop/services/notifications/internal/httpapi"
	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/notifications/internal/sender"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
)

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{Name: contracts.AppNotifications, Port: 3005, Migrations: migrations.FS},
	Wire: wire,
}

func main() { program.Main() }

// settings are the notifications service's own; config.Parse reads them.
type settings struct {
	MaxAttempts int    `env:"NOTIFY_MAX_ATTEMPTS" default:"8" doc:"How many times one delivery is sent before it is failed (and dead-lettered)."`
	AdminEmail  string `env:"NOTIFY_ADMIN_EMAIL" default:"admin@daprshop.local" doc:"Address receiving the messages meant for the shop's admins."`
	Retention   purge.Retention
}

// wire sends the messages the subscribed events call for and serves
// users their deliveries and preferences.
func wire(ctx context.Context, svc *service.Service, cfg settings) error {
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
	return nil
}
