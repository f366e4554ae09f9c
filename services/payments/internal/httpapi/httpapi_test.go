package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/httpapi"
	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
	"github.com/daprshop/daprshop/services/payments/internal/paypalapi"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/payments/internal/stripeapi"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server"
)

type fixture struct {
	app      *fiber.App
	pool     *pgxpool.Pool
	issuer   *authntest.Issuer
	provider *paymentstest.Provider
	svc      *payments.Service
}

// newFixture serves the handlers on the platform server, so errors are
// rendered by the real problem+json error handler, over a fresh database.
func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	issuer := authntest.NewIssuer(t)
	srv := server.New(server.Options{Config: config.Base{Service: "payments"}, Logger: slog.New(slog.DiscardHandler)})
	provider := paymentstest.NewProvider()
	svc := payments.NewService(postgres.NewStore(pool), provider).WithTaxRate(2100)
	paypal := paypalapi.NewWebhooks(paypalapi.WebhookOptions{
		WebhookID: "WH-TEST", Tolerance: 5 * time.Minute, Roots: paypalapi.RootsFrom(""),
		// Hostile deliveries are refused before any certificate is fetched.
		FetchCert: func(context.Context, string) ([]byte, error) {
			return nil, errors.New("no certificate is fetched in these tests")
		},
	})
	httpapi.New(svc, stripeapi.NewWebhooks(webhookSecret, 5*time.Minute), issuer.Verifier()).WithPayPal(paypal).Register(srv.App())
	return fixture{app: srv.App(), pool: pool, issuer: issuer, provider: provider, svc: svc}
}

// insertCard saves a card for user n minutes into the test day, creating
// the user's Stripe customer on first use.
func (f fixture) insertCard(t *testing.T, user uuid.UUID, brand, last4 string, isDefault bool, n int) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	_, err := f.pool.Exec(ctx, `INSERT INTO customers (user_id, stripe_customer_id) VALUES ($1, $2)
		ON CONFLICT (user_id) DO NOTHING`, user, "cus_"+user.String())
	require.NoError(t, err)
	id := uuid.New()
	_, err = f.pool.Exec(ctx, `INSERT INTO payment_methods
		(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, is_default, created_at)
		VALUES ($1, $2, $3, $4, $5, 4, 2031, $6, $7)`,
		id, user, "pm_"+id.String(), brand, last4, isDefault, time.Date(2025, 3, 1, 0, n, 0, 0, time.UTC))
	require.NoError(t, err)
	return id
}

// send makes a request with a raw body; contentType is set when not empty.
func (f fixture) send(t *testing.T, method, path, token string, header http.Header, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for name, values := range header {
		req.Header[name] = values
	}
	if contentType != "" {
		req.Header.Set(fiber.HeaderContentType, contentType)
	}
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func (f fixture) get(t *testing.T, path, token string) (*http.Response, []byte) {
	t.Helper()
	return f.send(t, http.MethodGet, path, token, nil, "", "")
}

func TestListMethodsRefusesCallersWithoutAValidToken(t *testing.T) {
	f := newFixture(t)
	tests := map[string]string{
		"no token":           "",
		"not a jwt":          "garbage",
		"another issuer's":   authntest.NewIssuer(t).Token(t, uuid.NewString()),
		"subject not a uuid": f.issuer.Token(t, "alice"),
	}
	for name, token := range tests {
		t.Run(name, func(t *testing.T) {
			resp, _ := f.get(t, "/api/v1/payment-methods", token)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
		})
	}
}

func TestListMethodsShowsOwnCardsDefaultFirst(t *testing.T) {
	f := newFixture(t)
	alice, bob := uuid.New(), uuid.New()
	old := f.insertCard(t, alice, "visa", "4242", false, 1)
	def := f.insertCard(t, alice, "mastercard", "4444", true, 2)
	newest := f.insertCard(t, alice, "amex", "0005", false, 3)
	f.insertCard(t, bob, "visa", "1881", true, 4)

	resp, body := f.get(t, "/api/v1/payment-methods", f.issuer.Token(t, alice.String()))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var got []map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	want := []map[string]any{
		{"id": def.String(), "brand": "mastercard", "last4": "4444", "exp_month": 4.0, "exp_year": 2031.0, "default": true},
		{"id": newest.String(), "brand": "amex", "last4": "0005", "exp_month": 4.0, "exp_year": 2031.0, "default": false},
		{"id": old.String(), "brand": "visa", "last4": "4242", "exp_month": 4.0, "exp_year": 2031.0, "default": false},
	}
	assert.Equal(t, want, got)
}

func TestListMethodsWithoutCardsIsAnEmptyArray(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/api/v1/payment-methods", f.issuer.Token(t, uuid.NewString()))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `[]`, string(body))
}
