package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type options struct {
	ClientID, ClientSecret, WebhookID string
	WebhookURL                        string // empty: events are not delivered
	BaseURL                           string // where links point
	Signer                            *signer
	Log                               *slog.Logger
	// TokenTTL is an access token's life (PayPal: 9 hours).
	TokenTTL time.Duration
	// RetryDelay is the first wait before a failed delivery is retried; it
	// doubles up to maxRetryDelay.
	RetryDelay time.Duration
}

// maxRetryDelay caps the wait between webhook deliveries. PayPal waits
// hours; in development a receiver that comes back should get its events
// within seconds.
const maxRetryDelay = 5 * time.Second

// emulator is the PayPal API. One mutex serialises every request: it is
// for tests and development, where correctness beats throughput.
type emulator struct {
	opts options
	mux  *http.ServeMux
	hook *deliverer

	mu          sync.Mutex
	down        bool
	tokens      map[string]time.Time // access token → expiry
	orders      map[string]*order
	captures    map[string]*capture
	refunds     map[string]*refund
	idempotency map[string]stored // PayPal-Request-Id → the first answer
}

type stored struct {
	request string // method, path and a digest of the body
	status  int
	body    []byte
}

type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

type link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

type order struct {
	ID          string
	Intent      string
	Status      string // CREATED or PAYER_ACTION_REQUIRED, APPROVED, COMPLETED
	ReferenceID string
	CustomID    string
	InvoiceID   string
	Amount      money
	Cents       int64
	ReturnURL   string
	Declined    bool // approved with a funding source whose capture is denied
	Capture     *capture
	Created     time.Time
}

type capture struct {
	ID       string
	OrderID  string
	Status   string // COMPLETED, DECLINED, PARTIALLY_REFUNDED, REFUNDED
	Amount   money
	Cents    int64
	Refunded int64
	Refunds  []*refund
	Created  time.Time
}

type refund struct {
	ID          string
	CaptureID   string
	Status      string
	Amount      money
	InvoiceID   string
	CustomID    string
	NoteToPayer string
	Created     time.Time
}

func newEmulator(opts options) *emulator {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 9 * time.Hour
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 200 * time.Millisecond
	}
	e := &emulator{
		opts: opts, mux: http.NewServeMux(), hook: newDeliverer(opts),
		tokens: map[string]time.Time{}, orders: map[string]*order{}, captures: map[string]*capture{},
		refunds: map[string]*refund{}, idempotency: map[string]stored{},
	}
	e.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	e.mux.HandleFunc("PUT /_emulator/outage", e.setOutage(true))
	e.mux.HandleFunc("DELETE /_emulator/outage", e.setOutage(false))
	e.mux.HandleFunc("PUT /_emulator/webhooks/hold", e.holdWebhooks(true))
	e.mux.HandleFunc("DELETE /_emulator/webhooks/hold", e.holdWebhooks(false))
	e.mux.HandleFunc("POST /_emulator/webhooks/{id}/redeliver", e.redeliver)
	e.mux.HandleFunc("GET /_emulator/webhooks/last", e.lastDelivery)
	e.mux.HandleFunc("GET /_emulator/orders/{id}/events", e.eventsAbout)
	e.mux.HandleFunc("POST /_emulator/tokens/expire", e.expireTokens)
	e.mux.HandleFunc("POST /_emulator/orders/{id}/approve", e.approveControl)
	e.mux.HandleFunc("GET /checkoutnow", e.approvalPage)
	e.mux.HandleFunc("POST /checkoutnow", e.approveByBuyer)
	e.mux.HandleFunc("GET /v1/notifications/certs/{name}", e.cert)
	e.mux.HandleFunc("POST /v1/oauth2/token", e.token)
	e.handle("POST /v2/checkout/orders", e.createOrder)
	e.handle("GET /v2/checkout/orders/{id}", e.getOrder)
	e.handle("POST /v2/checkout/orders/{id}/capture", e.captureOrder)
	e.handle("GET /v2/payments/captures/{id}", e.getCapture)
	e.handle("POST /v2/payments/captures/{id}/refund", e.refundCapture)
	e.handle("GET /v2/payments/refunds/{id}", e.getRefund)
	return e
}

func (e *emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Close stops the webhook deliveries.
func (e *emulator) Close() { e.hook.Close() }

type result struct {
	status int
	body   any
}

type apiHandler func(r *http.Request, body []byte) result

// handle serves an authenticated API call: Bearer token checked, the
// outage applied, and a mutating call's PayPal-Request-Id honoured: the
// same id answers the first successful response again (a refused call
// may be made again under its id).
func (e *emulator) handle(pattern string, h apiHandler) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.down {
			writeJSON(w, http.StatusServiceUnavailable, apiError("SERVICE_UNAVAILABLE", "Service Unavailable.", ""))
			return
		}
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if exp, found := e.tokens[token]; !found || time.Now().After(exp) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Token signature verification failed"})
			return
		}
		key := r.Header.Get("PayPal-Request-Id")
		if len(key) > 108 {
			writeJSON(w, http.StatusBadRequest, apiError("INVALID_REQUEST", "PayPal-Request-Id is longer than 108 characters.", "INVALID_STRING_MAX_LENGTH"))
			return
		}
		sum := sha256.Sum256(body)
		request := r.Method + " " + r.URL.Path + " " + hex.EncodeToString(sum[:])
		if r.Method == http.MethodPost && key != "" {
			if prev, found := e.idempotency[key]; found {
				if prev.request != request {
					writeJSON(w, http.StatusUnprocessableEntity, apiError("UNPROCESSABLE_ENTITY", "The requested action could not be performed, semantically incorrect, or failed business validation.", "DUPLICATE_INVOICE_ID"))
					return
				}
				writeRaw(w, prev.status, prev.body)
				return
			}
		}
		res := h(r, body)
		raw, _ := json.Marshal(res.body)
		if r.Method == http.MethodPost && key != "" && res.status < 300 {
			e.idempotency[key] = stored{request: request, status: res.status, body: raw}
		}
		writeRaw(w, res.status, raw)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, _ := json.Marshal(v)
	writeRaw(w, status, raw)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Paypal-Debug-Id", randomID(13))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// apiError is PayPal's error object; issue names the detail, if any.
func apiError(name, message, issue string) map[string]any {
	out := map[string]any{"name": name, "message": message, "debug_id": randomID(13)}
	if issue != "" {
		out["details"] = []map[string]string{{"issue": issue, "description": strings.ToLower(strings.ReplaceAll(issue, "_", " "))}}
	}
	return out
}

func invalid(field, issue, description string) result {
	return result{http.StatusBadRequest, map[string]any{
		"name": "INVALID_REQUEST", "message": "Request is not well-formed, syntactically incorrect, or violates schema.",
		"debug_id": randomID(13), "details": []map[string]string{{"field": field, "location": "body", "issue": issue, "description": description}},
	}}
}

func unprocessable(issue string) result {
	return result{http.StatusUnprocessableEntity, apiError("UNPROCESSABLE_ENTITY",
		"The requested action could not be performed, semantically incorrect, or failed business validation.", issue)}
}

func notFound() result {
	return result{http.StatusNotFound, apiError("RESOURCE_NOT_FOUND", "The specified resource does not exist.", "INVALID_RESOURCE_ID")}
}

// randomID is n characters of PayPal's id alphabet.
func randomID(n int) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXY"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
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

func (e *emulator) redeliver(w http.ResponseWriter, r *http.Request) {
	if !e.hook.redeliver(r.PathValue("id")) {
		writeJSON(w, http.StatusNotFound, apiError("RESOURCE_NOT_FOUND", "No such event.", "INVALID_RESOURCE_ID"))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (e *emulator) lastDelivery(w http.ResponseWriter, _ *http.Request) {
	d, found := e.hook.last()
	if !found {
		writeJSON(w, http.StatusNotFound, apiError("RESOURCE_NOT_FOUND", "Nothing delivered yet.", ""))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (e *emulator) eventsAbout(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, e.hook.about(r.PathValue("id")))
}

func (e *emulator) expireTokens(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	clear(e.tokens)
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (e *emulator) cert(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != e.opts.Signer.name {
		writeJSON(w, http.StatusNotFound, apiError("RESOURCE_NOT_FOUND", "No such certificate.", ""))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(e.opts.Signer.certPEM)
}

// token grants a client-credentials access token to the app's client id
// and secret (HTTP Basic), as POST /v1/oauth2/token does.
func (e *emulator) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(e.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(e.opts.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.down {
		writeJSON(w, http.StatusServiceUnavailable, apiError("SERVICE_UNAVAILABLE", "Service Unavailable.", ""))
		return
	}
	token := "A21AA" + randomID(40)
	e.tokens[token] = time.Now().Add(e.opts.TokenTTL)
	writeJSON(w, http.StatusOK, map[string]any{
		"scope":        "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
		"access_token": token, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
		"expires_in": int(e.opts.TokenTTL.Seconds()), "nonce": time.Now().UTC().Format(time.RFC3339) + randomID(8),
	})
}

type createOrderRequest struct {
	Intent        string `json:"intent"`
	PurchaseUnits []struct {
		ReferenceID string `json:"reference_id"`
		CustomID    string `json:"custom_id"`
		InvoiceID   string `json:"invoice_id"`
		Amount      *money `json:"amount"`
	} `json:"purchase_units"`
	PaymentSource *struct {
		PayPal *struct {
			ExperienceContext *struct {
				ReturnURL          string `json:"return_url"`
				CancelURL          string `json:"cancel_url"`
				ShippingPreference string `json:"shipping_preference"`
				UserAction         string `json:"user_action"`
			} `json:"experience_context"`
		} `json:"paypal"`
	} `json:"payment_source"`
}

func (e *emulator) createOrder(_ *http.Request, body []byte) result {
	var in createOrderRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return invalid("/", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
	}
	if in.Intent != "CAPTURE" && in.Intent != "AUTHORIZE" {
		return invalid("/intent", "INVALID_PARAMETER_VALUE", "The value of a field is invalid.")
	}
	if in.Intent != "CAPTURE" {
		// Payments captures at once; authorizations are not emulated.
		return unprocessable("UNSUPPORTED_INTENT")
	}
	if len(in.PurchaseUnits) != 1 {
		return invalid("/purchase_units", "INVALID_ARRAY_MAX_ITEMS", "The emulator takes exactly one purchase unit.")
	}
	pu := in.PurchaseUnits[0]
	if pu.Amount == nil {
		return invalid("/purchase_units/0/amount", "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.")
	}
	cents, issue := parseAmount(*pu.Amount)
	if issue != "" {
		return invalid("/purchase_units/0/amount/value", issue, "The value of a field is invalid.")
	}
	if len(pu.CustomID) > 127 || len(pu.InvoiceID) > 127 || len(pu.ReferenceID) > 256 {
		return invalid("/purchase_units/0", "INVALID_STRING_LENGTH", "The value of a field is either too short or too long.")
	}
	o := &order{
		ID: randomID(17), Intent: in.Intent, Status: "CREATED", ReferenceID: pu.ReferenceID, CustomID: pu.CustomID,
		InvoiceID: pu.InvoiceID, Amount: *pu.Amount, Cents: cents, Created: time.Now().UTC(),
	}
	if o.ReferenceID == "" {
		o.ReferenceID = "default"
	}
	// With a PayPal payment source the buyer is sent to the payer-action
	// link, as on PayPal; without, to the approve link.
	if ps := in.PaymentSource; ps != nil && ps.PayPal != nil {
		o.Status = "PAYER_ACTION_REQUIRED"
		if ec := ps.PayPal.ExperienceContext; ec != nil {
			// The enums and URLs of PayPal's published Orders v2 document.
			switch {
			case !slices.Contains([]string{"", "GET_FROM_FILE", "NO_SHIPPING", "SET_PROVIDED_ADDRESS"}, ec.ShippingPreference):
				return invalid("/payment_source/paypal/experience_context/shipping_preference", "INVALID_PARAMETER_VALUE", "The value of a field is invalid.")
			case !slices.Contains([]string{"", "CONTINUE", "PAY_NOW"}, ec.UserAction):
				return invalid("/payment_source/paypal/experience_context/user_action", "INVALID_PARAMETER_VALUE", "The value of a field is invalid.")
			case !absoluteURL(ec.ReturnURL) || !absoluteURL(ec.CancelURL):
				return invalid("/payment_source/paypal/experience_context/return_url", "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the expected format.")
			}
			o.ReturnURL = ec.ReturnURL
		}
	}
	e.orders[o.ID] = o
	return result{http.StatusCreated, e.orderJSON(o)}
}

// absoluteURL tells whether v is empty or an absolute http(s) URL.
func absoluteURL(v string) bool {
	u, err := url.Parse(v)
	return v == "" || (err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "")
}

// decimals is the number of decimal places PayPal takes per currency:
// HUF, JPY and TWD take none.
func decimals(currency string) int {
	switch currency {
	case "HUF", "JPY", "TWD":
		return 0
	}
	return 2
}

// parseAmount returns m in minor units, or the issue PayPal names.
func parseAmount(m money) (int64, string) {
	if len(m.CurrencyCode) != 3 || strings.ToUpper(m.CurrencyCode) != m.CurrencyCode {
		return 0, "INVALID_CURRENCY_CODE"
	}
	whole, frac, dot := strings.Cut(m.Value, ".")
	d := decimals(m.CurrencyCode)
	if len(frac) > d || (dot && d == 0) {
		return 0, "DECIMAL_PRECISION"
	}
	frac += strings.Repeat("0", d-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n <= 0 || whole == "" {
		return 0, "INVALID_PARAMETER_VALUE"
	}
	return n, ""
}

func formatAmount(cents int64, currency string) money {
	d := decimals(currency)
	if d == 0 {
		return money{currency, strconv.FormatInt(cents, 10)}
	}
	return money{currency, fmt.Sprintf("%d.%02d", cents/100, cents%100)}
}

// AwaitingBuyer tells whether o waits for its buyer's approval.
func (o order) AwaitingBuyer() bool {
	return o.Status == "CREATED" || o.Status == "PAYER_ACTION_REQUIRED"
}

func (e *emulator) orderJSON(o *order) map[string]any {
	pu := map[string]any{"reference_id": o.ReferenceID, "amount": o.Amount}
	if o.CustomID != "" {
		pu["custom_id"] = o.CustomID
	}
	if o.InvoiceID != "" {
		pu["invoice_id"] = o.InvoiceID
	}
	if c := o.Capture; c != nil {
		refunds := make([]map[string]any, len(c.Refunds))
		for i, rf := range c.Refunds {
			refunds[i] = e.refundJSON(rf)
		}
		pu["payments"] = map[string]any{"captures": []map[string]any{e.captureJSON(c)}, "refunds": refunds}
	}
	self := e.opts.BaseURL + "/v2/checkout/orders/" + o.ID
	links := []link{{self, "self", "GET"}}
	switch o.Status {
	case "CREATED":
		links = append(links, link{e.opts.BaseURL + "/checkoutnow?token=" + o.ID, "approve", "GET"})
	case "PAYER_ACTION_REQUIRED":
		links = append(links, link{e.opts.BaseURL + "/checkoutnow?token=" + o.ID, "payer-action", "GET"})
	case "APPROVED":
		links = append(links, link{self + "/capture", "capture", "POST"})
	}
	out := map[string]any{
		"id": o.ID, "intent": o.Intent, "status": o.Status, "purchase_units": []any{pu},
		"create_time": o.Created.Format(time.RFC3339), "links": links,
	}
	if o.AwaitingBuyer() {
		return out
	}
	out["payer"] = map[string]any{"email_address": "buyer@example.com", "payer_id": "QYR5Z8XDVJNXQ"}
	return out
}

func (e *emulator) captureJSON(c *capture) map[string]any {
	out := map[string]any{
		"id": c.ID, "status": c.Status, "amount": c.Amount, "final_capture": true,
		"create_time": c.Created.Format(time.RFC3339), "update_time": c.Created.Format(time.RFC3339),
		"supplementary_data": map[string]any{"related_ids": map[string]string{"order_id": c.OrderID}},
		"links": []link{{e.opts.BaseURL + "/v2/payments/captures/" + c.ID, "self", "GET"},
			{e.opts.BaseURL + "/v2/payments/captures/" + c.ID + "/refund", "refund", "POST"},
			{e.opts.BaseURL + "/v2/checkout/orders/" + c.OrderID, "up", "GET"}},
	}
	if c.Status == "DECLINED" {
		out["status_details"] = map[string]string{"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
	}
	if o := e.orders[c.OrderID]; o != nil && o.CustomID != "" {
		out["custom_id"] = o.CustomID
	}
	return out
}

func (e *emulator) refundJSON(rf *refund) map[string]any {
	out := map[string]any{
		"id": rf.ID, "status": rf.Status, "amount": rf.Amount, "create_time": rf.Created.Format(time.RFC3339),
		"update_time": rf.Created.Format(time.RFC3339),
		"links": []link{{e.opts.BaseURL + "/v2/payments/refunds/" + rf.ID, "self", "GET"},
			{e.opts.BaseURL + "/v2/payments/captures/" + rf.CaptureID, "up", "GET"}},
	}
	if rf.InvoiceID != "" {
		out["invoice_id"] = rf.InvoiceID
	}
	if rf.CustomID != "" {
		out["custom_id"] = rf.CustomID
	}
	if rf.NoteToPayer != "" {
		out["note_to_payer"] = rf.NoteToPayer
	}
	return out
}

func (e *emulator) getOrder(r *http.Request, _ []byte) result {
	o, found := e.orders[r.PathValue("id")]
	if !found {
		return notFound()
	}
	return result{http.StatusOK, e.orderJSON(o)}
}

// approve approves order id as its buyer: CHECKOUT.ORDER.APPROVED.
// Called with e.mu held.
func (e *emulator) approve(id string, declined bool) (string, bool) {
	o, found := e.orders[id]
	if !found || !o.AwaitingBuyer() {
		return "", false
	}
	o.Status, o.Declined = "APPROVED", declined
	e.hook.send("CHECKOUT.ORDER.APPROVED", o.ID, "checkout-order", "An order has been approved by buyer.", e.orderJSON(o))
	return o.ReturnURL, true
}

func (e *emulator) approveControl(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	_, ok := e.approve(r.PathValue("id"), r.URL.Query().Get("funding") == "declined")
	e.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnprocessableEntity, apiError("UNPROCESSABLE_ENTITY", "The order cannot be approved.", "ORDER_CANNOT_BE_APPROVED"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

var approvalPage = template.Must(template.New("approve").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PayPal (local emulator)</title></head>
<body><h1>Pay with PayPal</h1><p>Order {{.ID}}: {{.Amount.Value}} {{.Amount.CurrencyCode}}</p>
{{if .AwaitingBuyer}}
<form method="post" action="/checkoutnow?token={{.ID}}"><button type="submit">Approve payment</button></form>
<form method="post" action="/checkoutnow?token={{.ID}}&amp;funding=declined"><button type="submit">Approve with a funding source that will be declined</button></form>
{{else}}<p>This order is {{.Status}}.</p>{{end}}
</body></html>`))

func (e *emulator) approvalPage(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	o, found := e.orders[r.URL.Query().Get("token")]
	var view order
	if found {
		view = *o
	}
	e.mu.Unlock()
	if !found {
		http.Error(w, "no such order", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = approvalPage.Execute(w, view)
}

// approveByBuyer approves from the page and sends the buyer back to the
// shop's return URL, with PayPal's token and PayerID parameters.
func (e *emulator) approveByBuyer(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("token")
	e.mu.Lock()
	back, ok := e.approve(id, r.URL.Query().Get("funding") == "declined")
	e.mu.Unlock()
	if !ok {
		http.Error(w, "this order cannot be approved", http.StatusUnprocessableEntity)
		return
	}
	if u, err := url.Parse(back); err == nil && back != "" {
		q := u.Query()
		q.Set("token", id)
		q.Set("PayerID", "QYR5Z8XDVJNXQ")
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><title>Approved</title><p>Payment approved. You can close this page.</p>")
}

// captureOrder captures an approved order in full: COMPLETED, or DECLINED
// when its buyer's funding is declined (PAYMENT.CAPTURE.DENIED). An order
// not approved answers 422 ORDER_NOT_APPROVED, one captured already 422
// ORDER_ALREADY_CAPTURED.
func (e *emulator) captureOrder(r *http.Request, _ []byte) result {
	o, found := e.orders[r.PathValue("id")]
	switch {
	case !found:
		return notFound()
	case o.Status == "COMPLETED":
		return unprocessable("ORDER_ALREADY_CAPTURED")
	case o.Status != "APPROVED":
		return unprocessable("ORDER_NOT_APPROVED")
	}
	c := &capture{ID: randomID(17), OrderID: o.ID, Status: "COMPLETED", Amount: o.Amount, Cents: o.Cents, Created: time.Now().UTC()}
	if o.Declined {
		c.Status = "DECLINED"
	}
	o.Status, o.Capture = "COMPLETED", c
	e.captures[c.ID] = c
	if c.Status == "DECLINED" {
		e.hook.send("PAYMENT.CAPTURE.DENIED", o.ID, "capture", "A payment capture was denied.", e.captureJSON(c))
	} else {
		e.hook.send("PAYMENT.CAPTURE.COMPLETED", o.ID, "capture", "Payment completed for "+o.Amount.Value+" "+o.Amount.CurrencyCode, e.captureJSON(c))
	}
	return result{http.StatusCreated, e.orderJSON(o)}
}

func (e *emulator) getCapture(r *http.Request, _ []byte) result {
	c, found := e.captures[r.PathValue("id")]
	if !found {
		return notFound()
	}
	return result{http.StatusOK, e.captureJSON(c)}
}

type refundRequest struct {
	Amount      *money `json:"amount"`
	InvoiceID   string `json:"invoice_id"`
	CustomID    string `json:"custom_id"`
	NoteToPayer string `json:"note_to_payer"`
}

// refundCapture refunds amount (all that is left without one) of a
// completed capture; more than is left answers 422 REFUND_AMOUNT_EXCEEDED.
func (e *emulator) refundCapture(r *http.Request, body []byte) result {
	c, found := e.captures[r.PathValue("id")]
	if !found {
		return notFound()
	}
	var in refundRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return invalid("/", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
		}
	}
	if c.Status != "COMPLETED" && c.Status != "PARTIALLY_REFUNDED" {
		return unprocessable("CAPTURE_FULLY_REFUNDED")
	}
	cents := c.Cents - c.Refunded
	if in.Amount != nil {
		n, issue := parseAmount(*in.Amount)
		if issue != "" {
			return invalid("/amount/value", issue, "The value of a field is invalid.")
		}
		if in.Amount.CurrencyCode != c.Amount.CurrencyCode {
			return unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH")
		}
		cents = n
	}
	if cents > c.Cents-c.Refunded {
		return unprocessable("REFUND_AMOUNT_EXCEEDED")
	}
	rf := &refund{
		ID: randomID(17), CaptureID: c.ID, Status: "COMPLETED", Amount: formatAmount(cents, c.Amount.CurrencyCode),
		InvoiceID: in.InvoiceID, CustomID: in.CustomID, NoteToPayer: in.NoteToPayer, Created: time.Now().UTC(),
	}
	c.Refunded += cents
	c.Status = "PARTIALLY_REFUNDED"
	if c.Refunded == c.Cents {
		c.Status = "REFUNDED"
	}
	c.Refunds = append(c.Refunds, rf)
	e.refunds[rf.ID] = rf
	e.hook.send("PAYMENT.CAPTURE.REFUNDED", c.OrderID, "refund", "A "+rf.Amount.Value+" "+rf.Amount.CurrencyCode+" capture payment was refunded", e.refundJSON(rf))
	return result{http.StatusCreated, e.refundJSON(rf)}
}

func (e *emulator) getRefund(r *http.Request, _ []byte) result {
	rf, found := e.refunds[r.PathValue("id")]
	if !found {
		return notFound()
	}
	return result{http.StatusOK, e.refundJSON(rf)}
}
