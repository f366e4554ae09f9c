// Command payments takes payments through Stripe or PayPal: charges,
// refunds, invoices and saved cards (Stripe's).
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/daprshop/daprshop/services/payments/internal/consumer"
	"github.com/daprshop/daprshop/services/payments/internal/httpapi"
	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/paypalapi"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/payments/internal/stripeapi"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
	"github.com/daprshop/daprshop/services/platform/sidecar"
)

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{Name: contracts.AppPayments, Port: 3004, Migrations: migrations.FS, Outbox: true},
	Wire: wire,
}

func main() { program.Main() }

// Secret store keys.
const (
	secretStripeKey     = "stripe-secret-key"
	secretWebhookSecret = "stripe-webhook-secret"
	secretPayPalID      = "paypal-client-id"
	secretPayPalSecret  = "paypal-client-secret"
	// The id PayPal gave the shop's webhook: part of what it signs.
	secretPayPalWebhookID = "paypal-webhook-id"
)

// settings are the payments service's own; config.Parse reads them.
type settings struct {
	SecretStore            string        `env:"SECRET_STORE" default:"secretstore" doc:"Secret store component holding the Stripe secret key and webhook secret, and PayPal's client credentials and webhook id."`
	StripeEndpoint         string        `env:"STRIPE_ENDPOINT" default:"stripe" doc:"HTTPEndpoint component through which the sidecar reaches Stripe."`
	WebhookTolerance       time.Duration `env:"STRIPE_WEBHOOK_TOLERANCE" default:"5m" doc:"How old a Stripe webhook's signature timestamp may be."`
	StripeTimeout          time.Duration `env:"STRIPE_TIMEOUT" default:"60s" doc:"Deadline of a call to Stripe."`
	PayPalEndpoint         string        `env:"PAYPAL_ENDPOINT" default:"paypal" doc:"HTTPEndpoint component through which the sidecar reaches PayPal's REST API."`
	PayPalTimeout          time.Duration `env:"PAYPAL_TIMEOUT" default:"60s" doc:"Deadline of a call to PayPal."`
	PayPalWebhookTolerance time.Duration `env:"PAYPAL_WEBHOOK_TOLERANCE" default:"5m" doc:"How old a PayPal webhook's transmission time may be."`
	PayPalCertRoots        string        `env:"PAYPAL_CERT_ROOTS" doc:"PEM file of the CAs PayPal's webhook signing certificates must chain to; empty: the system's. Development sets the local emulator's CA."`
	PayPalReturnURL        string        `env:"PAYPAL_RETURN_URL" default:"http://127.0.0.1:3000/#/orders" doc:"Where PayPal sends the buyer back after approving a payment."`
	PayPalCancelURL        string        `env:"PAYPAL_CANCEL_URL" default:"http://127.0.0.1:3000/#/orders" doc:"Where PayPal sends the buyer who cancels at its approval page."`
	// Prices include tax; invoices split it out at this rate.
	TaxBPS int `env:"INVOICE_TAX_RATE_BPS" default:"2100" doc:"Tax rate included in prices, split out on invoices, in basis points (2100 is 21%)."`
	// Longer than a webhook normally takes, retries included.
	ReconcileAfter time.Duration `env:"RECONCILE_AFTER" default:"2m" doc:"Age past which an unsettled payment is re-read from Stripe by the reconcile job."`
	Retention      purge.Retention
}

// wire reads the Stripe secrets, then serves payments, refunds, invoices
// and saved cards, and charges or refunds on the order events.
func wire(ctx context.Context, svc *service.Service, cfg settings) error {
	secretStore := cfg.SecretStore
	secrets := map[string]string{}
	err := service.WaitFor(ctx, "read provider secrets", func(ctx context.Context) error {
		for _, key := range []string{secretStripeKey, secretWebhookSecret, secretPayPalID, secretPayPalSecret, secretPayPalWebhookID} {
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
		BaseURL: sidecar.EndpointURL(svc.Config.DaprHTTPPort, cfg.StripeEndpoint), SecretKey: secrets[secretStripeKey],
		DaprAPIToken: svc.Config.DaprAPIToken, Timeout: cfg.StripeTimeout,
	})
	paypalURL := sidecar.EndpointURL(svc.Config.DaprHTTPPort, cfg.PayPalEndpoint)
	paypal := paypalapi.New(paypalapi.Options{
		BaseURL: paypalURL, ClientID: secrets[secretPayPalID], ClientSecret: secrets[secretPayPalSecret],
		DaprAPIToken: svc.Config.DaprAPIToken, Timeout: cfg.PayPalTimeout, ReturnURL: cfg.PayPalReturnURL, CancelURL: cfg.PayPalCancelURL,
	})
	paypalWebhooks := paypalapi.NewWebhooks(paypalapi.WebhookOptions{
		WebhookID: secrets[secretPayPalWebhookID], Tolerance: cfg.PayPalWebhookTolerance,
		Roots:     paypalapi.RootsFrom(cfg.PayPalCertRoots),
		FetchCert: paypalapi.FetchCertVia(&http.Client{Timeout: cfg.PayPalTimeout}, paypalURL, svc.Config.DaprAPIToken),
	})
	flows := payments.NewService(postgres.NewStore(svc.DB), provider).WithTaxRate(cfg.TaxBPS).
		WithProvider(contracts.PaymentProviderPayPal, paypal)
	app := svc.Server.App()
	if err := svc.Subscribe(ctx, consumer.New(flows).Subscriptions()...); err != nil {
		return err
	}
	httpapi.MountReconcile(app, flows, svc.Log, cfg.ReconcileAfter, time.Now)
	purge.Mount(app, time.Now, map[string]purge.Task{
		"processed_events": purge.ProcessedEvents(svc.DB, cfg.Retention.ProcessedEvents),
		"dead_letters":     deadletter.PurgeReplayed(svc.DB, cfg.Retention.ProcessedEvents),
		"outbox":           purge.PublishedOutbox(svc.DB, cfg.Retention.PublishedOutbox),
		// Stripe gives up redelivering a webhook after three days.
		"webhook_events": purge.Older(svc.DB, "webhook_events", "received_at", cfg.Retention.ProcessedEvents),
		// Long past any verdict a cancelled order's intent could still get.
		"cancelled_orders": purge.Older(svc.DB, "cancelled_orders", "cancelled_at", cfg.Retention.ProcessedEvents),
	})
	httpapi.New(flows, stripeapi.NewWebhooks(secrets[secretWebhookSecret], cfg.WebhookTolerance), svc.Verifier).
		WithPayPal(paypalWebhooks).Register(app)
	return nil
}
