package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/notifications/internal/httpapi"
	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
)

type fixture struct{ *servertest.API }

// newFixture serves the handlers over a fresh database.
func newFixture(t *testing.T) fixture {
	t.Helper()
	api := servertest.NewAPI(t, "notifications", migrations.FS)
	httpapi.New(notifications.NewService(postgres.NewStore(api.DB), nil, notifications.Options{}), api.Issuer.Verifier()).Register(api.App())
	return fixture{api}
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
	_, err := f.DB.Exec(context.Background(), `INSERT INTO deliveries
		(id, user_id, channel, template, recipient, status, event_id, created_at, sent_at)
		VALUES ($1, $2, $3, 'order.paid', 'r', $4, $5, $6, $7)`, id, user, channel, status, uuid.NewString(), at, sentAt)
	require.NoError(t, err)
	return id
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
		"subject not a uuid": f.Issuer.Token(t, "alice"),
	}
	for _, path := range []string{"/api/v1/notifications", "/api/v1/notifications/preferences"} {
		for name, token := range tokens {
			t.Run(path+" "+name, func(t *testing.T) {
				r := f.Get(t, path, token)
				assert.Equal(t, http.StatusUnauthorized, r.Status)
				assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
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
	token := f.Issuer.Token(t, alice.String())

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
			r := f.Get(t, "/api/v1/notifications"+tt.query, token)
			require.Equal(t, http.StatusOK, r.Status)
			r.JSON(t, &page)
			want := make([]string, len(tt.want))
			for i, id := range tt.want {
				want[i] = id.String()
			}
			assert.Equal(t, want, page.ids())
			assert.Equal(t, 3, page.Total)
		})
	}

	var page deliveryPage
	f.Get(t, "/api/v1/notifications", token).JSON(t, &page)
	assert.Equal(t, map[string]any{
		"id": a2.String(), "channel": "sms", "template": "order.paid", "status": "skipped",
		"created_at": "2025-03-01T00:03:00Z",
	}, page.Items[1])
}

func TestListDeliveriesValidatesPaging(t *testing.T) {
	f := newFixture(t)
	token := f.Issuer.Token(t, uuid.NewString())
	for _, query := range []string{
		"?page=x&page_size=0", "?page=-1&page_size=1e3", "?page=1e17&page_size=-5",
		"?page=99999999999999999999&page_size=101", "?page=%D9%A1&page_size=Inf",
	} {
		t.Run(query, func(t *testing.T) {
			var p struct {
				Errors []map[string]string `json:"errors"`
			}
			r := f.Get(t, "/api/v1/notifications"+query, token)
			require.Equal(t, http.StatusUnprocessableEntity, r.Status)
			r.JSON(t, &p)
			require.Len(t, p.Errors, 2)
			assert.Equal(t, "page", p.Errors[0]["field"])
			assert.Equal(t, "page_size", p.Errors[1]["field"])
		})
	}
}

func TestGetPreferences(t *testing.T) {
	f := newFixture(t)
	chose, never := uuid.New(), uuid.New()
	_, err := f.DB.Exec(context.Background(),
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
			r := f.Get(t, "/api/v1/notifications/preferences", f.Issuer.Token(t, tt.user.String()))
			require.Equal(t, http.StatusOK, r.Status)
			r.JSON(t, &got)
			assert.Equal(t, tt.want, got)
		})
	}
}
