package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/notifications/internal/httpapi"
	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server"
)

type fixture struct {
	app    *fiber.App
	pool   *pgxpool.Pool
	issuer *authntest.Issuer
}

// newFixture serves the handlers on the platform server, so errors are
// rendered by the real problem+json error handler, over a fresh database.
func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	issuer := authntest.NewIssuer(t)
	srv := server.New(server.Options{Config: config.Base{Service: "notifications"}, Logger: slog.New(slog.DiscardHandler)})
	httpapi.New(notifications.NewService(postgres.NewStore(pool), nil, notifications.Options{}), issuer.Verifier()).Register(srv.App())
	return fixture{app: srv.App(), pool: pool, issuer: issuer}
}

// insertDelivery adds a delivery n minutes into the test day.
func (f fixture) insertDelivery(t *testing.T, user uuid.UUID, channel, status string, n int) uuid.UUID {
	t.Helper()
	id := uuid.New()
	at := time.Date(2025, 3, 1, 0, n, 0, 0, time.UTC)
	var sentAt *time.Time
	if status == "sent" {
		sentAt = &at
	}
	_, err := f.pool.Exec(context.Background(), `INSERT INTO deliveries
		(id, user_id, channel, template, recipient, status, event_id, created_at, sent_at)
		VALUES ($1, $2, $3, 'order.paid', 'r', $4, $5, $6, $7)`, id, user, channel, status, uuid.NewString(), at, sentAt)
	require.NoError(t, err)
	return id
}

func (f fixture) get(t *testing.T, path, token string, out any) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), string(body))
	}
	return resp
}

type deliveryPage struct {
	Items    []map[string]any `json:"items"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	PageSize int              `json:"page_size"`
}

func (p deliveryPage) ids() []string {
	out := make([]string, len(p.Items))
	for i, it := range p.Items {
		out[i], _ = it["id"].(string)
	}
	return out
}

func TestRoutesRefuseCallersWithoutAValidToken(t *testing.T) {
	f := newFixture(t)
	tokens := map[string]string{
		"no token":           "",
		"not a jwt":          "garbage",
		"another issuer's":   authntest.NewIssuer(t).Token(t, uuid.NewString()),
		"subject not a uuid": f.issuer.Token(t, "alice"),
	}
	for _, path := range []string{"/api/v1/notifications", "/api/v1/notifications/preferences"} {
		for name, token := range tokens {
			t.Run(path+" "+name, func(t *testing.T) {
				resp := f.get(t, path, token, nil)
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
				assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
			})
		}
	}
}

func TestListDeliveriesShowsOwnNewestFirstInPages(t *testing.T) {
	f := newFixture(t)
	alice, bob := uuid.New(), uuid.New()
	a1 := f.insertDelivery(t, alice, "email", "sent", 1)
	f.insertDelivery(t, bob, "email", "sent", 2)
	a2 := f.insertDelivery(t, alice, "sms", "skipped", 3)
	a3 := f.insertDelivery(t, alice, "push", "queued", 4)
	token := f.issuer.Token(t, alice.String())

	tests := []struct {
		query string
		want  []uuid.UUID
	}{
		{"", []uuid.UUID{a3, a2, a1}},
		{"?page_size=2", []uuid.UUID{a3, a2}},
		{"?page=2&page_size=2", []uuid.UUID{a1}},
		{"?page=3&page_size=2", []uuid.UUID{}},
		{"?page=1000000000&page_size=100", []uuid.UUID{}},
		{"?page=9223372036854775807&page_size=100", []uuid.UUID{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var page deliveryPage
			resp := f.get(t, "/api/v1/notifications"+tt.query, token, &page)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			want := make([]string, len(tt.want))
			for i, id := range tt.want {
				want[i] = id.String()
			}
			assert.Equal(t, want, page.ids())
			assert.Equal(t, 3, page.Total)
		})
	}

	var page deliveryPage
	f.get(t, "/api/v1/notifications", token, &page)
	assert.Equal(t, map[string]any{
		"id": a2.String(), "channel": "sms", "template": "order.paid", "status": "skipped",
		"created_at": "2025-03-01T00:03:00Z",
	}, page.Items[1])
}

func TestListDeliveriesValidatesPaging(t *testing.T) {
	f := newFixture(t)
	token := f.issuer.Token(t, uuid.NewString())
	for _, query := range []string{
		"?page=x&page_size=0", "?page=-1&page_size=1e3", "?page=1e17&page_size=-5",
		"?page=99999999999999999999&page_size=101", "?page=%D9%A1&page_size=Inf",
	} {
		t.Run(query, func(t *testing.T) {
			var p struct {
				Errors []map[string]string `json:"errors"`
			}
			resp := f.get(t, "/api/v1/notifications"+query, token, &p)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Len(t, p.Errors, 2)
			assert.Equal(t, "page", p.Errors[0]["field"])
			assert.Equal(t, "page_size", p.Errors[1]["field"])
		})
	}
}

func TestGetPreferences(t *testing.T) {
	f := newFixture(t)
	chose, never := uuid.New(), uuid.New()
	_, err := f.pool.Exec(context.Background(),
		`INSERT INTO preferences (user_id, email, sms, push) VALUES ($1, false, true, true)`, chose)
	require.NoError(t, err)

	tests := []struct {
		name string
		user uuid.UUID
		want map[string]bool
	}{
		{"stored choice", chose, map[string]bool{"email": false, "sms": true, "push": true}},
		{"defaults without a row", never, map[string]bool{"email": true, "sms": false, "push": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]bool
			resp := f.get(t, "/api/v1/notifications/preferences", f.issuer.Token(t, tt.user.String()), &got)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tt.want, got)
		})
	}
}
