package products_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/products"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

// fast retries like the default, without the waits.
var fast = products.Retries{Tries: 4, FirstWait: time.Millisecond, MaxWait: time.Millisecond}

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
			c := products.NewWithBase(srv.URL, "secret", fast, slog.New(slog.DiscardHandler))
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
	c := products.NewWithBase(srv.URL, "", fast, slog.New(slog.DiscardHandler))
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
			err := products.NewWithBase(srv.URL, "secret", fast, slog.New(slog.DiscardHandler)).Release(context.Background(), orderID)
			assert.Equal(t, wantErr, err != nil, "%v", err)
		})
	}
}

// TestRetries: what products may answer otherwise next time is asked
// again, up to the tries allowed; an answer it meant is asked once.
func TestRetries(t *testing.T) {
	orderID, productID := uuid.New(), uuid.New()
	reserved := `{"order_id": "` + orderID.String() + `", "status": "reserved", "lines": []}`
	short := `{"status": 409, "code": "insufficient_stock", "product_ids": ["` + productID.String() + `"]}`
	tests := []struct {
		name      string
		answers   []int // products' status per call; the last repeats
		wantCalls int
		wantErr   func(t *testing.T, err error)
	}{
		{"reserved at once", []int{http.StatusOK}, 1, func(t *testing.T, err error) { assert.NoError(t, err) }},
		{"a refusal for stock, asked once", []int{http.StatusConflict}, 1, func(t *testing.T, err error) {
			var insufficient *orders.InsufficientStockError
			assert.ErrorAs(t, err, &insufficient)
		}},
		{"a malformed line, asked once", []int{http.StatusUnprocessableEntity}, 1, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, orders.ErrUnknownProduct)
		}},
		{"reserved after products came back", []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusOK}, 3,
			func(t *testing.T, err error) { assert.NoError(t, err) }},
		{"products down throughout", []int{http.StatusInternalServerError}, 4, func(t *testing.T, err error) {
			assert.Equal(t, apperr.Unavailable, apperr.KindOf(err))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				status := tt.answers[min(n, len(tt.answers))-1]
				w.WriteHeader(status)
				switch status {
				case http.StatusOK:
					_, _ = w.Write([]byte(reserved))
				case http.StatusConflict:
					_, _ = w.Write([]byte(short))
				default:
					_, _ = w.Write([]byte(`{"status": 0}`))
				}
			}))
			defer srv.Close()
			_, err := products.NewWithBase(srv.URL, "secret", fast, slog.New(slog.DiscardHandler)).Reserve(context.Background(), orderID, []orders.Line{{ProductID: productID, Quantity: 1}})
			tt.wantErr(t, err)
			assert.EqualValues(t, tt.wantCalls, calls.Load())
		})
	}

	t.Run("an unknown product, asked once", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusNotFound)
		}))
		defer srv.Close()
		_, err := products.NewWithBase(srv.URL, "", fast, slog.New(slog.DiscardHandler)).Product(context.Background(), productID)
		assert.ErrorIs(t, err, orders.ErrUnknownProduct)
		assert.EqualValues(t, 1, calls.Load())
	})

	t.Run("the sidecar unreachable, then back", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				// Dropped without an answer, as by a sidecar killed mid-call.
				conn, _, err := w.(http.Hijacker).Hijack()
				require.NoError(t, err)
				_ = conn.Close()
				return
			}
			_, _ = w.Write([]byte(`{}`))
		}))
		defer srv.Close()
		require.NoError(t, products.NewWithBase(srv.URL, "", fast, slog.New(slog.DiscardHandler)).Release(context.Background(), orderID))
		assert.EqualValues(t, 2, calls.Load())
	})

	t.Run("a checkout out of time while waiting to ask again stops", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		patient := products.Retries{Tries: 4, FirstWait: time.Hour, MaxWait: time.Hour}
		err := products.NewWithBase(srv.URL, "", patient, slog.New(slog.DiscardHandler)).Release(ctx, orderID)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, apperr.Unavailable, apperr.KindOf(err))
		assert.EqualValues(t, 1, calls.Load())
	})

	t.Run("no retries asked is one call", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		err := products.NewWithBase(srv.URL, "", products.Retries{}, slog.New(slog.DiscardHandler)).Release(context.Background(), orderID)
		assert.Equal(t, apperr.Unavailable, apperr.KindOf(err))
		assert.EqualValues(t, 1, calls.Load())
	})

	t.Run("a cancelled checkout stops asking", func(t *testing.T) {
		var calls atomic.Int32
		ctx, cancel := context.WithCancel(context.Background())
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			cancel()
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		err := products.NewWithBase(srv.URL, "", fast, slog.New(slog.DiscardHandler)).Release(ctx, orderID)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, apperr.Unavailable, apperr.KindOf(err))
		assert.EqualValues(t, 1, calls.Load())
	})
}
