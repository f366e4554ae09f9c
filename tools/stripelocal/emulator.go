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

// maxEvents bounds the events kept for GET /v1/events: a long development
// session must not grow the emulator without end.
const maxEvents = 1000

type options struct {
	APIKey        string
	WebhookSecret string
	WebhookURL    string // empty: events are not delivered
	Log           *slog.Logger
	Now           func() time.Time
	// RetryDelay is the first wait before a failed webhook delivery is
	// retried; it doubles up to maxRetryDelay.
	RetryDelay time.Duration
	// ProcessingDelay is how long an intent confirmed with a
	// pm_card_processing* card stays processing before it settles.
	ProcessingDelay time.Duration
}

// emulator is the Stripe API. One mutex serialises every request: the
// emulator is for tests and development, where correctness matters more
// than throughput.
type emulator struct {
	opts options
	mux  *http.ServeMux
	hook *deliverer

	mu          sync.Mutex
	closed      bool
	down        bool                   // an outage: every API call answers 503
	settling    map[string]*time.Timer // processing intents, by id
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
	if opts.ProcessingDelay == 0 {
		opts.ProcessingDelay = 2 * time.Second
	}
	e := &emulator{
		opts:        opts,
		mux:         http.NewServeMux(),
		settling:    map[string]*time.Timer{},
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
	// Tests withhold webhooks, so that only a reconciliation can learn a
	// verdict, and release them later.
	e.mux.HandleFunc("PUT /_emulator/webhooks/hold", e.holdWebhooks(true))
	e.mux.HandleFunc("DELETE /_emulator/webhooks/hold", e.holdWebhooks(false))
	// Settles a processing intent without waiting for ProcessingDelay.
	e.mux.HandleFunc("POST /_emulator/payment_intents/{id}/settle", e.settleNow)
	// Decides a pending refund: ?status=succeeded (the default) or failed.
	e.mux.HandleFunc("POST /_emulator/refunds/{id}/settle", e.settleRefundNow)
	e.handle("POST /v1/customers", e.createCustomer)
	e.handle("GET /v1/customers/{id}", e.getCustomer)
	e.handle("GET /v1/payment_methods", e.listMethods)
	e.handle("GET /v1/payment_methods/{id}", e.getMethod)
	e.handle("POST /v1/payment_methods/{id}/attach", e.attachMethod)
	e.handle("POST /v1/payment_methods/{id}/detach", e.detachMethod)
	e.handle("POST /v1/payment_intents", e.createIntent)
	e.handle("GET /v1/payment_intents", e.listIntents)
	e.handle("GET /v1/payment_intents/{id}", e.getIntent)
	e.handle("POST /v1/payment_intents/{id}/confirm", e.confirmIntent)
	e.handle("POST /v1/payment_intents/{id}/cancel", e.cancelIntent)
	e.handle("POST /v1/refunds", e.createRefund)
	e.handle("GET /v1/refunds", e.listRefunds)
	e.handle("GET /v1/refunds/{id}", e.getRefund)
	e.handle("GET /v1/events", e.listEvents)
	e.handle("GET /v1/events/{id}", e.getEvent)
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

func (e *emulator) holdWebhooks(hold bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		e.hook.hold(hold)
		w.WriteHeader(http.StatusNoContent)
	}
}

// settleNow settles a processing intent at once: 200 with the intent, 404
// when there is no such intent, 409 when it is not processing.
func (e *emulator) settleNow(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pi, found := e.intents[r.PathValue("id")]
	if !found {
		writeResult(w, missing("payment_intent", r.PathValue("id")))
		return
	}
	if !e.settle(pi) {
		writeResult(w, stripeError(http.StatusConflict, "invalid_request_error", "payment_intent_unexpected_state",
			"This PaymentIntent is not processing; its status is "+pi.Status+"."))
		return
	}
	if t, found := e.settling[pi.ID]; found {
		t.Stop()
		delete(e.settling, pi.ID)
	}
	writeResult(w, ok(pi))
}

// settleRefundNow decides a pending refund: 200 with the refund, 400 for
// a status other than succeeded or failed, 404 when there is no such
// refund, 409 when it is not pending.
func (e *emulator) settleRefundNow(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "succeeded"
	}
	if status != "succeeded" && status != "failed" {
		writeResult(w, invalidParam("status", "Must be succeeded or failed."))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rf, found := e.refunds[r.PathValue("id")]
	if !found {
		writeResult(w, missing("refund", r.PathValue("id")))
		return
	}
	if !e.settleRefund(rf, status) {
		writeResult(w, stripeError(http.StatusConflict, "invalid_request_error", "refund_unexpected_state",
			"This refund is not pending; its status is "+rf.Status+"."))
		return
	}
	writeResult(w, ok(rf))
}

// settleLater settles the processing intent id after ProcessingDelay.
// Called with e.mu held.
func (e *emulator) settleLater(id string) {
	e.settling[id] = time.AfterFunc(e.opts.ProcessingDelay, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.closed {
			return
		}
		delete(e.settling, id)
		e.settle(e.intents[id])
	})
}

// Close stops settlements and webhook deliveries still pending.
func (e *emulator) Close() {
	e.mu.Lock()
	e.closed = true
	for _, t := range e.settling {
		t.Stop()
	}
	e.mu.Unlock()
	e.hook.Close()
}

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

// event is a Stripe Event; data.object is the snapshot taken when it
// happened.
type event struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int          `json:"pending_webhooks"`
	Type            string       `json:"type"`
	Data            eventData    `json:"data"`
	Request         eventRequest `json:"request"`
}

type eventData struct {
	Object json.RawMessage `json:"object"`
}

// eventRequest is empty: the emulator's events all come from the API, whose
// request ids it does not keep.
type eventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// deliverer records events and posts them signed to the webhook URL, each
// in its own goroutine, retrying with backoff until a 2xx or Close. While
// held, new events wait until release.
type deliverer struct {
	opts   options
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	held   bool
	queue  []*event // held back, oldest first
	events []*event // the last maxEvents or so, oldest first
}

func newDeliverer(opts options) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliverer{opts: opts, client: &http.Client{Timeout: 10 * time.Second}, ctx: ctx, cancel: cancel}
}

func (d *deliverer) Close() {
	d.cancel()
	d.wg.Wait()
}

// hold withholds deliveries from now on; releasing delivers those held.
func (d *deliverer) hold(hold bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.held = hold
	if hold {
		return
	}
	for _, evt := range d.queue {
		d.deliver(evt)
	}
	d.queue = nil
}

// send records an event of type typ about obj and delivers it.
func (d *deliverer) send(typ string, obj any) {
	raw, err := json.Marshal(obj)
	if err != nil {
		d.opts.Log.Error("encode event", "type", typ, "err", err)
		return
	}
	evt := &event{
		ID: "evt_" + randomID(24), Object: "event", APIVersion: APIVersion, Created: d.opts.Now().Unix(),
		Type: typ, Data: eventData{Object: raw},
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.events) == 2*maxEvents {
		d.events = append(d.events[:0:0], d.events[maxEvents:]...)
	}
	d.events = append(d.events, evt)
	if d.opts.WebhookURL == "" {
		return
	}
	evt.PendingWebhooks = 1
	if d.held {
		d.queue = append(d.queue, evt)
		return
	}
	d.deliver(evt)
}

// deliver starts posting evt. Called with d.mu held.
func (d *deliverer) deliver(evt *event) {
	payload, err := json.Marshal(evt)
	if err != nil {
		d.opts.Log.Error("encode event", "event_id", evt.ID, "err", err)
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		delay := d.opts.RetryDelay
		for attempt := 1; ; attempt++ {
			status, err := d.post(payload)
			if err == nil && status/100 == 2 {
				d.mu.Lock()
				evt.PendingWebhooks = 0
				d.mu.Unlock()
				d.opts.Log.Info("webhook delivered", "event_id", evt.ID, "type", evt.Type, "attempt", attempt)
				return
			}
			d.opts.Log.Warn("webhook delivery failed", "event_id", evt.ID, "type", evt.Type, "attempt", attempt, "status", status, "err", err)
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxRetryDelay)
		}
	}()
}

// list returns up to limit events of type typ (any when empty), newest
// first, and whether there were more.
func (d *deliverer) list(typ string, limit int) ([]event, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []event{}
	for i := len(d.events) - 1; i >= 0; i-- {
		if typ != "" && d.events[i].Type != typ {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, *d.events[i])
	}
	return out, false
}

func (d *deliverer) get(id string) (event, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, evt := range d.events {
		if evt.ID == id {
			return *evt, true
		}
	}
	return event{}, false
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

// listEvents is GET /v1/events: the newest first, optionally of one type.
func (e *emulator) listEvents(_ *http.Request, query url.Values) result {
	limit := 10
	if query.Has("limit") {
		n, err := strconv.Atoi(query.Get("limit"))
		if err != nil || n < 1 || n > 100 {
			return invalidParam("limit", "This value must be between 1 and 100.")
		}
		limit = n
	}
	data, more := e.hook.list(query.Get("type"), limit)
	return ok(map[string]any{"object": "list", "url": "/v1/events", "has_more": more, "data": data})
}

func (e *emulator) getEvent(r *http.Request, _ url.Values) result {
	evt, found := e.hook.get(r.PathValue("id"))
	if !found {
		return missing("event", r.PathValue("id"))
	}
	return ok(evt)
}
