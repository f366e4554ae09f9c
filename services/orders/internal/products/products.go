// Package products calls the products service through the Dapr sidecar's
// HTTP invocation API, which hands back the callee's status code and body
// as they were (the gRPC API folds them into an error string).
//
// The client retries, not the sidecar: Dapr 1.14 retries every answer
// outside 200–399 under a retry policy (matching status codes came in
// 1.15), so a refusal for stock, an unknown product or a release of
// nothing waited through three retries, about 2.4 s, and cost products
// four answers. Only what may answer otherwise next time is tried again:
// products or the sidecar unreachable, or a 5xx.
package products

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/google/uuid"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/logging"
)

// Client invokes products.
type Client struct {
	http     *http.Client
	base     string // http://127.0.0.1:<dapr http port>/v1.0/invoke/products/method
	apiToken string
	retries  Retries
	log      *slog.Logger
}

// Retries says how a call products did not answer is tried again: up to
// Tries calls in all (at least one), waiting FirstWait, then 1.5 times
// longer each time (±50 %), at most MaxWait; the waits of the Resiliency
// policy it replaces.
type Retries struct {
	Tries              uint
	FirstWait, MaxWait time.Duration
}

// DefaultRetries wait about 2.4 s in all (3.5 s at most): long enough for
// name resolution to drop a killed replica, as the Resiliency policy did.
var DefaultRetries = Retries{Tries: 4, FirstWait: 500 * time.Millisecond, MaxWait: 2 * time.Second}

// New returns a Client on the sidecar at daprHTTPPort, authenticating with
// apiToken (empty when the sidecar wants none); log tells of retries.
func New(daprHTTPPort int, apiToken string, log *slog.Logger) *Client {
	return NewWithBase(fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method", daprHTTPPort, contracts.AppProducts), apiToken, DefaultRetries, log)
}

// NewWithBase returns a Client on base, the URL the method paths are
// appended to (tests serve it themselves).
func NewWithBase(base, apiToken string, retries Retries, log *slog.Logger) *Client {
	retries.Tries = max(retries.Tries, 1) // backoff reads 0 as no limit
	// A client span per call, whose traceparent the sidecar continues.
	transport := otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return "invoke products " + r.Method
	}))
	return &Client{http: &http.Client{Transport: transport}, base: base, apiToken: apiToken, retries: retries, log: log}
}

// errUnavailable is what callers see when products cannot answer.
var errUnavailable = apperr.New(apperr.Unavailable, "the catalog is unavailable")

// answer is what products answered a call.
type answer struct {
	status int
	body   []byte
}

// call sends body (nil for none) to path and returns the status and body,
// trying again while products cannot answer (every call is idempotent).
func (c *Client) call(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("encode %s request: %w", path, err)
		}
		payload = b
	}
	wait := backoff.NewExponentialBackOff()
	wait.InitialInterval, wait.MaxInterval = c.retries.FirstWait, c.retries.MaxWait
	a, err := backoff.Retry(ctx, func() (answer, error) {
		a, err := c.try(ctx, method, path, payload)
		if err == nil && a.status >= http.StatusInternalServerError {
			// Kept for the last try: its answer is what the caller reads.
			return a, unexpected(path, a.status, a.body)
		}
		return a, err
	}, backoff.WithBackOff(wait), backoff.WithMaxTries(c.retries.Tries), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			c.log.WarnContext(ctx, "products call retried", "path", path, "err", err, "retry_in", next.String())
		}))
	if err != nil {
		// A caller gone or out of time, during a try or a wait, is told so
		// whatever products last answered.
		if cause := context.Cause(ctx); cause != nil {
			return 0, nil, errors.Join(errUnavailable, fmt.Errorf("invoke products %s: %w", path, cause))
		}
		if a.status == 0 {
			return 0, nil, err
		}
	}
	return a.status, a.body, nil
}

// try calls products once.
func (c *Client) try(ctx context.Context, method, path string, payload []byte) (answer, error) {
	var r io.Reader
	if payload != nil {
		r = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return answer{}, backoff.Permanent(fmt.Errorf("new %s request: %w", path, err))
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiToken != "" {
		req.Header.Set("dapr-api-token", c.apiToken)
	}
	if id := logging.RequestID(ctx); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, errors.Join(errUnavailable, fmt.Errorf("invoke products %s: %w", path, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, errors.Join(errUnavailable, fmt.Errorf("read products %s answer: %w", path, err))
	}
	return answer{resp.StatusCode, b}, nil
}

func unexpected(path string, status int, body []byte) error {
	const maxShown = 200
	if len(body) > maxShown {
		body = body[:maxShown]
	}
	return errors.Join(errUnavailable, fmt.Errorf("products %s answered %d: %s", path, status, body))
}

type productJSON struct {
	ID         uuid.UUID `json:"id"`
	Name       string    `json:"name"`
	PriceCents int64     `json:"price_cents"`
	Currency   string    `json:"currency"`
	Active     bool      `json:"active"`
}

// Product reads a product from the public catalog route; a missing one is
// orders.ErrUnknownProduct.
func (c *Client) Product(ctx context.Context, id uuid.UUID) (orders.Product, error) {
	path := "/api/v1/products/" + id.String()
	status, body, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return orders.Product{}, err
	}
	switch {
	case status == http.StatusNotFound:
		return orders.Product{}, orders.ErrUnknownProduct
	case status != http.StatusOK:
		return orders.Product{}, unexpected(path, status, body)
	}
	var p productJSON
	if err := json.Unmarshal(body, &p); err != nil {
		return orders.Product{}, fmt.Errorf("decode product %s: %w", id, err)
	}
	return orders.Product(p), nil
}

type reserveRequest struct {
	OrderID uuid.UUID     `json:"order_id"`
	Lines   []lineRequest `json:"lines"`
}

type lineRequest struct {
	ProductID uuid.UUID `json:"product_id"`
	Quantity  int       `json:"quantity"`
}

type reservationJSON struct {
	Status string `json:"status"`
	Lines  []struct {
		ProductID      uuid.UUID `json:"product_id"`
		Name           string    `json:"name"`
		Quantity       int       `json:"quantity"`
		UnitPriceCents int64     `json:"unit_price_cents"`
		Currency       string    `json:"currency"`
	} `json:"lines"`
}

type problemJSON struct {
	Code       string      `json:"code"`
	ProductIDs []uuid.UUID `json:"product_ids"`
}

// Reserve holds stock for orderID; idempotent per order id on products'
// side, so retrying it is safe. A refusal for lack of stock is
// *orders.InsufficientStockError.
func (c *Client) Reserve(ctx context.Context, orderID uuid.UUID, lines []orders.Line) (orders.Reservation, error) {
	in := reserveRequest{OrderID: orderID, Lines: make([]lineRequest, len(lines))}
	for i, l := range lines {
		in.Lines[i] = lineRequest(l)
	}
	status, body, err := c.call(ctx, http.MethodPost, contracts.ReservationsPath, in)
	if err != nil {
		return orders.Reservation{}, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusConflict, http.StatusUnprocessableEntity:
		var p problemJSON
		if json.Unmarshal(body, &p) == nil && p.Code == orders.CodeInsufficientStock {
			return orders.Reservation{}, &orders.InsufficientStockError{ProductIDs: p.ProductIDs}
		}
		if status == http.StatusUnprocessableEntity {
			// A malformed line: a product id that names nothing for sale.
			return orders.Reservation{}, orders.ErrUnknownProduct
		}
		return orders.Reservation{}, unexpected(contracts.ReservationsPath, status, body)
	default:
		return orders.Reservation{}, unexpected(contracts.ReservationsPath, status, body)
	}
	var r reservationJSON
	if err := json.Unmarshal(body, &r); err != nil {
		return orders.Reservation{}, fmt.Errorf("decode reservation of order %s: %w", orderID, err)
	}
	res := orders.Reservation{Status: r.Status, Lines: make([]orders.ReservedLine, len(r.Lines))}
	for i, l := range r.Lines {
		res.Lines[i] = orders.ReservedLine(l)
	}
	return res, nil
}

// Release gives back the stock held for orderID, idempotently on products'
// side. No reservation (the checkout failed before reserving) is no error.
func (c *Client) Release(ctx context.Context, orderID uuid.UUID) error {
	path := contracts.ReservationsPath + "/" + orderID.String() + "/release"
	status, body, err := c.call(ctx, http.MethodPost, path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusNotFound {
		return unexpected(path, status, body)
	}
	return nil
}
