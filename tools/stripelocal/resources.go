package main

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

type customer struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Email    string            `json:"email,omitempty"`
	Created  int64             `json:"created"`
	Livemode bool              `json:"livemode"`
	Metadata map[string]string `json:"metadata"`
}

type card struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	Funding  string `json:"funding"`
	Country  string `json:"country"`
}

type paymentMethod struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Type     string            `json:"type"`
	Card     card              `json:"card"`
	Customer *string           `json:"customer"`
	Created  int64             `json:"created"`
	Livemode bool              `json:"livemode"`
	Metadata map[string]string `json:"metadata"`

	outcome testCard
}

// testCard is how a test PaymentMethod behaves when charged.
type testCard struct {
	brand, last4 string
	declineCode  string // empty: the charge succeeds
	// processing: a confirmation leaves the intent processing; the verdict
	// (declineCode) comes later, like an asynchronous payment method's.
	processing bool
	// pendingRefund: refunds of the charge start pending, like Stripe's
	// pm_card_pendingRefund's, until /_emulator/refunds/{id}/settle.
	pendingRefund bool
}

// testCards are Stripe's test PaymentMethod ids the emulator knows, plus
// the emulator's own pm_card_processing*, which settle asynchronously.
var testCards = map[string]testCard{
	"pm_card_visa":                                 {brand: "visa", last4: "4242"},
	"pm_card_mastercard":                           {brand: "mastercard", last4: "4444"},
	"pm_card_chargeDeclined":                       {brand: "visa", last4: "0002", declineCode: "generic_decline"},
	"pm_card_visa_chargeDeclined":                  {brand: "visa", last4: "0002", declineCode: "generic_decline"},
	"pm_card_chargeDeclinedInsufficientFunds":      {brand: "visa", last4: "9995", declineCode: "insufficient_funds"},
	"pm_card_visa_chargeDeclinedInsufficientFunds": {brand: "visa", last4: "9995", declineCode: "insufficient_funds"},
	"pm_card_processing":                           {brand: "visa", last4: "0077", processing: true},
	"pm_card_processing_chargeDeclined":            {brand: "visa", last4: "0085", processing: true, declineCode: "generic_decline"},
	"pm_card_processing_chargeDeclinedInsufficientFunds": {
		brand: "visa", last4: "0093", processing: true, declineCode: "insufficient_funds",
	},
	"pm_card_pendingRefund": {brand: "visa", last4: "7726", pendingRefund: true},
}

type lastError struct {
	Type        string `json:"type"`
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message"`
}

type paymentIntent struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Amount           int64             `json:"amount"`
	AmountReceived   int64             `json:"amount_received"`
	Currency         string            `json:"currency"`
	Customer         *string           `json:"customer"`
	PaymentMethod    *string           `json:"payment_method"`
	Status           string            `json:"status"`
	ClientSecret     string            `json:"client_secret"`
	Description      string            `json:"description,omitempty"`
	LastPaymentError *lastError        `json:"last_payment_error"`
	CanceledAt       *int64            `json:"canceled_at"`
	CancelReason     *string           `json:"cancellation_reason"`
	Created          int64             `json:"created"`
	Livemode         bool              `json:"livemode"`
	Metadata         map[string]string `json:"metadata"`

	refunded int64
	// verdict is what a processing intent settles to.
	verdict testCard
}

type refund struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	PaymentIntent string            `json:"payment_intent"`
	Status        string            `json:"status"`
	Reason        *string           `json:"reason"`
	FailureReason *string           `json:"failure_reason,omitempty"`
	Created       int64             `json:"created"`
	Metadata      map[string]string `json:"metadata"`
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (e *emulator) createCustomer(_ *http.Request, form url.Values) result {
	c := &customer{
		ID: "cus_" + randomID(14), Object: "customer", Email: form.Get("email"),
		Created: e.opts.Now().Unix(), Metadata: metadata(form),
	}
	e.customers[c.ID] = c
	return ok(c)
}

func (e *emulator) getCustomer(r *http.Request, _ url.Values) result {
	c, found := e.customers[r.PathValue("id")]
	if !found {
		return missing("customer", r.PathValue("id"))
	}
	return ok(c)
}

// method finds a PaymentMethod: an attached one, or a test id (which, like
// on Stripe, can be used directly but not listed).
func (e *emulator) method(id string) (*paymentMethod, bool) {
	if pm, found := e.methods[id]; found {
		return pm, true
	}
	tc, found := testCards[id]
	if !found {
		return nil, false
	}
	return e.newMethod(id, tc), true
}

func (e *emulator) newMethod(id string, tc testCard) *paymentMethod {
	now := e.opts.Now()
	return &paymentMethod{
		ID: id, Object: "payment_method", Type: "card",
		Card:    card{Brand: tc.brand, Last4: tc.last4, ExpMonth: int(now.Month()), ExpYear: now.Year() + 3, Funding: "credit", Country: "US"},
		Created: now.Unix(), Metadata: map[string]string{}, outcome: tc,
	}
}

func (e *emulator) getMethod(r *http.Request, _ url.Values) result {
	pm, found := e.method(r.PathValue("id"))
	if !found {
		return missing("payment_method", r.PathValue("id"))
	}
	return ok(pm)
}

// attachMethod attaches a PaymentMethod to a customer. Attaching a test id
// creates a new PaymentMethod of that card, as Stripe does.
func (e *emulator) attachMethod(r *http.Request, form url.Values) result {
	id := r.PathValue("id")
	cus := form.Get("customer")
	if _, found := e.customers[cus]; !found {
		return missing("customer", cus)
	}
	pm, found := e.methods[id]
	if !found {
		tc, isTest := testCards[id]
		if !isTest {
			return missing("payment_method", id)
		}
		pm = e.newMethod("pm_"+randomID(24), tc)
		e.methods[pm.ID] = pm
	}
	if pm.Customer != nil && *pm.Customer != cus {
		return stripeError(http.StatusBadRequest, "invalid_request_error", "payment_method_unexpected_state",
			"The payment method you provided has already been attached to a customer.")
	}
	pm.Customer = ptr(cus)
	return ok(pm)
}

func (e *emulator) detachMethod(r *http.Request, _ url.Values) result {
	pm, found := e.methods[r.PathValue("id")]
	if !found {
		return missing("payment_method", r.PathValue("id"))
	}
	if pm.Customer == nil {
		return stripeError(http.StatusBadRequest, "invalid_request_error", "payment_method_unexpected_state",
			"The payment method you provided is not attached to a customer so detachment is impossible.")
	}
	pm.Customer = nil
	return ok(pm)
}

func (e *emulator) listMethods(_ *http.Request, query url.Values) result {
	cus := query.Get("customer")
	if cus == "" {
		return invalidParam("customer", "Missing required param: customer.")
	}
	data := []*paymentMethod{}
	for _, pm := range e.methods {
		if pm.Customer != nil && *pm.Customer == cus && (query.Get("type") == "" || query.Get("type") == pm.Type) {
			data = append(data, pm)
		}
	}
	return ok(map[string]any{"object": "list", "url": "/v1/payment_methods", "has_more": false, "data": data})
}

func (e *emulator) createIntent(r *http.Request, form url.Values) result {
	amount, valid := positiveInt(form, "amount")
	if !valid {
		return invalidParam("amount", "Invalid positive integer: amount.")
	}
	currency := strings.ToLower(form.Get("currency"))
	if len(currency) != 3 {
		return invalidParam("currency", "Invalid currency: "+currency+".")
	}
	cus := form.Get("customer")
	if _, found := e.customers[cus]; cus != "" && !found {
		return missing("customer", cus)
	}
	pi := &paymentIntent{
		ID: "pi_" + randomID(24), Object: "payment_intent", Amount: amount, Currency: currency,
		Customer: ptr(cus), Status: "requires_payment_method", Description: form.Get("description"),
		Created: e.opts.Now().Unix(), Metadata: metadata(form),
	}
	pi.ClientSecret = pi.ID + "_secret_" + randomID(24)
	if pmID := form.Get("payment_method"); pmID != "" {
		if _, found := e.method(pmID); !found {
			return missing("payment_method", pmID)
		}
		pi.PaymentMethod = ptr(pmID)
		pi.Status = "requires_confirmation"
	}
	e.intents[pi.ID] = pi
	if form.Get("confirm") == "true" {
		return e.confirm(pi, "")
	}
	return ok(pi)
}

func (e *emulator) getIntent(r *http.Request, _ url.Values) result {
	pi, found := e.intents[r.PathValue("id")]
	if !found {
		return missing("payment_intent", r.PathValue("id"))
	}
	return ok(pi)
}

func (e *emulator) confirmIntent(r *http.Request, form url.Values) result {
	pi, found := e.intents[r.PathValue("id")]
	if !found {
		return missing("payment_intent", r.PathValue("id"))
	}
	return e.confirm(pi, form.Get("payment_method"))
}

// cancellationReasons are the reasons a caller may give for a cancel.
var cancellationReasons = map[string]bool{"abandoned": true, "duplicate": true, "fraudulent": true, "requested_by_customer": true}

// cancelIntent cancels an intent that has not charged yet, as Stripe does:
// from requires_payment_method, requires_confirmation, requires_action or
// requires_capture. A processing intent (an asynchronous payment under
// way) or a succeeded or canceled one cannot be cancelled: 400
// payment_intent_unexpected_state with the intent.
func (e *emulator) cancelIntent(r *http.Request, form url.Values) result {
	pi, found := e.intents[r.PathValue("id")]
	if !found {
		return missing("payment_intent", r.PathValue("id"))
	}
	reason := form.Get("cancellation_reason")
	if reason != "" && !cancellationReasons[reason] {
		return invalidParam("cancellation_reason", "Invalid cancellation_reason: must be one of abandoned, duplicate, fraudulent or requested_by_customer.")
	}
	switch pi.Status {
	case "requires_payment_method", "requires_confirmation", "requires_action", "requires_capture":
	default:
		return unexpectedState(pi, "cancel")
	}
	now := e.opts.Now().Unix()
	pi.Status, pi.CanceledAt, pi.CancelReason = "canceled", &now, ptr(reason)
	e.hook.send("payment_intent.canceled", *pi)
	return ok(pi)
}

// unexpectedState refuses to act on pi in its status.
func unexpectedState(pi *paymentIntent, action string) result {
	return result{http.StatusBadRequest, map[string]apiError{"error": {
		Type: "invalid_request_error", Code: "payment_intent_unexpected_state", PaymentIntent: pi,
		Message: "You cannot " + action + " this PaymentIntent because it has a status of " + pi.Status + ".",
	}}}
}

// confirm charges pi's PaymentMethod (pmID when given). A decline leaves
// pi in requires_payment_method with its last error and answers 402, as
// Stripe does; a processing card leaves pi processing until settle. Each
// outcome is announced by webhook.
func (e *emulator) confirm(pi *paymentIntent, pmID string) result {
	if pi.Status != "requires_payment_method" && pi.Status != "requires_confirmation" {
		return unexpectedState(pi, "confirm")
	}
	if pmID == "" && pi.PaymentMethod != nil {
		pmID = *pi.PaymentMethod
	}
	if pmID == "" {
		return invalidParam("payment_method", "You cannot confirm this PaymentIntent because it's missing a payment method.")
	}
	pm, found := e.method(pmID)
	if !found {
		return missing("payment_method", pmID)
	}
	if pm.Customer != nil && (pi.Customer == nil || *pi.Customer != *pm.Customer) {
		return invalidParam("payment_method", "The provided PaymentMethod belongs to another customer.")
	}
	pi.PaymentMethod = ptr(pmID)
	pi.LastPaymentError = nil
	if pm.outcome.processing {
		pi.Status = "processing"
		pi.verdict = pm.outcome
		e.hook.send("payment_intent.processing", *pi)
		e.settleLater(pi.ID)
		return ok(pi)
	}
	if code := pm.outcome.declineCode; code != "" {
		e.decline(pi, code)
		return result{http.StatusPaymentRequired, map[string]apiError{"error": {
			Type: "card_error", Code: "card_declined", DeclineCode: code, Message: declineMessage(code), PaymentIntent: pi,
		}}}
	}
	e.succeed(pi)
	return ok(pi)
}

// settle gives a processing intent its verdict. It reports false when pi
// is not processing.
func (e *emulator) settle(pi *paymentIntent) bool {
	if pi.Status != "processing" {
		return false
	}
	if code := pi.verdict.declineCode; code != "" {
		e.decline(pi, code)
	} else {
		e.succeed(pi)
	}
	return true
}

func (e *emulator) succeed(pi *paymentIntent) {
	pi.Status = "succeeded"
	pi.AmountReceived = pi.Amount
	e.hook.send("payment_intent.succeeded", *pi)
}

// decline returns pi to requires_payment_method with the decline as its
// last error, as Stripe does after a failed attempt.
func (e *emulator) decline(pi *paymentIntent, code string) {
	pi.Status = "requires_payment_method"
	pi.LastPaymentError = &lastError{Type: "card_error", Code: "card_declined", DeclineCode: code, Message: declineMessage(code)}
	e.hook.send("payment_intent.payment_failed", *pi)
}

func declineMessage(code string) string {
	if code == "insufficient_funds" {
		return "Your card has insufficient funds."
	}
	return "Your card was declined."
}

// createRefund refunds part or all (the default) of what is left of a
// succeeded PaymentIntent, never more.
func (e *emulator) createRefund(_ *http.Request, form url.Values) result {
	pi, found := e.intents[form.Get("payment_intent")]
	if !found {
		return missing("payment_intent", form.Get("payment_intent"))
	}
	if pi.Status != "succeeded" {
		return stripeError(http.StatusBadRequest, "invalid_request_error", "payment_intent_unexpected_state",
			"This PaymentIntent has no successful charge to refund.")
	}
	left := pi.Amount - pi.refunded
	if left == 0 {
		return stripeError(http.StatusBadRequest, "invalid_request_error", "charge_already_refunded",
			"Charge for this PaymentIntent has already been refunded.")
	}
	amount := left
	if form.Has("amount") {
		var valid bool
		if amount, valid = positiveInt(form, "amount"); !valid {
			return invalidParam("amount", "Invalid positive integer: amount.")
		}
		if amount > left {
			return invalidParam("amount", "Refund amount is greater than unrefunded amount on charge.")
		}
	}
	pi.refunded += amount
	rf := &refund{
		ID: "re_" + randomID(24), Object: "refund", Amount: amount, Currency: pi.Currency, PaymentIntent: pi.ID,
		Status: "succeeded", Reason: ptr(form.Get("reason")), Created: e.opts.Now().Unix(), Metadata: metadata(form),
	}
	if pm, found := e.method(deref(pi.PaymentMethod)); found && pm.outcome.pendingRefund {
		rf.Status = "pending"
	}
	e.refunds[rf.ID] = rf
	return ok(rf)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (e *emulator) getRefund(r *http.Request, _ url.Values) result {
	rf, found := e.refunds[r.PathValue("id")]
	if !found {
		return missing("refund", r.PathValue("id"))
	}
	return ok(rf)
}

// settleRefund gives a pending refund its verdict, succeeded or failed
// (failure_reason declined); a failed refund gives its amount back to the
// intent, as Stripe does. Each verdict is announced by refund.updated.
// It reports false when rf is not pending.
func (e *emulator) settleRefund(rf *refund, status string) bool {
	if rf.Status != "pending" {
		return false
	}
	rf.Status = status
	if status == "failed" {
		rf.FailureReason = ptr("declined")
		e.intents[rf.PaymentIntent].refunded -= rf.Amount
	}
	e.hook.send("refund.updated", *rf)
	return true
}

// listRefunds is GET /v1/refunds: every refund, or those of one
// payment_intent, newest first.
// listIntents lists every intent, or a customer's, newest first, on one
// page: tests read what was charged from it.
func (e *emulator) listIntents(_ *http.Request, query url.Values) result {
	data := []*paymentIntent{}
	for _, pi := range e.intents {
		if cus := query.Get("customer"); cus == "" || (pi.Customer != nil && *pi.Customer == cus) {
			data = append(data, pi)
		}
	}
	sort.Slice(data, func(i, j int) bool {
		if data[i].Created != data[j].Created {
			return data[i].Created > data[j].Created
		}
		return data[i].ID < data[j].ID
	})
	return ok(map[string]any{"object": "list", "url": "/v1/payment_intents", "has_more": false, "data": data})
}

func (e *emulator) listRefunds(_ *http.Request, query url.Values) result {
	data := []*refund{}
	for _, rf := range e.refunds {
		if pi := query.Get("payment_intent"); pi == "" || rf.PaymentIntent == pi {
			data = append(data, rf)
		}
	}
	sort.Slice(data, func(i, j int) bool {
		if data[i].Created != data[j].Created {
			return data[i].Created > data[j].Created
		}
		return data[i].ID < data[j].ID
	})
	return ok(map[string]any{"object": "list", "url": "/v1/refunds", "has_more": false, "data": data})
}
