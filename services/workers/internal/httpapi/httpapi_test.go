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

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/httpapi"
	"github.com/daprshop/daprshop/services/workers/internal/postgres"
	"github.com/daprshop/daprshop/services/workers/internal/postgres/migrations"
)

const salesPath = "/api/v1/admin/analytics/sales"

// newFixture serves the handlers over a fresh database.
func newFixture(t *testing.T) *servertest.API {
	t.Helper()
	api := servertest.NewAPI(t, "workers", migrations.FS)
	httpapi.New(analytics.NewService(postgres.NewStore(api.DB), time.Now), api.Issuer.Verifier()).Register(api.App())
	return api
}

func TestSalesIsForAdminsOnly(t *testing.T) {
	f := newFixture(t)
	query := salesPath + "?from=2025-03-01&to=2025-03-02"
	tests := []struct {
		name   string
		path   string
		token  string
		status int
	}{
		{"no token", query, "", http.StatusUnauthorized},
		{"not a jwt", query, "garbage", http.StatusUnauthorized},
		{"another issuer's admin", query, authntest.NewIssuer(t).Token(t, uuid.NewString(), authn.RoleAdmin), http.StatusUnauthorized},
		{"customer", query, f.Issuer.Token(t, uuid.NewString()), http.StatusForbidden},
		// Roles are checked before the query, so a customer learns nothing about it.
		{"customer with a bad query", salesPath, f.Issuer.Token(t, uuid.NewString()), http.StatusForbidden},
		{"admin", query, f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin), http.StatusOK},
		{"super admin", query, f.Issuer.Token(t, uuid.NewString(), authn.RoleSuperAdmin), http.StatusOK},
		{"customer who is also admin", query, f.Issuer.Token(t, uuid.NewString(), authn.RoleCustomer, authn.RoleAdmin), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.Get(t, tt.path, tt.token)
			assert.Equal(t, tt.status, r.Status, string(r.Body))
			if tt.status != http.StatusOK {
				assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
			}
		})
	}
}

func TestSalesReturnsDaysWithRowsInOrder(t *testing.T) {
	f := newFixture(t)
	_, err := f.DB.Exec(context.Background(), `INSERT INTO daily_sales (day, orders, revenue_cents, refunds_cents, items_sold) VALUES
		('2025-03-03', 4, 12000, 500, 9), ('2025-03-01', 2, 5000, 0, 3), ('2025-03-10', 1, 100, 0, 1)`)
	require.NoError(t, err)

	r := f.Get(t, salesPath+"?from=2025-03-01&to=2025-03-09", f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin))
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.JSONEq(t, `[
		{"date": "2025-03-01", "orders": 2, "revenue_cents": 5000, "refunds_cents": 0, "items_sold": 3},
		{"date": "2025-03-03", "orders": 4, "revenue_cents": 12000, "refunds_cents": 500, "items_sold": 9}
	]`, string(r.Body))

	r = f.Get(t, salesPath+"?from=2025-04-01&to=2025-04-30", f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin))
	require.Equal(t, http.StatusOK, r.Status)
	assert.JSONEq(t, `[]`, string(r.Body))
}

func TestSalesValidatesRange(t *testing.T) {
	f := newFixture(t)
	admin := f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
	tests := []struct {
		query  string
		fields []string
	}{
		{"", []string{"from", "to"}},
		{"?from=2025-03-01", []string{"to"}},
		{"?to=2025-03-01", []string{"from"}},
		{"?from=03/01/2025&to=2025-03-02", []string{"from"}},
		{"?from=2025-03-01&to=2025-02-30", []string{"to"}},
		{"?from=2025-03-01T00:00:00Z&to=tomorrow", []string{"from", "to"}},
		{"?from=2025-03-02&to=2025-03-01", []string{"to"}},
		{"?from=2023-01-01&to=2024-01-02", []string{"to"}},
		{"?from=%EF%BC%92025-03-01&to=2025-03-0%D9%A1", []string{"from", "to"}}, // fullwidth and Arabic-Indic digits
		{"?from=%2B2025-03-01&to=-2025-03-01", []string{"from", "to"}},
		{"?from=99999-01-01&to=2025-03-01", []string{"from"}},
		{"?from=2025-03-01&to=1e17", []string{"to"}},
		{"?from=2025-03-01&to=NaN", []string{"to"}},
		{"?from=2025-03-01%00&to=2025-03-01", []string{"from"}},
		{"?from=0001-01-01&to=9999-12-31", []string{"to"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.Get(t, salesPath+tt.query, admin)
			require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
			assert.Equal(t, tt.fields, r.Fields())
		})
	}
	t.Run("the far ends of the calendar are answered, not failed", func(t *testing.T) {
		for _, query := range []string{"?from=0000-01-01&to=0000-12-31", "?from=9999-01-01&to=9999-12-31"} {
			r := f.Get(t, salesPath+query, admin)
			assert.Equal(t, http.StatusOK, r.Status, string(r.Body))
		}
	})
	t.Run("a full leap year is allowed", func(t *testing.T) {
		r := f.Get(t, salesPath+"?from=2024-01-01&to=2024-12-31", admin)
		assert.Equal(t, http.StatusOK, r.Status)
	})
}
