package products_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/products"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

func TestReserve(t *testing.T) {
	orderID, productID := uuid.New(), uuid.New()
	tests := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, r orders.Reservation, err error)
	}{
		{"reserved", http.StatusOK, `{"order_id": "` + orderID.String() + `", "status": "reserved", "lines": [{"product_id": "` + productID.String() + `", "name": "Mug", "quantity": 2, "unit_price_cents": 450, "currency": "USD"}]}`,
			func(t *testing.T, r orders.Reservation, err error) {
				require.NoError(t, err)
				assert.Equal(t, orders.Reservation{Status: "reserved", Lines: []orders.ReservedLine{{ProductID: productID, Name: "Mug", Quantity: 2, UnitPriceCents: 450, Currency: "USD"}}}, r)
			}},
		{"insufficient stock", http.StatusConflict, `{"status": 409, "code": "insufficient_stock", "product_ids": ["` + productID.String() + `"]}`,
			func(t *testing.T, _ orders.Reservation, err error) {
				var short *orders.InsufficientStockError
				require.ErrorAs(t, err, &short)
				assert.Equal(t, []uuid.UUID{productID}, short.ProductIDs)
			}},
		{"products failing", http.StatusInternalServerError, `{"status": 500}`,
			func(t *testing.T, _ orders.Reservation, err error) {
				assert.Equal(t, apperr.Unavailable, apperr.KindOf(err))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/internal/reservations", r.URL.Path)
				assert.Equal(t, "secret", r.Header.Get("dapr-api-token"))
				var in struct {
					OrderID uuid.UUID `json:"order_id"`
					Lines   []struct {
						ProductID uuid.UUID `json:"product_id"`
						Quantity  int       `json:"quantity"`
					} `json:"lines"`
				}
				assert.NoError(t, json.NewDecoder(r.Body).Decode(&in))
				assert.Equal(t, orderID, in.OrderID)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := products.NewWithBase(srv.URL, "secret")
			r, err := c.Reserve(context.Background(), orderID, []orders.Line{{ProductID: productID, Quantity: 2}})
			tt.check(t, r, err)
		})
	}
}

func TestProduct(t *testing.T) {
	known := uuid.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/products/"+known.String() {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(`{"id": "` + known.String() + `", "name": "Mug", "price_cents": 450, "currency": "USD", "active": true}`))
	}))
	defer srv.Close()
	c := products.NewWithBase(srv.URL, "")
	p, err := c.Product(context.Background(), known)
	require.NoError(t, err)
	assert.Equal(t, orders.Product{ID: known, Name: "Mug", PriceCents: 450, Currency: "USD", Active: true}, p)
	_, err = c.Product(context.Background(), uuid.New())
	assert.ErrorIs(t, err, orders.ErrUnknownProduct)
}

func TestRelease(t *testing.T) {
	orderID := uuid.New()
	for status, wantErr := range map[int]bool{
		http.StatusOK:                  false,
		http.StatusNotFound:            false, // nothing was reserved
		http.StatusConflict:            true,  // committed: an order exists after all
		http.StatusInternalServerError: true,
	} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "/internal/reservations/"+orderID.String()+"/release", r.URL.Path)
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"status": 0}`))
			}))
			defer srv.Close()
			err := products.NewWithBase(srv.URL, "secret").Release(context.Background(), orderID)
			assert.Equal(t, wantErr, err != nil, "%v", err)
		})
	}
}
