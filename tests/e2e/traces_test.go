package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// jaegerURL serves Jaeger's HTTP API and the trace viewer (see devServers).
const jaegerURL = "http://" + jaegerAddr

// jaegerTrace is a trace as Jaeger's HTTP API returns it.
type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		StartTime     int64  `json:"startTime"` // µs since the epoch
		ProcessID     string `json:"processID"`
		References    []struct {
			RefType string `json:"refType"`
			TraceID string `json:"traceID"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		Tags []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// span is one span of a jaegerTrace, resolved.
type span struct {
	id, parent, name, service string
	start                     int64
	tags                      map[string]string
}

func (tr jaegerTrace) spans() []span {
	out := make([]span, 0, len(tr.Spans))
	for _, s := range tr.Spans {
		sp := span{id: s.SpanID, name: s.OperationName, service: tr.Processes[s.ProcessID].ServiceName, start: s.StartTime, tags: map[string]string{}}
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && r.TraceID == tr.TraceID {
				sp.parent = r.SpanID
			}
		}
		for _, tag := range s.Tags {
			sp.tags[tag.Key] = fmt.Sprint(tag.Value)
		}
		out = append(out, sp)
	}
	return out
}

// fetchTrace returns the trace of id as Jaeger holds it so far, or false
// while Jaeger knows none of its spans. It fails no test: it is asked
// again and again, from the goroutine of assert.Eventually.
func fetchTrace(c context.Context, id string) (jaegerTrace, bool, error) {
	req, err := http.NewRequestWithContext(c, http.MethodGet, jaegerURL+"/api/traces/"+id, nil)
	if err != nil {
		return jaegerTrace{}, false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return jaegerTrace{}, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return jaegerTrace{}, false, err
	case resp.StatusCode == http.StatusNotFound:
		return jaegerTrace{}, false, nil
	case resp.StatusCode != http.StatusOK:
		return jaegerTrace{}, false, fmt.Errorf("jaeger answered %d: %s", resp.StatusCode, body)
	}
	var got struct{ Data []jaegerTrace }
	if err := json.Unmarshal(body, &got); err != nil {
		return jaegerTrace{}, false, fmt.Errorf("jaeger's answer: %w: %s", err, body)
	}
	if len(got.Data) != 1 {
		return jaegerTrace{}, false, nil
	}
	return got.Data[0], true, nil
}

// descendants are the spans under root, root included.
func descendants(spans []span, root string) []span {
	children := map[string][]span{}
	for _, s := range spans {
		children[s.parent] = append(children[s.parent], s)
	}
	var out []span
	var walk func(id string)
	walk = func(id string) {
		for _, c := range children[id] {
			out = append(out, c)
			walk(c.id)
		}
	}
	for _, s := range spans {
		if s.id == root {
			out = append(out, s)
		}
	}
	walk(root)
	return out
}

func services(spans []span) []string {
	var out []string
	for _, s := range spans {
		if !slices.Contains(out, s.service) {
			out = append(out, s.service)
		}
	}
	sort.Strings(out)
	return out
}

// traceServices are the services the trace of a traced visit holds:
// auth through its sign-up and log-in, the rest through its checkout.
var traceServices = []string{"auth", "gateway", "notifications", "orders", "payments", "products", "workers"}

// checkOutTraced is a customer's visit as a storefront tracing it would
// send it: one traceparent on every request (sign-up, log-in, saving a
// card, filling the cart, checking out), so that the trace holds auth
// too, which the checkout itself never calls. It returns once the order
// is paid, with the trace's ID and the ID of the gateway's span of the
// checkout.
func checkOutTraced(t *testing.T) (traceID, checkoutSpan string) {
	t.Helper()
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	productID := s.newProduct(t, 1990, 3)

	var ids [24]byte
	_, _ = rand.Read(ids[:])
	traceID = hex.EncodeToString(ids[:16])
	visit := "00-" + traceID + "-" + hex.EncodeToString(ids[16:]) + "-01"
	send := func(method, path, auth, body string) response {
		t.Helper()
		h := []string{"Content-Type", "application/json", "traceparent", visit}
		if auth != "" {
			h = append(h, "Authorization", auth)
		}
		return call(t, method, gatewayURL+path, strings.NewReader(body), h...)
	}

	email := "traced-" + uuid.NewString()[:8] + "@example.com"
	resp := send(http.MethodPost, "/api/v1/auth/register", "", fmt.Sprintf(`{"email": %q, "password": %q, "name": "Traced"}`, email, authPassword))
	require.Equal(t, http.StatusCreated, resp.Status, "register: %s", resp.Body)
	resp = send(http.MethodPost, "/api/v1/auth/login", "", fmt.Sprintf(`{"email": %q, "password": %q}`, email, authPassword))
	require.Equal(t, http.StatusOK, resp.Status, "login: %s", resp.Body)
	var tokens tokenPair
	resp.JSON(t, &tokens)
	customer := "Bearer " + tokens.AccessToken
	resp = send(http.MethodPost, "/api/v1/payment-methods", customer, `{"payment_method": "pm_card_visa"}`)
	require.Equal(t, http.StatusCreated, resp.Status, "save card: %s", resp.Body)
	resp = send(http.MethodPost, "/api/v1/cart/items", customer, fmt.Sprintf(`{"product_id": %q, "quantity": 1}`, productID))
	require.Equal(t, http.StatusOK, resp.Status, "add to cart: %s", resp.Body)
	h := []string{"Content-Type", "application/json", "traceparent", visit, "Authorization", customer, "Idempotency-Key", uuid.NewString()}
	resp = call(t, http.MethodPost, gatewayURL+"/api/v1/checkout", strings.NewReader(address), h...)
	require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
	// The gateway answers with its own span of the visit's trace.
	checkoutTP := resp.Header.Get("traceparent")
	require.True(t, strings.HasPrefix(checkoutTP, "00-"+traceID+"-"), "checkout's traceparent %q continues the visit", checkoutTP)
	var o orderJSON
	resp.JSON(t, &o)
	s.waitStatus(t, customer, o.ID, "paid")
	return traceID, strings.Split(checkoutTP, "-")[2]
}

// awaitTrace reads the trace of a visit checkOutTraced made until it is
// whole: every service of traceServices, and under the checkout's span
// the payment with its Stripe call, its settling and order.paid in every
// consumer. Spans reach Jaeger in batches, from 14 processes each on its
// own schedule. It returns the trace and the spans under the checkout,
// or fails t (with what the trace held) and returns false.
func awaitTrace(t *testing.T, traceID, checkoutSpan string) (jaegerTrace, []span, bool) {
	t.Helper()
	c := ctx(t)
	// What the last look found, for the failure's log: the condition runs
	// in a goroutine of its own, and may still run when Eventually gives up.
	var (
		mu    sync.Mutex
		tr    jaegerTrace
		under []span
		last  error
	)
	whole := func() bool {
		got, ok, err := fetchTrace(c, traceID)
		mu.Lock()
		defer mu.Unlock()
		if last = err; !ok {
			return false
		}
		tr, under = got, descendants(got.spans(), checkoutSpan)
		return slices.Equal(services(tr.spans()), traceServices) &&
			hasSpan(under, "payments", "stripe POST /v1/payment_intents") &&
			hasSpan(under, "payments", "settle payment") &&
			hasSpan(under, "notifications", "order.paid process") &&
			hasSpan(under, "orders", "payment.succeeded process") &&
			hasSpan(under, "workers", "order.paid process") &&
			hasSpan(under, "products", "order.paid process")
	}
	ok := assert.Eventually(t, whole, 60*time.Second, 250*time.Millisecond, "one trace of the visit, the checkout's consequences under its span")
	mu.Lock()
	defer mu.Unlock()
	if !ok {
		t.Logf("last error: %v; services in the trace: %v; under the checkout: %v", last, services(tr.spans()), services(under))
		for _, sp := range under {
			t.Logf("  %s: %s", sp.service, sp.name)
		}
	}
	return tr, under, ok
}

// TestTraces follows one checkout with a saved card through Jaeger's API
// (see checkOutTraced). Everything the checkout causes must hang under
// the checkout's own request: the reservation, order.created, the payment
// and its Stripe call, and, once Stripe's webhook has settled the payment
// (in the trace of the checkout, not the webhook's), payment.succeeded and
// order.paid in every consumer.
func TestTraces(t *testing.T) {
	traceID, checkoutSpan := checkOutTraced(t)
	tr, under, ok := awaitTrace(t, traceID, checkoutSpan)
	if !ok {
		return
	}
	assert.Equal(t, []string{"gateway", "notifications", "orders", "payments", "products", "workers"}, services(under),
		"everything but auth is the checkout's doing")
	checkout := find(tr.spans(), "gateway", "POST /api/v1/checkout")
	assert.Equal(t, checkoutSpan, checkout.id, "the gateway's span is named by its route, not its catch-all")
	stripe := find(under, "payments", "stripe POST /v1/payment_intents")
	assert.Equal(t, "200", stripe.tags["http.response.status_code"], "the Stripe call succeeded")
	t.Logf("trace %s (%s/#/trace/%s): %d spans, %d under the checkout:\n%s",
		traceID, jaegerURL, traceID, len(tr.Spans), len(under), tree(under, checkoutSpan))
}

// TestTraceViewer drives the trace viewer Jaeger serves at its own port
// (web/src/traces, built into web/dist-traces; Jaeger's Go module has no
// UI of its own) in a real browser: web/e2e/traces.spec.ts, run by
// Playwright in headless Chromium at desktop and at phone width, finds
// the trace of a checkout with a saved card among the gateway's, opens it
// and reads the spans of every service and the Stripe call. Screenshots
// are left in web/test-results-traces.
func TestTraceViewer(t *testing.T) {
	t.Run("Jaeger serves the viewer's page and files", func(t *testing.T) {
		resp := call(t, http.MethodGet, jaegerURL+"/", nil)
		require.Equal(t, http.StatusOK, resp.Status)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		require.Contains(t, string(resp.Body), "<title>daprshop traces</title>", "the viewer, not Jaeger's placeholder")
		assets := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(string(resp.Body), -1)
		require.NotEmpty(t, assets, "the page loads its script from Jaeger: %s", resp.Body)
		for _, a := range assets {
			assert.Equal(t, http.StatusOK, call(t, http.MethodGet, jaegerURL+a[1], nil).Status, a[1])
		}
		// Its API answers JSON, and a path of no API the page, 200: the
		// viewer tells the two apart by the content type.
		resp = call(t, http.MethodGet, jaegerURL+"/api/services", nil)
		assert.Equal(t, http.StatusOK, resp.Status)
		assert.Contains(t, resp.Header.Get("Content-Type"), "application/json")
		resp = call(t, http.MethodGet, jaegerURL+"/api/no-such-api", nil)
		assert.NotContains(t, resp.Header.Get("Content-Type"), "json")
		// A link of Jaeger's own UI to a trace gets the same page, which
		// opens the trace.
		resp = call(t, http.MethodGet, jaegerURL+"/trace/0af7651916cd43dd8448eb211c80319c", nil)
		assert.Contains(t, string(resp.Body), "<title>daprshop traces</title>")
	})

	t.Run("a checkout's trace, found among the gateway's, shows every service's spans and the Stripe call", func(t *testing.T) {
		traceID, checkoutSpan := checkOutTraced(t)
		// The browser reads the trace once Jaeger holds all of it.
		if _, _, ok := awaitTrace(t, traceID, checkoutSpan); !ok {
			return
		}
		playwright(t, "e2e/traces.spec.ts", "test-results-traces", "TRACES_URL="+jaegerURL,
			"TRACE_ID="+traceID, "TRACE_SERVICES="+strings.Join(traceServices, ","))
	})
}

// tree renders the spans under root, one a line, indented by depth,
// siblings in the order they started.
func tree(spans []span, root string) string {
	children := map[string][]span{}
	var b strings.Builder
	for _, s := range spans {
		children[s.parent] = append(children[s.parent], s)
	}
	for _, c := range children {
		sort.SliceStable(c, func(i, j int) bool { return c[i].start < c[j].start })
	}
	var walk func(s span, depth int)
	walk = func(s span, depth int) {
		fmt.Fprintf(&b, "%s%s: %s\n", strings.Repeat("  ", depth), s.service, s.name)
		for _, c := range children[s.id] {
			walk(c, depth+1)
		}
	}
	for _, s := range spans {
		if s.id == root {
			walk(s, 0)
		}
	}
	return b.String()
}

func hasSpan(spans []span, service, name string) bool {
	return find(spans, service, name).id != ""
}

func find(spans []span, service, name string) span {
	for _, s := range spans {
		if s.service == service && s.name == name {
			return s
		}
	}
	return span{}
}
