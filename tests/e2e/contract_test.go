package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The contract: every request the suite sends to the gateway and every
// answer it gets are checked against the OpenAPI document the gateway
// serves, so that the document cannot drift from what the services do.
// The document is read strictly: an object lists every field it may carry
// (a field it does not declare fails), an operation every status it may
// answer, a response every content type.

func init() {
	// The media types the document declares that kin-openapi has no
	// decoder for: the invoice as a PDF, the reference page and its script.
	openapi3filter.RegisterBodyDecoder("application/pdf", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
}

// offContractKey marks a request that is sent malformed on purpose.
type offContractKey struct{}

// invalidRequest marks the requests sent from ctx as deliberately outside
// the document (a hostile or malformed request): the request is not checked,
// the answer still is, against the operation the path names when it names
// one, else against the problem every error is.
func invalidRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, offContractKey{}, true)
}

// invalidSenders are the tests sending invalid requests on purpose now.
var invalidSenders sync.Map

// invalidRequests exempts the requests t sends through ctx(t) (call, and
// the helpers built on it) from the request check until done is called:
// for a test that sends a request the document refuses on purpose, to
// see the gateway or a service refuse it too. Their answers are checked.
func invalidRequests(t *testing.T) (done func()) {
	invalidSenders.Store(t, true)
	done = func() { invalidSenders.Delete(t) }
	t.Cleanup(done)
	return done
}

// contractChecks counts the exchanges checked, for the report at the end.
var contractChecks atomic.Int64

// contractTransport checks what goes through it to the gateway; requests
// to any other address pass unchecked.
type contractTransport struct{ base http.RoundTripper }

func newContractTransport(base http.RoundTripper) *contractTransport {
	return &contractTransport{base: base}
}

// document is the gateway's document, read strictly once it could be read.
var document struct {
	mu      sync.Mutex
	router  routers.Router
	problem *openapi3.Schema
}

// load reads the document from the gateway, until once succeeds: a read
// that fails (the gateway restarting under a chaos test) is tried again by
// the next request.
func (ct *contractTransport) load(ctx context.Context) (routers.Router, error) {
	document.mu.Lock()
	defer document.mu.Unlock()
	if document.router == nil {
		router, problem, err := loadContract(ctx, http.DefaultTransport)
		if err != nil {
			return nil, err
		}
		document.router, document.problem = router, problem
	}
	return document.router, nil
}

func loadContract(ctx context.Context, base http.RoundTripper) (routers.Router, *openapi3.Schema, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gatewayURL+"/api/v1/openapi.json", nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := (&http.Client{Transport: base}).Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("contract: fetch the document: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("contract: fetch the document: %d %v", resp.StatusCode, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("contract: parse the document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, nil, fmt.Errorf("contract: the document is not valid: %w", err)
	}
	closeObjects(doc)
	// Matched on the path alone: the suite's gateway is the documented
	// server, reached by whatever address the test uses.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, err
	}
	problem := doc.Components.Schemas["Problem"]
	if problem == nil {
		return nil, nil, fmt.Errorf("contract: the document defines no Problem")
	}
	return router, problem.Value, nil
}

// closeObjects makes every object schema that lists properties, and says
// nothing of others, refuse the fields it does not list. The published
// document leaves them open so that clients accept fields added later;
// the suite holds the services to exactly what is documented.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(ref *openapi3.SchemaRef)
	visit = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
		for _, p := range s.Properties {
			visit(p)
		}
		visit(s.Items)
		visit(s.AdditionalProperties.Schema)
		for _, list := range [][]*openapi3.SchemaRef{s.AllOf, s.AnyOf, s.OneOf} {
			for _, r := range list {
				visit(r)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		visit(s)
	}
	visitContent := func(c openapi3.Content) {
		for _, mt := range c {
			visit(mt.Schema)
		}
	}
	for _, r := range doc.Components.Responses {
		visitContent(r.Value.Content)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil {
				visitContent(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				visitContent(r.Value.Content)
			}
		}
	}
}

// requireBearer is how the document's security is checked: the request
// carries a bearer token (whether it is valid is the gateway's to say).
func requireBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearer" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") || len(h) == len("Bearer ") {
		return fmt.Errorf("no bearer token")
	}
	return nil
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme+"://"+req.URL.Host != gatewayURL {
		return ct.base.RoundTrip(req)
	}
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		// A CORS preflight is the browser asking the gateway's CORS layer,
		// not a call of the API the document describes.
		return ct.base.RoundTrip(req)
	}
	router, err := ct.load(req.Context())
	if err != nil {
		return nil, err
	}
	offContract, _ := req.Context().Value(offContractKey{}).(bool)

	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	// The validator reads a copy: it may decode the body and set defaults.
	checked := req.Clone(req.Context())
	checked.Body = io.NopCloser(bytes.NewReader(reqBody))
	if checked.Method == http.MethodHead {
		checked.Method = http.MethodGet // HEAD is GET without the body
	}
	route, params, routeErr := router.FindRoute(checked)
	input := &openapi3filter.RequestValidationInput{
		Request: checked, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: requireBearer, IncludeResponseStatus: true, MultiError: true},
	}
	if !offContract {
		if routeErr != nil {
			return nil, fmt.Errorf("contract: %s %s is not in the document: %w", req.Method, req.URL.RequestURI(), routeErr)
		}
		if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
			return nil, fmt.Errorf("contract: the request %s %s does not match the document: %w", req.Method, req.URL.RequestURI(), err)
		}
	}

	resp, err := ct.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkResponse(req, resp, body, input, routeErr, document.problem); err != nil {
		return nil, err
	}
	contractChecks.Add(1)
	return resp, nil
}

// checkResponse checks an answer against the operation of its request, or,
// for a request whose path is in no operation (a hostile one), that it is a
// documented problem.
func checkResponse(req *http.Request, resp *http.Response, body []byte, in *openapi3filter.RequestValidationInput, routeErr error, problem *openapi3.Schema) error {
	where := fmt.Sprintf("%s %s answered %d %s", req.Method, req.URL.RequestURI(), resp.StatusCode, resp.Header.Get("Content-Type"))
	if routeErr != nil {
		if resp.StatusCode < 400 {
			return fmt.Errorf("contract: %s, yet the path is in no operation", where)
		}
		return checkProblem(where, resp, body, problem)
	}
	if req.Method == http.MethodHead {
		return nil // no body to check; the status is GET's
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: in.Options,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		return fmt.Errorf("contract: %s, which the document does not allow: %w\nbody: %.2000s", where, err, body)
	}
	return nil
}

// checkProblem checks the answer to a request whose path names no
// operation: it must be a problem as the document defines it.
func checkProblem(where string, resp *http.Response, body []byte, problem *openapi3.Schema) error {
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("contract: %s: an error must be application/problem+json", where)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("contract: %s: the problem is not JSON: %w", where, err)
	}
	if err := problem.VisitJSON(v); err != nil {
		return fmt.Errorf("contract: %s, not a documented problem: %w\nbody: %.2000s", where, err, body)
	}
	return nil
}

// gatewayTransport is the transport of every client of the suite that
// calls the gateway.
var gatewayTransport = newContractTransport(http.DefaultTransport)

// checkRawAnswer checks the answer to a request the raw client wrote to the
// gateway. Such a request is written byte for byte to be outside the
// document (hostile targets, headers, bodies), so it is exempt from the
// request check; its answer is not.
func checkRawAnswer(ctx context.Context, method, target string, header []string, status int, respHeader http.Header, body []byte) error {
	router, err := gatewayTransport.load(ctx)
	if err != nil {
		return err
	}
	req, routeErr := http.NewRequestWithContext(ctx, method, gatewayURL+target, nil)
	if routeErr != nil {
		// A target net/http cannot even parse names no operation.
		req, err = http.NewRequestWithContext(ctx, method, gatewayURL+"/", nil)
		if err != nil {
			return err
		}
		req.URL.Opaque = target
	}
	for _, h := range header {
		if name, value, ok := strings.Cut(h, ":"); ok {
			req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	var route *routers.Route
	var params map[string]string
	if routeErr == nil {
		route, params, routeErr = router.FindRoute(req)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	resp := &http.Response{StatusCode: status, Header: respHeader}
	if err := checkResponse(req, resp, body, in, routeErr, document.problem); err != nil {
		return err
	}
	contractChecks.Add(1)
	return nil
}

// TestContract proves the check can fail: answers the document does not
// allow are refused, the ones it does pass.
func TestContract(t *testing.T) {
	router, err := gatewayTransport.load(ctx(t))
	require.NoError(t, err)
	me, err := http.NewRequestWithContext(ctx(t), http.MethodGet, gatewayURL+"/api/v1/auth/me", nil)
	require.NoError(t, err)
	route, params, err := router.FindRoute(me)
	require.NoError(t, err)
	in := &openapi3filter.RequestValidationInput{
		Request: me, PathParams: params, Route: route,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: requireBearer},
	}
	check := func(status int, contentType, body string) error {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}}
		return checkResponse(me, resp, []byte(body), in, nil, document.problem)
	}
	user := `{"id": "0b5e3f0e-6d2a-4b8e-9a57-0f4f6f3b9a10", "email": "a@example.com", "name": "A", "roles": ["CUSTOMER"]`
	require.NoError(t, check(http.StatusOK, "application/json", user+`}`))
	require.NoError(t, check(http.StatusUnauthorized, "application/problem+json", `{"type": "t", "title": "Unauthorized", "status": 401}`))

	assert.ErrorContains(t, check(http.StatusOK, "application/json", user+`, "password_hash": "x"}`), "password_hash", "an undeclared field")
	assert.Error(t, check(http.StatusOK, "application/json", `{"id": "0b5e3f0e-6d2a-4b8e-9a57-0f4f6f3b9a10"}`), "a required field missing")
	assert.Error(t, check(http.StatusTeapot, "application/problem+json", `{"type": "t", "title": "x", "status": 418}`), "an undeclared status")
	assert.Error(t, check(http.StatusOK, "text/plain", "ok"), "an undeclared content type")
	assert.Error(t, check(http.StatusUnauthorized, "application/json", `{"error": "no"}`), "an error that is not a problem")

	require.Error(t, openapi3filter.ValidateRequest(ctx(t), in), "no bearer token")
	me.Header.Set("Authorization", "Bearer x")
	require.NoError(t, openapi3filter.ValidateRequest(ctx(t), in))
}
