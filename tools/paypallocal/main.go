// Command paypallocal is an in-memory PayPal emulator for development and
// tests: the payments service's `paypal` HTTPEndpoint points at it instead
// of api-m.paypal.com. It answers the calls payments makes with PayPal's
// shapes: OAuth2 client-credentials tokens (POST /v1/oauth2/token),
// Orders v2 (create, get, capture), Refunds v2 on captures, and the
// webhook signing certificates (GET /v1/notifications/certs/{name}).
// PayPal-Request-Id makes a mutating call idempotent, as on PayPal.
//
// A buyer approves an order at its approve link (GET /checkoutnow?token=
// shows the page, POST approves it; ?funding=declined approves it with a
// funding source whose capture is then denied). Webhooks
// (CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED, .DENIED, .REFUNDED)
// are delivered with PayPal's transmission headers, signed with a
// certificate issued by a local CA (written to -ca, created once), and
// retried until the receiver answers 2xx.
//
// Test controls, unauthenticated, keeping the state:
//   - POST /_emulator/orders/{id}/approve[?funding=declined] approves as the buyer would.
//   - PUT/DELETE /_emulator/webhooks/hold withholds webhook deliveries, then
//     delivers what was held.
//   - POST /_emulator/webhooks/{id}/redeliver delivers an event again.
//   - GET /_emulator/orders/{id}/events lists the events about an order,
//     with how many of their deliveries were acknowledged.
//   - GET /_emulator/webhooks/last returns the last delivery as sent
//     (headers and body), for replay tests.
//   - POST /_emulator/tokens/expire ends every access token issued.
//   - PUT/DELETE /_emulator/outage makes every API call answer 503.
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
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:12181", "listen address")
	flag.StringVar(&cfg.webhookURL, "webhook-url", "http://127.0.0.1:3000/api/v1/payments/webhooks/paypal", "where events are delivered; empty: nowhere")
	flag.StringVar(&cfg.secretsFile, "secrets", "", "JSON file holding paypal-client-id, paypal-client-secret and paypal-webhook-id (the dev secret store)")
	flag.StringVar(&cfg.caFile, "ca", ".run/paypal-ca.pem", "the local CA's certificate (PEM), created with its key (-ca with .key) when missing")
	flag.Parse()
	if err := run(ctx, cfg); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

type config struct {
	addr, webhookURL, secretsFile, caFile string
}

func run(ctx context.Context, cfg config) error {
	if cfg.secretsFile == "" {
		return errors.New("-secrets is required")
	}
	raw, err := os.ReadFile(cfg.secretsFile)
	if err != nil {
		return fmt.Errorf("read secrets: %w", err)
	}
	var s map[string]string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("read secrets %s: %w", cfg.secretsFile, err)
	}
	if s["paypal-client-id"] == "" || s["paypal-client-secret"] == "" || s["paypal-webhook-id"] == "" {
		return errors.New("the secrets file lacks paypal-client-id, paypal-client-secret or paypal-webhook-id (run make prepare)")
	}
	signer, err := loadSigner(cfg.caFile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	em := newEmulator(options{
		ClientID: s["paypal-client-id"], ClientSecret: s["paypal-client-secret"], WebhookID: s["paypal-webhook-id"],
		WebhookURL: cfg.webhookURL, BaseURL: "http://" + cfg.addr, Signer: signer, Log: log,
	})
	srv := &http.Server{Addr: cfg.addr, Handler: em, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("paypallocal listening", "addr", cfg.addr, "webhook_url", cfg.webhookURL)
	select {
	case err := <-errc:
		em.Close()
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	em.Close()
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
