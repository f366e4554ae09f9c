package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/server"
)

const appToken = "app-token"

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newServer(t *testing.T, checks map[string]server.Check) *server.Server {
	t.Helper()
	return server.New(server.Options{
		Config: config.Base{Service: "test", AppAPIToken: appToken, ShutdownTimeout: 10 * time.Second},
		Logger: discardLogger(),
		Checks: checks,
	})
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// do sends req through the app with the sidecar's token unless the request
// already carries one.
func do(t *testing.T, app *fiber.App, req *http.Request) response {
	t.Helper()
	if _, ok := req.Header["Dapr-Api-Token"]; !ok {
		req.Header.Set("dapr-api-token", appToken)
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &r.Body), "body %s", raw)
	}
	return r
}

func get(t *testing.T, app *fiber.App, target string) response {
	t.Helper()
	return do(t, app, httptest.NewRequest(http.MethodGet, target, nil))
}

func TestProblemFor(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		slug   string
		detail string
	}{
		{"malformed", apperr.New(apperr.Malformed, "bad body"), 400, "malformed-request", "bad body"},
		{"unauthorized", apperr.New(apperr.Unauthorized, "no token"), 401, "unauthorized", "no token"},
		{"forbidden", apperr.New(apperr.Forbidden, "no role"), 403, "forbidden", "no role"},
		{"not found", apperr.New(apperr.NotFound, "no such order"), 404, "not-found", "no such order"},
		{"conflict", apperr.New(apperr.Conflict, "taken"), 409, "conflict", "taken"},
		{"invalid", apperr.Validation(apperr.FieldError{Field: "f", Message: "m"}), 422, "validation-error", "the request has invalid fields"},
		{"rate limited", apperr.New(apperr.RateLimited, "slow down"), 429, "rate-limited", "slow down"},
		{"bad gateway", apperr.New(apperr.BadGateway, "stripe answered oddly"), 502, "bad-gateway", "stripe answered oddly"},
		{"unavailable", apperr.New(apperr.Unavailable, "db down"), 503, "service-unavailable", "db down"},
		{"timeout", apperr.New(apperr.Timeout, "too slow"), 504, "gateway-timeout", "too slow"},
		{"wrapped kind", fmt.Errorf("load order: %w", apperr.New(apperr.NotFound, "no such order")), 404, "not-found", "no such order"},
		{"unknown kind", &apperr.Error{Kind: "made-up", Message: "x"}, 500, "made-up", "x"},
		{"fiber not found", fiber.ErrNotFound, 404, "not-found", "Not Found"},
		{"fiber too large", fiber.ErrRequestEntityTooLarge, 413, "payload-too-large", "Request Entity Too Large"},
		{"fiber media type", fiber.NewError(415, "json please"), 415, "unsupported-media-type", "json please"},
		{"fiber method", fiber.ErrMethodNotAllowed, 405, "method-not-allowed", "Method Not Allowed"},
		{"fiber too many", fiber.ErrTooManyRequests, 429, "rate-limited", "Too Many Requests"},
		{"fiber bad request", fiber.ErrBadRequest, 400, "malformed-request", "Bad Request"},
		{"fiber 5xx", fiber.NewError(502, "upstream 10.0.0.7:5432 refused"), 500, "internal-error", "internal error"},
		{"plain error", errors.New(`pq: relation "users" does not exist`), 500, "internal-error", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := server.ProblemFor(tt.err)
			assert.Equal(t, tt.status, p.Status)
			assert.Equal(t, server.ProblemTypeBase+tt.slug, p.Type)
			assert.Equal(t, http.StatusText(tt.status), p.Title)
			assert.Equal(t, tt.detail, p.Detail)
		})
	}
}

// lockedOut is a 429 that knows when the next attempt may succeed.
type lockedOut struct{ wait time.Duration }

func (e lockedOut) Error() string             { return "locked out" }
func (e lockedOut) Unwrap() error             { return apperr.New(apperr.RateLimited, "try again later") }
func (e lockedOut) RetryAfter() time.Duration { return e.wait }

func TestErrorResponses(t *testing.T) {
	s := newServer(t, nil)
	s.App().Get("/internal", func(*fiber.Ctx) error {
		return fmt.Errorf("query users: %w", errors.New(`ERROR: SELECT password_hash FROM users (SQLSTATE 42P01)`))
	})
	s.App().Get("/panic", func(*fiber.Ctx) error { panic("secret stack detail") })
	s.App().Get("/conflict", func(*fiber.Ctx) error {
		return &apperr.Error{Kind: apperr.Conflict, Code: "insufficient_stock", Message: "not enough stock",
			Extra: map[string]any{"product_ids": []string{"p1"}}}
	})

	for _, path := range []string{"/internal", "/panic"} {
		t.Run("5xx hides the cause "+path, func(t *testing.T) {
			r := get(t, s.App(), path)
			assert.Equal(t, 500, r.Status)
			assert.Equal(t, server.ProblemContentType, r.Header.Get("Content-Type"))
			assert.Equal(t, "internal error", r.Body["detail"])
			assert.Equal(t, r.Header.Get(server.HeaderRequestID), r.Body["request_id"])
			assert.NotContains(t, r.Raw, "password_hash")
			assert.NotContains(t, r.Raw, "secret")
			assert.NotContains(t, r.Raw, "SQLSTATE")
		})
	}
	t.Run("code and extra members", func(t *testing.T) {
		r := get(t, s.App(), "/conflict")
		assert.Equal(t, 409, r.Status)
		assert.Equal(t, "insufficient_stock", r.Body["code"])
		assert.Equal(t, []any{"p1"}, r.Body["product_ids"])
		assert.EqualValues(t, 409, r.Body["status"])
	})
	s.App().Get("/locked", func(*fiber.Ctx) error { return fmt.Errorf("login: %w", lockedOut{90*time.Second + time.Millisecond}) })
	s.App().Get("/locked-briefly", func(*fiber.Ctx) error { return lockedOut{time.Millisecond} })
	s.App().Get("/limited", func(*fiber.Ctx) error { return apperr.New(apperr.RateLimited, "slow down") })
	for path, want := range map[string]string{"/locked": "91", "/locked-briefly": "1", "/limited": ""} {
		t.Run("Retry-After, rounded up, from an error that knows it "+path, func(t *testing.T) {
			r := get(t, s.App(), path)
			assert.Equal(t, 429, r.Status)
			assert.Equal(t, want, r.Header.Get(fiber.HeaderRetryAfter))
		})
	}
	t.Run("unknown route", func(t *testing.T) {
		r := get(t, s.App(), "/nowhere")
		assert.Equal(t, 404, r.Status)
		assert.Equal(t, server.ProblemContentType, r.Header.Get("Content-Type"))
	})
}

type address struct {
	City       string `json:"city" validate:"required"`
	PostalCode string `json:"postal_code" validate:"required"`
}

type checkoutRequest struct {
	Name     string  `json:"name" validate:"required"`
	Quantity int     `json:"quantity" validate:"min=1,max=10"`
	Currency string  `json:"currency" validate:"omitempty,iso4217"`
	Address  address `json:"shipping_address"`
}

func TestDecode(t *testing.T) {
	s := newServer(t, nil)
	s.App().Post("/decode", func(c *fiber.Ctx) error {
		var in checkoutRequest
		if err := server.Decode(c, &in); err != nil {
			return err
		}
		return c.JSON(in)
	})
	const valid = `{"name":"Ada","quantity":2,"shipping_address":{"city":"Paris","postal_code":"75001"}}`
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		detail      string
		fields      []any
	}{
		{"valid", "application/json", valid, 200, "", nil},
		{"json with charset", "application/json; charset=utf-8", valid, 200, "", nil},
		{"json suffix type", "application/merge-patch+json", valid, 200, "", nil},
		{"text plain", "text/plain", valid, 415, "the body must be application/json", nil},
		{"no content type", "", valid, 415, "the body must be application/json", nil},
		{"malformed", "application/json", `{"name":`, 400, "", nil},
		{"not json", "application/json", `name=Ada-zz-echo`, 400, "the body is not valid JSON", nil},
		{"empty", "application/json", ``, 400, "the body is empty", nil},
		{"unknown field", "application/json", `{"name":"Ada","quantity":1,"<b>zz-echo</b>":true}`, 400, "the body holds a field this endpoint does not accept", nil},
		{"trailing data", "application/json", valid + ` {}`, 400, "the body must hold a single JSON value", nil},
		{"wrong type", "application/json", `{"name":"Ada","quantity":"zz-echo"}`, 400, `field "quantity" must be a whole number in range`, nil},
		{"number past int64", "application/json", `{"name":"Ada","quantity":99999999999999999999}`, 400, `field "quantity" must be a whole number in range`, nil},
		{"huge exponent", "application/json", `{"name":"Ada","quantity":1e400}`, 400, `field "quantity" must be a whole number in range`, nil},
		{"fraction", "application/json", `{"name":"Ada","quantity":1.5}`, 400, `field "quantity" must be a whole number in range`, nil},
		{"NaN", "application/json", `{"name":"Ada","quantity":NaN}`, 400, "the body is not valid JSON", nil},
		{"Infinity", "application/json", `{"name":"Ada","quantity":-Infinity}`, 400, "the body is not valid JSON", nil},
		{"nested wrong type", "application/json", `{"name":"Ada","quantity":1,"shipping_address":{"city":7}}`, 400, `field "shipping_address.city" must be a string`, nil},
		{"array instead of object", "application/json", `["zz-echo"]`, 400, "the body must be an object", nil},
		{"a field twice", "application/json", `{"name":"Ada","quantity":1,"quantity":5}`, 400, "the body names a field more than once", nil},
		{"a nested field twice", "application/json", `{"name":"Ada","quantity":1,"shipping_address":{"city":"A","city":"B"}}`, 400, "the body names a field more than once", nil},
		{"NUL in a string", "application/json", `{"name":"Ada\u0000zz-echo","quantity":1}`, 400, "the body holds a NUL character", nil},
		{"NUL deep inside", "application/json", `{"name":"Ada","quantity":1,"shipping_address":{"city":"\u0000","postal_code":"1"}}`, 400, "the body holds a NUL character", nil},
		{"invalid fields", "application/json", `{"quantity":0,"currency":"EURO","shipping_address":{"city":"Paris"}}`, 422, "the request has invalid fields", []any{
			map[string]any{"field": "name", "message": "is required"},
			map[string]any{"field": "quantity", "message": "must be at least 1"},
			map[string]any{"field": "currency", "message": "must be an ISO 4217 currency code"},
			map[string]any{"field": "shipping_address.postal_code", "message": "is required"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			r := do(t, s.App(), req)
			require.Equal(t, tt.status, r.Status, r.Raw)
			if tt.status == 200 {
				assert.JSONEq(t, `{"name":"Ada","quantity":2,"currency":"","shipping_address":{"city":"Paris","postal_code":"75001"}}`, r.Raw)
				return
			}
			assert.Equal(t, server.ProblemContentType, r.Header.Get("Content-Type"))
			assert.NotContains(t, r.Raw, "zz-echo", "the problem echoes the request")
			assert.NotContains(t, r.Raw, "int64", "the problem names Go types")
			if tt.detail != "" {
				assert.Equal(t, tt.detail, r.Body["detail"])
			}
			if tt.fields == nil {
				assert.NotContains(t, r.Body, "errors")
			} else {
				assert.Equal(t, tt.fields, r.Body["errors"])
			}
		})
	}
}

func TestParsePage(t *testing.T) {
	s := newServer(t, nil)
	s.App().Get("/list", func(c *fiber.Ctx) error {
		p, err := server.ParsePage(c)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"page": p.Page, "page_size": p.PageSize, "offset": p.Offset()})
	})
	tests := []struct {
		query  string
		status int
		want   string   // body when 200
		fields []string // invalid fields when 422
	}{
		{"", 200, `{"page":1,"page_size":20,"offset":0}`, nil},
		{"?page=3&page_size=10", 200, `{"page":3,"page_size":10,"offset":20}`, nil},
		{"?page_size=1", 200, `{"page":1,"page_size":1,"offset":0}`, nil},
		{"?page_size=100", 200, `{"page":1,"page_size":100,"offset":0}`, nil},
		{"?page_size=101", 422, "", []string{"page_size"}},
		{"?page_size=0", 422, "", []string{"page_size"}},
		{"?page=0", 422, "", []string{"page"}},
		{"?page=-1", 422, "", []string{"page"}},
		{"?page=abc&page_size=x", 422, "", []string{"page", "page_size"}},
		{"?page=1e17", 422, "", []string{"page"}},
		{"?page=99999999999999999999", 422, "", []string{"page"}},
		{"?page=%2B2", 422, "", []string{"page"}},
		{"?page=2.0", 422, "", []string{"page"}},
		{"?page=%D9%A2", 422, "", []string{"page"}},    // Arabic-Indic two
		{"?page=%EF%BC%92", 422, "", []string{"page"}}, // fullwidth two
		{"?page=NaN&page_size=Inf", 422, "", []string{"page", "page_size"}},
		{"?page=%202", 422, "", []string{"page"}},
		{"?page_size=1e3", 422, "", []string{"page_size"}},
		{"?page_size=-20", 422, "", []string{"page_size"}},
		{"?page_size=0x10", 422, "", []string{"page_size"}},
		{"?page=1000000000&page_size=100", 200, `{"page":1000000000,"page_size":100,"offset":99999999900}`, nil},
		{"?page=9223372036854775807&page_size=100", 200, `{"page":9223372036854775807,"page_size":100,"offset":9223372036854775807}`, nil},
		{"?page=92233720368547759&page_size=100", 200, `{"page":92233720368547759,"page_size":100,"offset":9223372036854775800}`, nil},
	}
	for _, tt := range tests {
		t.Run("query "+tt.query, func(t *testing.T) {
			r := get(t, s.App(), "/list"+tt.query)
			require.Equal(t, tt.status, r.Status, r.Raw)
			if tt.status == 200 {
				assert.JSONEq(t, tt.want, r.Raw)
				return
			}
			var fields []string
			for _, f := range r.Body["errors"].([]any) {
				fields = append(fields, f.(map[string]any)["field"].(string))
			}
			assert.Equal(t, tt.fields, fields)
		})
	}
	t.Run("new page never sends null items", func(t *testing.T) {
		b, err := json.Marshal(server.NewPage[int](server.PageRequest{Page: 1, PageSize: 20}, nil, 0))
		require.NoError(t, err)
		assert.JSONEq(t, `{"items":[],"total":0,"page":1,"page_size":20}`, string(b))
	})
}

var (
	uuidPattern        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	traceparentPattern = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)
)

func TestRequestIDAndTraceparent(t *testing.T) {
	s := newServer(t, nil)
	s.App().Get("/x", func(c *fiber.Ctx) error { return c.SendStatus(204) })
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name          string
		requestID, tp string
		keepID        bool
		keepTP        bool
	}{
		{"sane values echoed", "req-123_abc:1.2", tp, true, true},
		{"none sent", "", "", false, false},
		{"request id with spaces", "drop table", tp, false, true},
		{"request id too long", strings.Repeat("a", 129), tp, false, true},
		{"malformed traceparent", "req-1", "00-xyz-01", true, false},
		{"upper-case traceparent", "req-1", strings.ToUpper(tp), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.requestID != "" {
				req.Header.Set(server.HeaderRequestID, tt.requestID)
			}
			if tt.tp != "" {
				req.Header.Set(server.HeaderTraceparent, tt.tp)
			}
			r := do(t, s.App(), req)
			require.Equal(t, 204, r.Status)
			gotID, gotTP := r.Header.Get(server.HeaderRequestID), r.Header.Get(server.HeaderTraceparent)
			if tt.keepID {
				assert.Equal(t, tt.requestID, gotID)
			} else {
				assert.Regexp(t, uuidPattern, gotID)
			}
			assert.Regexp(t, traceparentPattern, gotTP)
			// The answer names the server's span: of the caller's trace
			// when it sent a sane one, of a new one otherwise.
			if tt.keepTP {
				assert.Equal(t, tt.tp[:35], gotTP[:35], "the caller's trace")
				assert.NotEqual(t, tt.tp, gotTP, "the server's own span")
			} else if len(tt.tp) >= 35 {
				assert.NotEqual(t, strings.ToLower(tt.tp[:35]), gotTP[:35], "a new trace")
			}
		})
	}
	t.Run("generated ids differ", func(t *testing.T) {
		a, b := get(t, s.App(), "/x"), get(t, s.App(), "/x")
		assert.NotEqual(t, a.Header.Get(server.HeaderRequestID), b.Header.Get(server.HeaderRequestID))
		assert.NotEqual(t, a.Header.Get(server.HeaderTraceparent), b.Header.Get(server.HeaderTraceparent))
	})
}

func TestAppToken(t *testing.T) {
	s := newServer(t, nil)
	s.App().Get("/orders", func(c *fiber.Ctx) error { return c.SendString("ok") })
	tests := []struct {
		path   string
		token  string
		status int
	}{
		{"/orders", appToken, 200},
		{"/orders", "", 401},
		{"/orders", "wrong", 401},
		{"/nowhere", "", 401},
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/metrics", "", 200},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s token %q", tt.path, tt.token), func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header["Dapr-Api-Token"] = []string{tt.token}
			if tt.token == "" {
				req.Header["Dapr-Api-Token"] = nil
			}
			r := do(t, s.App(), req)
			assert.Equal(t, tt.status, r.Status, r.Raw)
		})
	}
	t.Run("public edge needs no token", func(t *testing.T) {
		edge := server.New(server.Options{
			Config: config.Base{Service: "gateway", AppAPIToken: appToken}, Logger: discardLogger(), Public: true,
		})
		edge.App().Get("/orders", func(c *fiber.Ctx) error { return c.SendString("ok") })
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header["Dapr-Api-Token"] = nil
		assert.Equal(t, 200, do(t, edge.App(), req).Status)
	})
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp 127.0.0.1:3500: connection refused") }
	t.Run("all checks pass", func(t *testing.T) {
		s := newServer(t, map[string]server.Check{"postgres": ok, "dapr": ok})
		r := get(t, s.App(), "/readyz")
		assert.Equal(t, 200, r.Status)
		assert.Equal(t, map[string]any{"status": "ready", "checks": map[string]any{"postgres": "ok", "dapr": "ok"}}, r.Body)
	})
	t.Run("a failing check is named", func(t *testing.T) {
		s := newServer(t, map[string]server.Check{"postgres": ok, "dapr": down})
		r := get(t, s.App(), "/readyz")
		assert.Equal(t, 503, r.Status)
		assert.Equal(t, server.ProblemContentType, r.Header.Get("Content-Type"))
		assert.Equal(t, map[string]any{"postgres": "ok", "dapr": "unavailable"}, r.Body["checks"])
		assert.NotContains(t, r.Raw, "connection refused")
	})
	t.Run("healthz does not run checks", func(t *testing.T) {
		s := newServer(t, map[string]server.Check{"dapr": down})
		assert.Equal(t, 200, get(t, s.App(), "/healthz").Status)
	})
}

func TestMetricsLabelRoutePattern(t *testing.T) {
	s := newServer(t, nil)
	s.App().Get("/items/:id", func(c *fiber.Ctx) error { return c.SendString(c.Params("id")) })
	s.App().Delete("/items/:id", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	// A DELETE first: its label must survive later requests reusing the
	// request buffer the method string came from.
	do(t, s.App(), httptest.NewRequest(http.MethodDelete, "/items/9", nil))
	for _, path := range []string{"/items/1", "/items/2", "/items/3", "/no/such/path"} {
		get(t, s.App(), path)
	}
	families, err := s.Metrics().Registry.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			assert.Equal(t, "test", labels["service"])
			counts[labels["method"]+" "+labels["route"]+" "+labels["status"]] += m.GetHistogram().GetSampleCount()
		}
	}
	assert.Equal(t, map[string]uint64{"DELETE /items/:id 204": 1, "GET /items/:id 200": 3, "GET unmatched 404": 1}, counts)
	assert.Contains(t, get(t, s.App(), "/metrics").Raw, `http_request_duration_seconds_count{method="GET",route="/items/:id",service="test",status="200"} 3`)
}

func TestGracefulShutdown(t *testing.T) {
	s := newServer(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	s.App().Get("/slow", func(c *fiber.Ctx) error {
		close(started)
		<-release
		return c.SendString("done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/slow", nil)
		req.Header.Set("dapr-api-token", appToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{resp.StatusCode, string(b), err}
	}()
	<-started
	// The listener is closed during the drain and app.Test waits for the
	// shutdown to end, so readiness is asked of the app's handler directly.
	handler := s.App().Handler()
	readyz := func() int {
		var fctx fasthttp.RequestCtx
		fctx.Request.Header.SetMethod(http.MethodGet)
		fctx.Request.SetRequestURI("/readyz")
		handler(&fctx)
		return fctx.Response.StatusCode()
	}
	assert.Equal(t, 200, readyz(), "ready before shutdown")

	cancel()
	require.Eventually(t, func() bool { return readyz() == 503 }, 5*time.Second, 5*time.Millisecond,
		"readiness fails while draining")
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}

	close(release)
	r := <-slow
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "done", r.body)
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
}
