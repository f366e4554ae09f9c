// Command stripelocal is an in-memory Stripe emulator for development and
// tests: the payments service's `stripe` HTTPEndpoint points at it instead
// of api.stripe.com. It keeps Customers, PaymentMethods, PaymentIntents and
// Refunds, answers with Stripe's object and error shapes, honours
// Idempotency-Key like Stripe does, and delivers webhooks signed like
// Stripe's (Stripe-Signature: t=…,v1=HMAC-SHA256), retrying until the
// receiver answers 2xx.
//
// Test PaymentMethods decide the outcome, like Stripe's test cards:
// pm_card_visa and pm_card_mastercard succeed, pm_card_chargeDeclined is
// declined (card_declined), pm_card_visa_chargeDeclinedInsufficientFunds is
// declined with insufficient_funds. The emulator's own pm_card_processing
// behaves like an asynchronous payment method: a confirmation answers with
// the intent processing (payment_intent.processing), which succeeds after
// -processing-delay (payment_intent.succeeded); pm_card_processing_chargeDeclined
// and pm_card_processing_chargeDeclinedInsufficientFunds fall back to
// requires_payment_method with last_payment_error instead
// (payment_intent.payment_failed). POST /v1/payment_intents/{id}/cancel
// cancels an intent that has not charged (payment_intent.canceled); a
// processing, succeeded or canceled one answers 400
// payment_intent_unexpected_state, and a canceled one can no longer be
// confirmed. GET /v1/payment_intents?customer= lists every intent (or a
// customer's) on one page, newest first. GET /v1/refunds?payment_intent=
// lists an intent's refunds (their metadata tells them apart: Stripe has
// no metadata filter) and GET /v1/refunds/{id} reads one. A refund of a charge made with
// pm_card_pendingRefund starts pending, as on Stripe, and stays pending
// until the test control below decides it; a failed refund has
// failure_reason declined and gives its amount back to the intent.
// GET /v1/events and /v1/events/{id} list
// the recent events, with pending_webhooks 0 once delivered.
//
// Test controls, unauthenticated, keeping the state:
//   - PUT /_emulator/outage makes every API call answer 503 until DELETE
//     /_emulator/outage.
//   - PUT /_emulator/webhooks/hold withholds webhook deliveries until
//     DELETE /_emulator/webhooks/hold, which delivers what was held.
//   - POST /_emulator/payment_intents/{id}/settle settles a processing
//     intent at once (409 when it is not processing).
//   - POST /_emulator/refunds/{id}/settle?status=succeeded|failed decides a
//     pending refund (refund.updated; 409 when it is not pending).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:12180", "listen address")
	flag.StringVar(&cfg.webhookURL, "webhook-url", "http://127.0.0.1:3000/api/v1/payments/webhooks/stripe", "where events are delivered; empty: nowhere")
	flag.StringVar(&cfg.secretsFile, "secrets", "", "JSON file holding stripe-secret-key and stripe-webhook-secret (the dev secret store)")
	flag.StringVar(&cfg.apiKey, "api-key", os.Getenv("STRIPE_SECRET_KEY"), "the secret key callers must present (default $STRIPE_SECRET_KEY)")
	flag.StringVar(&cfg.webhookSecret, "webhook-secret", os.Getenv("STRIPE_WEBHOOK_SECRET"), "the webhook signing secret (default $STRIPE_WEBHOOK_SECRET)")
	flag.DurationVar(&cfg.processingDelay, "processing-delay", 2*time.Second, "how long a pm_card_processing* charge stays processing")
	flag.Parse()
	if err := run(ctx, cfg); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

type config struct {
	addr, webhookURL, secretsFile, apiKey, webhookSecret string
	processingDelay                                      time.Duration
}

func run(ctx context.Context, cfg config) error {
	if cfg.secretsFile != "" {
		if err := readSecrets(cfg.secretsFile, &cfg); err != nil {
			return err
		}
	}
	if cfg.apiKey == "" || cfg.webhookSecret == "" {
		return errors.New("an API key and a webhook secret are required (-secrets, -api-key, -webhook-secret)")
	}
	if cfg.processingDelay <= 0 {
		return errors.New("-processing-delay must be positive")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	em := newEmulator(options{
		APIKey: cfg.apiKey, WebhookSecret: cfg.webhookSecret, WebhookURL: cfg.webhookURL,
		ProcessingDelay: cfg.processingDelay, Log: log,
	})
	srv := &http.Server{Addr: cfg.addr, Handler: em, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("stripelocal listening", "addr", cfg.addr, "webhook_url", cfg.webhookURL)
	select {
	case err := <-errc:
		em.Close()
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	em.Close()
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func readSecrets(path string, cfg *config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read secrets: %w", err)
	}
	var s map[string]string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("read secrets %s: %w", path, err)
	}
	if cfg.apiKey == "" {
		cfg.apiKey = s["stripe-secret-key"]
	}
	if cfg.webhookSecret == "" {
		cfg.webhookSecret = s["stripe-webhook-secret"]
	}
	return nil
}
