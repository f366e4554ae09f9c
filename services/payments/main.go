// Command payments takes payments through Stripe: charges, refunds,
// invoices and saved cards.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/daprshop/daprshop/services/payments/internal/consumer"
	"github.com/daprshop/daprshop/services/payments/internal/httpapi"
	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/payments/internal/stripeapi"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/events"
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

// Secret store keys.
const (
	secretStripeKey     = "stripe-secret-key"
	secretWebhookSecret = "stripe-webhook-secret"
)

func run(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	svc, err := service.Start(ctx, service.Spec{Name: "payments", Port: 3004, Migrations: migrations.FS, Outbox: true}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	secretStore := svc.Env.String("SECRET_STORE", "secretstore")
	endpoint := svc.Env.String("STRIPE_ENDPOINT", "stripe")
	tolerance := svc.Env.Duration("STRIPE_WEBHOOK_TOLERANCE", 5*time.Minute)
	stripeTimeout := svc.Env.Duration("STRIPE_TIMEOUT", 60*time.Second)
	// Prices include tax; invoices split it out at this rate.
	taxBPS := svc.Env.Int("INVOICE_TAX_RATE_BPS", 2100)
	// Payments unsettled for longer are re-read from Stripe by the cron
	// job: longer than a webhook normally takes, retries included.
	reconcileAge := svc.Env.Duration("RECONCILE_AFTER", 2*time.Minute)
	secrets := map[string]string{}
	err = service.WaitFor(ctx, "read stripe secrets", func(ctx context.Context) error {
		for _, key := range []string{secretStripeKey, secretWebhookSecret} {
			s, err := svc.Sidecar.GetSecret(ctx, secretStore, key, nil)
			if err != nil {
				return fmt.Errorf("read secret %s: %w", key, err)
			}
			if s[key] == "" {
				return fmt.Errorf("secret %s is empty", key)
			}
			secrets[key] = s[key]
		}
		return nil
	})
	if err != nil {
		return err
	}
	provider := stripeapi.New(stripeapi.Options{
		BaseURL: stripeapi.SidecarURL(svc.Config.DaprHTTPPort, endpoint), SecretKey: secrets[secretStripeKey],
		DaprAPIToken: svc.Config.DaprAPIToken, Timeout: stripeTimeout,
	})
	flows := payments.NewService(postgres.NewStore(svc.DB), provider).WithTaxRate(taxBPS)
	app := svc.Server.App()
	events.Mount(app, svc.Log, consumer.New(flows).Subscriptions()...)
	httpapi.MountReconcile(app, flows, svc.Log, reconcileAge, time.Now)
	retention := purge.RetentionFrom(svc.Env)
	purge.Mount(app, time.Now, map[string]purge.Task{
		"processed_events": purge.ProcessedEvents(svc.DB, retention.ProcessedEvents),
		"outbox":           purge.PublishedOutbox(svc.DB, retention.PublishedOutbox),
		// Stripe gives up redelivering a webhook after three days.
		"webhook_events": purge.Older(svc.DB, "webhook_events", "received_at", retention.ProcessedEvents),
		// Long past any verdict a cancelled order's intent could still get.
		"cancelled_orders": purge.Older(svc.DB, "cancelled_orders", "cancelled_at", retention.ProcessedEvents),
	})
	httpapi.New(flows, stripeapi.NewWebhooks(secrets[secretWebhookSecret], tolerance), svc.Verifier).Register(app)
	return svc.Run(ctx)
}
