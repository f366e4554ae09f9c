// Package paypalapi is the PayPal implementation of payments.Provider:
// Orders v2 (create, get, capture) and Refunds v2 on captures, with an
// OAuth2 client-credentials token cached until shortly before it expires.
// Its calls go through the payments sidecar's invocation of the `paypal`
// HTTPEndpoint, so Dapr's resiliency policy (timeout, circuit breaker)
// wraps every one; no retry loop lives here: whoever made a failed call
// makes it again, and each mutating call carries a PayPal-Request-Id
// derived from our ids, so that a retry never charges or refunds twice.
package paypalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Options configure a Client.
type Options struct {
	BaseURL                string // sidecar.EndpointURL, or PayPal itself
	ClientID, ClientSecret string
	// DaprAPIToken is sent to the sidecar on every call.
	DaprAPIToken string
	// Timeout bounds one call from here, above Dapr's own timeout.
	Timeout time.Duration
	// ReturnURL and CancelURL are where PayPal sends the buyer after the
	// approval page.
	ReturnURL, CancelURL string
	Now                  func() time.Time
}

// Client talks to PayPal.
type Client struct {
	opts Options
	http *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	traced := otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return "paypal " + r.Method + " " + spanPath(r.URL.Path)
	}))
	return &Client{opts: opts, http: &http.Client{Timeout: opts.Timeout, Transport: traced}}
}

// spanPath is path from its API version on, ids cut off, so span names
// stay few: /v2/checkout/orders/{id}/capture.
func spanPath(path string) string {
	for _, v := range []string{"/v1/", "/v2/"} {
		if i := strings.Index(path, v); i >= 0 {
			path = path[i:]
			break
		}
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if i > 2 && p != "" && p != "capture" && p != "refund" && p != "orders" && p != "captures" && p != "refunds" && p != "token" {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// tokenMargin is how long before its expiry a token is replaced, so that
// no call goes out with one about to lapse.
const tokenMargin = 5 * time.Minute

// accessToken returns the cached token, asking PayPal for a new one when
// there is none, it is about to expire, or stale (a 401 said so).
func (c *Client) accessToken(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != stale && c.opts.Now().Before(c.expires.Add(-tokenMargin)) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.BaseURL+"/v1/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(c.opts.ClientID, c.opts.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	c.sidecarToken(req)
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.send(req, &out); err != nil {
		return "", fmt.Errorf("get access token: %w", err)
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("get access token: %w: no token in the answer", errUnavailable)
	}
	c.token, c.expires = out.AccessToken, c.opts.Now().Add(time.Duration(out.ExpiresIn)*time.Second)
	return c.token, nil
}

func (c *Client) sidecarToken(req *http.Request) {
	if c.opts.DaprAPIToken != "" {
		req.Header.Set("dapr-api-token", c.opts.DaprAPIToken)
	}
}

// call makes an API call with the access token; requestID, set on every
// mutating call, is its PayPal-Request-Id. A 401 (the token revoked or
// expired early) fetches a new token and tries once more.
func (c *Client) call(ctx context.Context, method, path, requestID string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		token, err := c.accessToken(ctx, stale)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, c.opts.BaseURL+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if requestID != "" {
			req.Header.Set("PayPal-Request-Id", requestID)
			req.Header.Set("Prefer", "return=representation")
		}
		c.sidecarToken(req)
		err = c.send(req, out)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			stale = token
			continue
		}
		return err
	}
}

// APIError is PayPal's answer to a call it refused (4xx): its name (e.g.
// UNPROCESSABLE_ENTITY) and the first detail's issue (e.g.
// REFUND_AMOUNT_EXCEEDED).
type APIError struct {
	Status int
	Name   string
	Issue  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("paypal %d %s %s", e.Status, e.Name, e.Issue)
}

// Unwrap makes a refusal payments.ErrProviderRefused. A 401 (our
// credentials), 409 (the same request id still in progress) or 429 is no
// verdict on the request: its outcome is unknown, as after an outage.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusConflict, http.StatusTooManyRequests:
		return errUnavailable
	}
	return payments.ErrProviderRefused
}

// errUnavailable is PayPal, or the way to it, failing: the sidecar's
// circuit breaker open, a timeout, a 5xx.
var errUnavailable = apperr.New(apperr.Unavailable, "the payment provider is unavailable")

// send does req and decodes a 2xx answer into out; a 4xx is an *APIError,
// anything else errUnavailable.
func (c *Client) send(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: unreadable answer: %w", errUnavailable, err)
		}
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		var body struct {
			Name    string `json:"name"`
			Error   string `json:"error"`
			Details []struct {
				Issue string `json:"issue"`
			} `json:"details"`
		}
		_ = json.Unmarshal(raw, &body)
		ae := &APIError{Status: resp.StatusCode, Name: body.Name}
		if ae.Name == "" {
			ae.Name = body.Error // OAuth2's error shape
		}
		if len(body.Details) > 0 {
			ae.Issue = body.Details[0].Issue
		}
		return ae
	}
	return fmt.Errorf("%w: status %d", errUnavailable, resp.StatusCode)
}

// Money is PayPal's amount: a currency and a decimal string.
type Money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

// amount is cents (ISO 4217 minor units, as the shop keeps every price)
// of currency as PayPal writes it. JPY has no minor unit in either. HUF
// and TWD have two in ISO 4217 but PayPal takes whole units only: a whole
// amount is sent in units, exactly; any other is refused here
// (payments.ErrProviderRefused), since sending the minor units as whole
// ones would charge a hundred times the price. Checkout and refunds
// refuse such amounts before (contracts.Payable).
func amount(cents int64, currency string) (Money, error) {
	currency = strings.ToUpper(currency)
	if !contracts.Payable(contracts.PaymentProviderPayPal, currency, cents) {
		return Money{}, fmt.Errorf("%w: PayPal takes no amount of %d hundredths of %s", payments.ErrProviderRefused, cents, currency)
	}
	switch currency {
	case "JPY":
		return Money{currency, strconv.FormatInt(cents, 10)}, nil
	case "HUF", "TWD":
		return Money{currency, strconv.FormatInt(cents/100, 10)}, nil
	}
	return Money{currency, fmt.Sprintf("%d.%02d", cents/100, cents%100)}, nil
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type capture struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Amount Money  `json:"amount"`
	Detail *struct {
		Reason string `json:"reason"`
	} `json:"status_details"`
}

type refund struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	CustomID string `json:"custom_id"`
}

// order is the part of an Orders v2 order payments reads.
type order struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	PurchaseUnits []struct {
		Payments *struct {
			Captures []capture `json:"captures"`
			Refunds  []refund  `json:"refunds"`
		} `json:"payments"`
	} `json:"purchase_units"`
	Links []link `json:"links"`
}

func (o order) capture() (capture, bool) {
	for _, pu := range o.PurchaseUnits {
		if pu.Payments != nil && len(pu.Payments.Captures) > 0 {
			return pu.Payments.Captures[0], true
		}
	}
	return capture{}, false
}

// intent is the provider's view of order o. Its approval link is the
// "payer-action" link when a payment source was given, "approve" without.
func (o order) intent() payments.Intent {
	i := payments.Intent{ID: o.ID}
	switch o.Status {
	case "APPROVED":
		i.Status = payments.IntentAwaitingCapture
	case "VOIDED":
		i.Status = payments.IntentCancelled
	case "COMPLETED":
		c, _ := o.capture()
		switch c.Status {
		case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED":
			i.Status = payments.IntentSucceeded
		case "DECLINED", "FAILED":
			reason := ""
			if c.Detail != nil {
				reason = c.Detail.Reason
			}
			i.Status, i.FailureMessage = payments.IntentAwaitingMethod, captureFailure(c.Status, reason)
		default: // PENDING, or a capture this answer does not show: PayPal
			// may hold the money, so nothing is cancelled until it says.
			i.Status = payments.IntentProcessing
		}
	default: // CREATED, SAVED, PAYER_ACTION_REQUIRED
		i.Status = payments.IntentAwaitingClient
		for _, l := range o.Links {
			if l.Rel == "payer-action" || l.Rel == "approve" {
				i.ApprovalURL = l.Href
			}
		}
	}
	return i
}

type purchaseUnit struct {
	ReferenceID string `json:"reference_id"`
	CustomID    string `json:"custom_id"`
	InvoiceID   string `json:"invoice_id"`
	Amount      Money  `json:"amount"`
}

type experienceContext struct {
	ShippingPreference string `json:"shipping_preference"`
	UserAction         string `json:"user_action"`
	ReturnURL          string `json:"return_url,omitempty"`
	CancelURL          string `json:"cancel_url,omitempty"`
}

type createOrder struct {
	Intent        string         `json:"intent"`
	PurchaseUnits []purchaseUnit `json:"purchase_units"`
	PaymentSource struct {
		PayPal struct {
			ExperienceContext experienceContext `json:"experience_context"`
		} `json:"paypal"`
	} `json:"payment_source"`
}

// CreateIntent creates the PayPal order of a shop order, to be captured at
// once after the buyer approves it; idempotent per order id. req.CardID
// and req.CustomerID are Stripe's and play no part.
func (c *Client) CreateIntent(ctx context.Context, req payments.IntentRequest) (payments.Intent, error) {
	amt, err := amount(req.AmountCents, req.Currency)
	if err != nil {
		return payments.Intent{}, fmt.Errorf("create paypal order for order %s: %w", req.OrderID, err)
	}
	in := createOrder{Intent: "CAPTURE", PurchaseUnits: []purchaseUnit{{
		ReferenceID: req.OrderID.String(), CustomID: req.OrderID.String(), InvoiceID: req.OrderID.String(), Amount: amt,
	}}}
	in.PaymentSource.PayPal.ExperienceContext = experienceContext{
		ShippingPreference: "NO_SHIPPING", UserAction: "PAY_NOW", ReturnURL: c.opts.ReturnURL, CancelURL: c.opts.CancelURL,
	}
	var o order
	if err := c.call(ctx, http.MethodPost, "/v2/checkout/orders", "order-create-"+req.OrderID.String(), in, &o); err != nil {
		return payments.Intent{}, fmt.Errorf("create paypal order for order %s: %w", req.OrderID, err)
	}
	return o.intent(), nil
}

// Intent reads a PayPal order.
func (c *Client) Intent(ctx context.Context, id string) (payments.Intent, error) {
	o, err := c.order(ctx, id)
	if err != nil {
		return payments.Intent{}, err
	}
	return o.intent(), nil
}

// captureFailure is why a capture failed, worded the same whether the
// capture's answer or its webhook tells first: the order keeps the message
// of whichever settles it.
func captureFailure(status, reason string) string {
	msg := "capture " + strings.ToLower(status)
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}

func (c *Client) order(ctx context.Context, id string) (order, error) {
	var o order
	if err := c.call(ctx, http.MethodGet, "/v2/checkout/orders/"+url.PathEscape(id), "", nil, &o); err != nil {
		return order{}, fmt.Errorf("read paypal order %s: %w", id, err)
	}
	return o, nil
}

// Capture captures an approved order in full; key makes it idempotent. An
// order captured already, or not approved (yet), is read and returned as
// it stands; a declined instrument is a declined intent.
func (c *Client) Capture(ctx context.Context, key, id string) (payments.Intent, error) {
	var o order
	err := c.call(ctx, http.MethodPost, "/v2/checkout/orders/"+url.PathEscape(id)+"/capture", key, struct{}{}, &o)
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Issue == "INSTRUMENT_DECLINED":
		return payments.Intent{ID: id, Status: payments.IntentAwaitingMethod, FailureMessage: "instrument declined"}, nil
	case errors.As(err, &ae) && (ae.Issue == "ORDER_ALREADY_CAPTURED" || ae.Issue == "ORDER_NOT_APPROVED"):
		return c.Intent(ctx, id)
	case err != nil:
		return payments.Intent{}, fmt.Errorf("capture paypal order %s: %w", id, err)
	}
	return o.intent(), nil
}

// Refund refunds amountCents of the capture of order intentID as our
// refund refundID: the request id derives from it, and it is the refund's
// custom_id, which FindRefund looks for.
func (c *Client) Refund(ctx context.Context, refundID uuid.UUID, intentID string, amountCents int64) (payments.ProviderRefund, error) {
	o, err := c.order(ctx, intentID)
	if err != nil {
		return payments.ProviderRefund{}, err
	}
	cp, found := o.capture()
	if !found {
		return payments.ProviderRefund{}, fmt.Errorf("refund paypal order %s: %w: nothing captured", intentID, payments.ErrProviderRefused)
	}
	amt, err := amount(amountCents, cp.Amount.CurrencyCode)
	if err != nil {
		return payments.ProviderRefund{}, fmt.Errorf("refund paypal capture %s: %w", cp.ID, err)
	}
	in := struct {
		Amount   Money  `json:"amount"`
		CustomID string `json:"custom_id"`
	}{amt, refundID.String()}
	var rf refund
	if err := c.call(ctx, http.MethodPost, "/v2/payments/captures/"+url.PathEscape(cp.ID)+"/refund", "refund-"+refundID.String(), in, &rf); err != nil {
		return payments.ProviderRefund{}, fmt.Errorf("refund paypal capture %s: %w", cp.ID, err)
	}
	return payments.ProviderRefund{ID: rf.ID, Status: refundStatus(rf.Status)}, nil
}

// FindRefund finds among the refunds of order intentID the one made as
// refundID (its custom_id).
func (c *Client) FindRefund(ctx context.Context, refundID uuid.UUID, intentID string) (payments.ProviderRefund, error) {
	o, err := c.order(ctx, intentID)
	if err != nil {
		return payments.ProviderRefund{}, err
	}
	for _, pu := range o.PurchaseUnits {
		if pu.Payments == nil {
			continue
		}
		for _, rf := range pu.Payments.Refunds {
			if rf.CustomID == refundID.String() {
				return payments.ProviderRefund{ID: rf.ID, Status: refundStatus(rf.Status)}, nil
			}
		}
	}
	return payments.ProviderRefund{}, payments.ErrNotFound
}

// CancelIntent makes sure order id never charges. Orders v2 has no call
// that voids an order of intent CAPTURE: one not captured simply expires,
// and payments never captures the order of a cancelled payment. So an
// order not captured is reported cancelled; a captured one (succeeded, or
// a capture still pending) is returned as it stands.
func (c *Client) CancelIntent(ctx context.Context, _, id string, _ payments.CancelReason) (payments.Intent, error) {
	i, err := c.Intent(ctx, id)
	if err != nil {
		return payments.Intent{}, err
	}
	if i.Status != payments.IntentSucceeded && i.Status != payments.IntentProcessing {
		i.Status, i.ApprovalURL = payments.IntentCancelled, ""
	}
	return i, nil
}

// refundStatus maps a refund's status to the domain's.
func refundStatus(s string) string {
	switch s {
	case "COMPLETED":
		return payments.RefundSucceeded
	case "FAILED", "CANCELLED":
		return payments.RefundFailed
	}
	return payments.RefundPending // PENDING
}
