package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIVersion is the Stripe API version the emulator's objects and events
// follow: the one pinned by stripe-go v76, whose webhook package refuses
// events of another version.
const APIVersion = "2023-10-16"

// maxRetryDelay caps the wait between webhook deliveries. Stripe waits
// hours; in development and tests a receiver that comes back should get
// its events within seconds.
const maxRetryDelay = 5 * time.Second

type options struct {
	APIKey        string
	WebhookSecret string
	WebhookURL    string // empty: events are not delivered
	Log           *slog.Logger
	Now           func() time.Time
	// RetryDelay is the first wait before a failed webhook delivery is
	// retried; it doubles up to maxRetryDelay.
	RetryDelay time.Duration
}

// emulator is the Stripe API. One mutex serialises every request: the
// emulator is for tests and development, where correctness matters more
// than throughput.
type emulator struct {
	opts options
	mux  *http.ServeMux
	hook *deliverer

	mu          sync.Mutex
	down        bool // an outage: every API call answers 503
	customers   map[string]*customer
	methods     map[string]*paymentMethod
	intents     map[string]*paymentIntent
	refunds     map[string]*refund
	idempotency map[string]idempotentResponse
}

type idempotentResponse struct {
	request string // method, path and a digest of the parameters
	status  int
	body    []byte
}

func newEmulator(opts options) *emulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 200 * time.Millisecond
	}
	e := &emulator{
		opts:        opts,
		mux:         http.NewServeMux(),
		customers:   map[string]*customer{},
		methods:     map[string]*paymentMethod{},
		intents:     map[string]*paymentIntent{},
		refunds:     map[string]*refund{},
		idempotency: map[string]idempotentResponse{},
	}
	e.hook = newDeliverer(opts)
	e.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	// Tests stage an outage without losing the emulator's state.
	e.mux.HandleFunc("PUT /_emulator/outage", e.setOutage(true))
	e.mux.HandleFunc("DELETE /_emulator/outage", e.setOutage(false))
	e.handle("POST /v1/customers", e.createCustomer)
	e.handle("GET /v1/customers/{id}", e.getCustomer)
	e.handle("GET /v1/payment_methods", e.listMethods)
	e.handle("GET /v1/payment_methods/{id}", e.getMethod)
	e.handle("POST /v1/payment_methods/{id}/attach", e.attachMethod)
	e.handle("POST /v1/payment_methods/{id}/detach", e.detachMethod)
	e.handle("POST /v1/payment_intents", e.createIntent)
	e.handle("GET /v1/payment_intents/{id}", e.getIntent)
	e.handle("POST /v1/payment_intents/{id}/confirm", e.confirmIntent)
	e.handle("POST /v1/refunds", e.createRefund)
	return e
}

func (e *emulator) setOutage(down bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		e.down = down
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// Close stops webhook deliveries still being retried.
func (e *emulator) Close() { e.hook.Close() }

func (e *emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// result is an API answer: a status and a JSON object.
type result struct {
	status int
	body   any
}

func ok(v any) result { return result{http.StatusOK, v} }

// apiHandler runs under the emulator's lock with the parsed form.
type apiHandler func(r *http.Request, form url.Values) result

// handle mounts h behind authentication, form parsing, idempotency and the
// lock.
func (e *emulator) handle(pattern string, h apiHandler) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !e.authorized(r) {
			writeResult(w, stripeError(http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided."))
			return
		}
		if err := r.ParseForm(); err != nil {
			writeResult(w, stripeError(http.StatusBadRequest, "invalid_request_error", "parameter_invalid", "Invalid request body."))
			return
		}
		form := r.PostForm
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.down {
			writeResult(w, stripeError(http.StatusServiceUnavailable, "api_error", "", "Stripe is unavailable (staged outage)."))
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			writeResult(w, h(r, form))
			return
		}
		request := r.Method + " " + r.URL.Path + " " + digest(form)
		if prev, seen := e.idempotency[key]; seen {
			if prev.request != request {
				writeResult(w, stripeError(http.StatusBadRequest, "idempotency_error", "",
					"Keys for idempotent requests can only be used with the same parameters they were first used with."))
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, prev.status, prev.body)
			return
		}
		res := h(r, form)
		body, status := encode(res)
		e.idempotency[key] = idempotentResponse{request: request, status: status, body: body}
		writeRaw(w, status, body)
	})
}

// authorized accepts the key as Stripe does (Bearer or Basic with the key as
// user name) and bare, which is how a Dapr HTTPEndpoint header taken from
// a secret arrives.
func (e *emulator) authorized(r *http.Request) bool {
	for _, v := range r.Header.Values("Authorization") {
		if v == "Bearer "+e.opts.APIKey || v == e.opts.APIKey {
			return true
		}
		if user, _, ok := r.BasicAuth(); ok && user == e.opts.APIKey {
			return true
		}
	}
	return false
}

func digest(form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		for _, v := range form[k] {
			h.Write([]byte(k + "=" + v + "\n"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func encode(res result) ([]byte, int) {
	body, err := json.Marshal(res.body)
	if err != nil {
		return []byte(`{"error":{"type":"api_error","message":"encoding failed"}}`), http.StatusInternalServerError
	}
	return body, res.status
}

func writeResult(w http.ResponseWriter, res result) {
	body, status := encode(res)
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_"+randomID(14))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// apiError is Stripe's error object.
type apiError struct {
	Type          string         `json:"type"`
	Code          string         `json:"code,omitempty"`
	DeclineCode   string         `json:"decline_code,omitempty"`
	Message       string         `json:"message"`
	Param         string         `json:"param,omitempty"`
	PaymentIntent *paymentIntent `json:"payment_intent,omitempty"`
}

func stripeError(status int, typ, code, message string) result {
	return result{status, map[string]apiError{"error": {Type: typ, Code: code, Message: message}}}
}

func missing(kind, id string) result {
	return stripeError(http.StatusNotFound, "invalid_request_error", "resource_missing",
		"No such "+kind+": '"+id+"'")
}

func invalidParam(param, message string) result {
	return result{http.StatusBadRequest, map[string]apiError{"error": {
		Type: "invalid_request_error", Code: "parameter_invalid", Param: param, Message: message,
	}}}
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.NewReplacer("+", "", "/", "", "=", "").Replace(base64.StdEncoding.EncodeToString(b))[:n]
}

func metadata(form url.Values) map[string]string {
	md := map[string]string{}
	for k, v := range form {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") && len(v) > 0 {
			md[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	return md
}

func positiveInt(form url.Values, name string) (int64, bool) {
	n, err := strconv.ParseInt(form.Get(name), 10, 64)
	return n, err == nil && n > 0
}

// deliverer posts signed events to the webhook URL, each in its own
// goroutine, retrying with backoff until a 2xx or Close.
type deliverer struct {
	opts   options
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newDeliverer(opts options) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliverer{opts: opts, client: &http.Client{Timeout: 10 * time.Second}, ctx: ctx, cancel: cancel}
}

func (d *deliverer) Close() {
	d.cancel()
	d.wg.Wait()
}

// send delivers an event of type typ about obj.
func (d *deliverer) send(typ string, obj any) {
	if d.opts.WebhookURL == "" {
		return
	}
	evt := map[string]any{
		"id": "evt_" + randomID(24), "object": "event", "api_version": APIVersion,
		"created": d.opts.Now().Unix(), "livemode": false, "pending_webhooks": 1, "type": typ,
		"data":    map[string]any{"object": obj},
		"request": map[string]any{"id": nil, "idempotency_key": nil},
	}
	payload, err := json.Marshal(evt)
	if err != nil {
		d.opts.Log.Error("encode event", "err", err)
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		delay := d.opts.RetryDelay
		for attempt := 1; ; attempt++ {
			status, err := d.post(payload)
			if err == nil && status/100 == 2 {
				d.opts.Log.Info("webhook delivered", "event_id", evt["id"], "type", typ, "attempt", attempt)
				return
			}
			d.opts.Log.Warn("webhook delivery failed", "event_id", evt["id"], "type", typ, "attempt", attempt, "status", status, "err", err)
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxRetryDelay)
		}
	}()
}

func (d *deliverer) post(payload []byte) (int, error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.opts.WebhookURL, strings.NewReader(string(payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", Sign(payload, d.opts.WebhookSecret, d.opts.Now()))
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
