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

	"github.com/daprshop/daprshop/services/orders/internal/httpapi"
	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/orders/orderstest"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/orders/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
)

type fixture struct {
	*servertest.API
	catalog *orderstest.Catalog
}

// newFixture serves the handlers over a fresh database, with carts and
// the catalog in memory.
func newFixture(t *testing.T) fixture {
	t.Helper()
	api := servertest.NewAPI(t, "orders", migrations.FS)
	carts, catalog := orderstest.NewCarts(), orderstest.NewCatalog()
	svc := orders.NewService(postgres.NewStore(api.DB), carts, catalog, time.Now, 30*time.Minute)
	httpapi.New(svc, orders.NewCarts(carts, catalog), api.Issuer.Verifier()).Register(api.App())
	return fixture{API: api, catalog: catalog}
}

// insertOrder adds an order placed n minutes into the test day.
func (f fixture) insertOrder(t *testing.T, user uuid.UUID, status string, n int) uuid.UUID {
	t.Helper()
	id := uuid.New()
	at := time.Date(2025, 3, 1, 0, n, 0, 0, time.UTC)
	_, err := f.DB.Exec(context.Background(), `INSERT INTO orders
		(id, user_id, status, total_cents, currency, shipping_address, idempotency_key, created_at, updated_at)
		VALUES ($1, $2, $3, 4200, 'EUR', '{}', $4, $5, $5)`, id, user, status, uuid.NewString(), at)
	require.NoError(t, err)
	return id
}

type orderItem struct {
	ID         uuid.UUID `json:"id"`
	UserID     uuid.UUID `json:"user_id"`
	Status     string    `json:"status"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
	CreatedAt  time.Time `json:"created_at"`
}

type orderPage struct {
	Items    []orderItem `json:"items"`
	Total    int         `json:"total"`
	Page     int         `json:"page"`
	PageSize int         `json:"page_size"`
}

type problem struct {
	Status int                 `json:"status"`
	Errors []map[string]string `json:"errors"`
}

func itemIDs(p orderPage) []uuid.UUID {
	out := make([]uuid.UUID, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.ID
	}
	return out
}

func TestListOrdersRefusesCallersWithoutAValidToken(t *testing.T) {
	f := newFixture(t)
	other := authntest.NewIssuer(t)
	tests := map[string]string{
		"no token":           "",
		"not a jwt":          "garbage",
		"another issuer's":   other.Token(t, uuid.NewString()),
		"subject not a uuid": f.Issuer.Token(t, "alice"),
		"admin without uuid": f.Issuer.Token(t, "root", authn.RoleAdmin),
	}
	for name, token := range tests {
		t.Run(name, func(t *testing.T) {
			var p problem
			r := f.Get(t, "/api/v1/orders", token)
			r.JSON(t, &p)
			assert.Equal(t, http.StatusUnauthorized, r.Status)
			assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
			assert.Equal(t, http.StatusUnauthorized, p.Status)
		})
	}
}

func TestCustomerSeesOnlyOwnOrders(t *testing.T) {
	f := newFixture(t)
	alice, bob := uuid.New(), uuid.New()
	a1 := f.insertOrder(t, alice, "paid", 1)
	f.insertOrder(t, bob, "paid", 2)
	a2 := f.insertOrder(t, alice, "pending_payment", 3)
	token := f.Issuer.Token(t, alice.String())

	t.Run("own orders newest first", func(t *testing.T) {
		var page orderPage
		r := f.Get(t, "/api/v1/orders", token)
		r.JSON(t, &page)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, []uuid.UUID{a2, a1}, itemIDs(page))
		assert.Equal(t, 2, page.Total)
		assert.Equal(t, orderItem{
			ID: a1, UserID: alice, Status: "paid", TotalCents: 4200, Currency: "EUR",
			CreatedAt: time.Date(2025, 3, 1, 0, 1, 0, 0, time.UTC),
		}, page.Items[1])
	})
	t.Run("asking for another user still shows own", func(t *testing.T) {
		var page orderPage
		r := f.Get(t, "/api/v1/orders?user_id="+bob.String(), token)
		r.JSON(t, &page)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, []uuid.UUID{a2, a1}, itemIDs(page))
	})
	t.Run("status filter applies to own orders", func(t *testing.T) {
		var page orderPage
		r := f.Get(t, "/api/v1/orders?status=paid", token)
		r.JSON(t, &page)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, []uuid.UUID{a1}, itemIDs(page))
	})
	t.Run("a user without orders gets an empty page", func(t *testing.T) {
		var page orderPage
		r := f.Get(t, "/api/v1/orders", f.Issuer.Token(t, uuid.NewString()))
		r.JSON(t, &page)
		require.Equal(t, http.StatusOK, r.Status)
		assert.NotNil(t, page.Items)
		assert.Empty(t, page.Items)
		assert.Zero(t, page.Total)
	})
}

func TestAdminsSeeAllOrdersAndFilter(t *testing.T) {
	f := newFixture(t)
	alice, bob := uuid.New(), uuid.New()
	a1 := f.insertOrder(t, alice, "paid", 1)
	b1 := f.insertOrder(t, bob, "paid", 2)
	b2 := f.insertOrder(t, bob, "cancelled", 3)

	for _, role := range []string{authn.RoleAdmin, authn.RoleSuperAdmin} {
		token := f.Issuer.Token(t, uuid.NewString(), role)
		tests := []struct {
			query string
			want  []uuid.UUID
		}{
			{"", []uuid.UUID{b2, b1, a1}},
			{"?user_id=" + bob.String(), []uuid.UUID{b2, b1}},
			{"?status=paid", []uuid.UUID{b1, a1}},
			{"?user_id=" + bob.String() + "&status=paid", []uuid.UUID{b1}},
		}
		for _, tt := range tests {
			t.Run(role+tt.query, func(t *testing.T) {
				var page orderPage
				r := f.Get(t, "/api/v1/orders"+tt.query, token)
				r.JSON(t, &page)
				require.Equal(t, http.StatusOK, r.Status)
				assert.Equal(t, tt.want, itemIDs(page))
				assert.Equal(t, len(tt.want), page.Total)
			})
		}
	}
}

func TestListOrdersValidatesQuery(t *testing.T) {
	f := newFixture(t)
	admin := f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
	tests := []struct {
		query  string
		fields []string
	}{
		{"?user_id=42", []string{"user_id"}},
		{"?status=lost", []string{"status"}},
		{"?status=PAID", []string{"status"}},
		{"?user_id=42&status=lost", []string{"user_id", "status"}},
		{"?page=0", []string{"page"}},
		{"?page_size=101", []string{"page_size"}},
		{"?page=-1", []string{"page"}},
		{"?page=1e17", []string{"page"}},
		{"?page=99999999999999999999", []string{"page"}},
		{"?page=%EF%BC%91&page_size=1e3", []string{"page", "page_size"}},
		{"?page=NaN&page_size=%2B1", []string{"page", "page_size"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var p problem
			r := f.Get(t, "/api/v1/orders"+tt.query, admin)
			r.JSON(t, &p)
			require.Equal(t, http.StatusUnprocessableEntity, r.Status)
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e["field"])
				assert.NotEmpty(t, e["message"])
			}
			assert.Equal(t, tt.fields, fields)
		})
	}
}

func TestListOrdersPages(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	var newestFirst []uuid.UUID
	for n := range 5 {
		newestFirst = append([]uuid.UUID{f.insertOrder(t, user, "paid", n)}, newestFirst...)
	}
	token := f.Issuer.Token(t, user.String())
	tests := []struct {
		query    string
		want     []uuid.UUID
		page     int
		pageSize int
	}{
		{"", newestFirst, 1, 20},
		{"?page_size=2", newestFirst[:2], 1, 2},
		{"?page=2&page_size=2", newestFirst[2:4], 2, 2},
		{"?page=3&page_size=2", newestFirst[4:], 3, 2},
		{"?page=4&page_size=2", []uuid.UUID{}, 4, 2},
		{"?page=1000000000&page_size=100", []uuid.UUID{}, 1000000000, 100},
		{"?page=9223372036854775807&page_size=100", []uuid.UUID{}, 9223372036854775807, 100},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var page orderPage
			r := f.Get(t, "/api/v1/orders"+tt.query, token)
			r.JSON(t, &page)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, tt.want, itemIDs(page))
			assert.Equal(t, 5, page.Total)
			assert.Equal(t, tt.page, page.Page)
			assert.Equal(t, tt.pageSize, page.PageSize)
		})
	}
}
