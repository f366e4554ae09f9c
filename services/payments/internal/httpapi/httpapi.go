// Package httpapi serves the payments service's REST endpoints and the
// Stripe and PayPal webhooks.
package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/payments/internal/invoicepdf"
	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/paypalapi"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Service is what the handlers need from the payment flows.
type Service interface {
	Methods(ctx context.Context, userID uuid.UUID) ([]payments.Method, error)
	AddMethod(ctx context.Context, userID uuid.UUID, email, token string) (payments.Method, error)
	RemoveMethod(ctx context.Context, userID, id uuid.UUID) error
	MakeDefault(ctx context.Context, userID, id uuid.UUID) (payments.Method, error)
	PaymentsOfOrder(ctx context.Context, orderID uuid.UUID) ([]payments.Payment, error)
	Settle(ctx context.Context, evt payments.WebhookEvent) error
	Refund(ctx context.Context, req payments.RefundRequest) (payments.Refund, error)
	Invoices(ctx context.Context, orderID uuid.UUID) ([]payments.Invoice, error)
	Invoice(ctx context.Context, id uuid.UUID) (payments.Invoice, error)
}

// Webhooks verifies a provider's webhook deliveries.
type Webhooks interface {
	Parse(payload []byte, signature string) (payments.WebhookEvent, error)
}

// PayPalWebhooks verifies PayPal's webhook deliveries.
type PayPalWebhooks interface {
	Parse(ctx context.Context, payload []byte, t paypalapi.Transmission) (payments.WebhookEvent, error)
}

// Handler serves the payment routes.
type Handler struct {
	svc      Service
	webhooks Webhooks
	paypal   PayPalWebhooks
	verifier *authn.Verifier
}

// New returns a Handler over svc; verifier checks every caller's token,
// webhooks the provider's signatures.
func New(svc Service, webhooks Webhooks, verifier *authn.Verifier) *Handler {
	return &Handler{svc: svc, webhooks: webhooks, verifier: verifier}
}

// WithPayPal serves PayPal's webhook, verified by webhooks.
func (h *Handler) WithPayPal(webhooks PayPalWebhooks) *Handler {
	h.paypal = webhooks
	return h
}

// Register mounts the routes on app. Middleware is attached per route, so
// metrics label every answer, 401s included, with the route it was for.
// The webhook carries no token: Stripe signs it instead.
func (h *Handler) Register(app fiber.Router) {
	user := authn.Require(h.verifier)
	app.Get("/api/v1/payment-methods", user, h.listMethods)
	app.Post("/api/v1/payment-methods", user, h.addMethod)
	app.Delete("/api/v1/payment-methods/:id", user, h.removeMethod)
	app.Post("/api/v1/payment-methods/:id/default", user, h.makeDefault)
	app.Get("/api/v1/payments", user, h.listPayments)
	app.Post("/api/v1/payments/:id/refunds", user, authn.RequireAdmin(), h.refund)
	app.Post("/api/v1/payments/webhooks/stripe", h.stripeWebhook)
	if h.paypal != nil {
		app.Post("/api/v1/payments/webhooks/paypal", h.paypalWebhook)
	}
	app.Get("/api/v1/invoices", user, h.listInvoices)
	app.Get("/api/v1/invoices/:id", user, h.invoice)
}

type methodResponse struct {
	ID       uuid.UUID `json:"id"`
	Brand    string    `json:"brand"`
	Last4    string    `json:"last4"`
	ExpMonth int       `json:"exp_month"`
	ExpYear  int       `json:"exp_year"`
	Default  bool      `json:"default"`
}

func newMethodResponse(m payments.Method) methodResponse {
	return methodResponse{ID: m.ID, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear, Default: m.Default}
}

func (h *Handler) listMethods(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	methods, err := h.svc.Methods(c.UserContext(), caller.UserID)
	if err != nil {
		return err
	}
	out := make([]methodResponse, len(methods))
	for i, m := range methods {
		out[i] = newMethodResponse(m)
	}
	return c.JSON(out)
}

type addMethodRequest struct {
	PaymentMethod string `json:"payment_method" validate:"required,startswith=pm_,max=255"`
}

func (h *Handler) addMethod(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	var in addMethodRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	m, err := h.svc.AddMethod(c.UserContext(), caller.UserID, caller.Email, in.PaymentMethod)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newMethodResponse(m))
}

// callerAndCard reads the caller and the card the path names; a path
// naming no card names none of the caller's.
func callerAndCard(c *fiber.Ctx) (*authn.Claims, uuid.UUID, error) {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return nil, uuid.Nil, err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, uuid.Nil, payments.ErrMethodNotFound
	}
	return caller, id, nil
}

func (h *Handler) removeMethod(c *fiber.Ctx) error {
	caller, id, err := callerAndCard(c)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveMethod(c.UserContext(), caller.UserID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) makeDefault(c *fiber.Ctx) error {
	caller, id, err := callerAndCard(c)
	if err != nil {
		return err
	}
	m, err := h.svc.MakeDefault(c.UserContext(), caller.UserID, id)
	if err != nil {
		return err
	}
	return c.JSON(newMethodResponse(m))
}

type refundResponse struct {
	ID          uuid.UUID `json:"id"`
	AmountCents int64     `json:"amount_cents"`
	Currency    string    `json:"currency"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

func newRefundResponse(r payments.Refund) refundResponse {
	return refundResponse{ID: r.ID, AmountCents: r.AmountCents, Currency: r.Currency, Status: r.Status, CreatedAt: r.CreatedAt}
}

type paymentResponse struct {
	ID              uuid.UUID        `json:"id"`
	OrderID         uuid.UUID        `json:"order_id"`
	Status          payments.Status  `json:"status"`
	PaymentIntentID string           `json:"payment_intent_id"`
	ClientSecret    string           `json:"client_secret,omitempty"`
	Provider        string           `json:"provider"`
	ApprovalURL     string           `json:"approval_url,omitempty"`
	AmountCents     int64            `json:"amount_cents"`
	RefundedCents   int64            `json:"refunded_cents"`
	Currency        string           `json:"currency"`
	FailureMessage  string           `json:"failure_message,omitempty"`
	Refunds         []refundResponse `json:"refunds"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
}

// newPaymentResponse shows p to caller; the client secret, which lets its
// holder confirm the payment, and the approval link only to its owner.
func newPaymentResponse(caller *authn.Claims, p payments.Payment) paymentResponse {
	r := paymentResponse{
		ID: p.ID, OrderID: p.OrderID, Status: p.Status, PaymentIntentID: p.IntentID, Provider: p.Provider, AmountCents: p.AmountCents,
		RefundedCents: p.RefundedCents, Currency: p.Currency, FailureMessage: p.FailureMessage,
		Refunds: make([]refundResponse, len(p.Refunds)), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if p.UserID == caller.UserID {
		r.ClientSecret = p.ClientSecret
		if p.Status == payments.StatusPending {
			r.ApprovalURL = p.ApprovalURL
		}
	}
	for i, rf := range p.Refunds {
		r.Refunds[i] = newRefundResponse(rf)
	}
	return r
}

var errOrderIDRequired = apperr.Validation(apperr.FieldError{Field: "order_id", Message: "must be a UUID"})

// sees tells whether caller may see what owner's payments produced: owners
// and admins may; to anyone else it does not exist.
func sees(caller *authn.Claims, owner uuid.UUID) bool {
	return owner == caller.UserID || caller.IsAdmin()
}

// listOfOrder answers what list finds for the order named by the required
// ?order_id=, each as respond shows it to the caller, leaving out what
// the caller does not see (see sees).
func listOfOrder[T, R any](c *fiber.Ctx, list func(context.Context, uuid.UUID) ([]T, error), owner func(T) uuid.UUID,
	respond func(*authn.Claims, T) R) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	orderID, err := uuid.Parse(c.Query("order_id"))
	if err != nil {
		return errOrderIDRequired
	}
	found, err := list(c.UserContext(), orderID)
	if err != nil {
		return err
	}
	out := []R{}
	for _, item := range found {
		if sees(caller, owner(item)) {
			out = append(out, respond(caller, item))
		}
	}
	return c.JSON(out)
}

// listPayments shows an order's payments to its owner and to admins; to
// anyone else the order has none.
func (h *Handler) listPayments(c *fiber.Ctx) error {
	return listOfOrder(c, h.svc.PaymentsOfOrder, func(p payments.Payment) uuid.UUID { return p.UserID }, newPaymentResponse)
}

type refundRequest struct {
	// Absent or null: all that is left; 0 is no amount to refund.
	AmountCents *int64 `json:"amount_cents" validate:"omitempty,gt=0"`
}

// refund gives back part or (without an amount) all of what is left of a
// payment, once per Idempotency-Key: a retry answers the first answer
// again; 409 above what is left.
func (h *Handler) refund(c *fiber.Ctx) error {
	paymentID, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return payments.ErrPaymentNotFound
	}
	key, err := server.IdempotencyKey(c)
	if err != nil {
		return err
	}
	var in refundRequest
	if len(c.Body()) > 0 {
		if err := server.Decode(c, &in); err != nil {
			return err
		}
	}
	// No body and a null amount hash alike: both ask for the rest.
	hash, err := server.RequestHash(in)
	if err != nil {
		return err
	}
	req := payments.RefundRequest{PaymentID: paymentID, Key: key, RequestHash: hash}
	if in.AmountCents != nil {
		req.AmountCents = *in.AmountCents
	}
	r, err := h.svc.Refund(c.UserContext(), req)
	if err != nil {
		return err
	}
	if r.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(newRefundResponse(r))
}

type invoiceResponse struct {
	ID            uuid.UUID       `json:"id"`
	Number        string          `json:"number"`
	OrderID       uuid.UUID       `json:"order_id"`
	PaymentID     uuid.UUID       `json:"payment_id"`
	Lines         []payments.Line `json:"lines"`
	SubtotalCents int64           `json:"subtotal_cents"`
	TaxCents      int64           `json:"tax_cents"`
	TotalCents    int64           `json:"total_cents"`
	Currency      string          `json:"currency"`
	IssuedAt      time.Time       `json:"issued_at"`
}

func newInvoiceResponse(inv payments.Invoice) invoiceResponse {
	return invoiceResponse{
		ID: inv.ID, Number: inv.DisplayNumber(), OrderID: inv.OrderID, PaymentID: inv.PaymentID, Lines: inv.Lines,
		SubtotalCents: inv.SubtotalCents, TaxCents: inv.TaxCents, TotalCents: inv.TotalCents, Currency: inv.Currency, IssuedAt: inv.IssuedAt,
	}
}

// listInvoices shows an order's invoices to its owner and to admins; to
// anyone else the order has none.
func (h *Handler) listInvoices(c *fiber.Ctx) error {
	return listOfOrder(c, h.svc.Invoices, func(inv payments.Invoice) uuid.UUID { return inv.UserID },
		func(_ *authn.Claims, inv payments.Invoice) invoiceResponse { return newInvoiceResponse(inv) })
}

// invoice answers JSON, or a PDF to clients that ask for one. Another
// user's invoice does not exist for the caller.
func (h *Handler) invoice(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return payments.ErrInvoiceNotFound
	}
	inv, err := h.svc.Invoice(c.UserContext(), id)
	if err != nil {
		return err
	}
	if !sees(caller, inv.UserID) {
		return payments.ErrInvoiceNotFound
	}
	if c.Accepts(fiber.MIMEApplicationJSON, mimePDF) != mimePDF {
		return c.JSON(newInvoiceResponse(inv))
	}
	doc, err := invoicepdf.Render(inv)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, mimePDF)
	c.Set(fiber.HeaderContentDisposition, `inline; filename="invoice-`+inv.DisplayNumber()+`.pdf"`)
	return c.Send(doc)
}

const mimePDF = "application/pdf"

// stripeWebhook verifies a delivery and applies it once. A replayed event
// id is acknowledged and ignored; an intent not recorded yet answers 503,
// so Stripe delivers it again.
func (h *Handler) stripeWebhook(c *fiber.Ctx) error {
	// Parse copies what it keeps out of the body, which Fiber reuses.
	evt, err := h.webhooks.Parse(c.Body(), c.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	if err := h.svc.Settle(c.UserContext(), evt); err != nil {
		return err // payments.ErrUnknownIntent is a 503
	}
	return c.JSON(fiber.Map{"received": true})
}

// paypalWebhook verifies a PayPal delivery and applies it once, as
// stripeWebhook does: a forged, stale or replayed delivery is a 400 and
// changes nothing.
func (h *Handler) paypalWebhook(c *fiber.Ctx) error {
	// The body is copied: verification may wait on fetching a certificate,
	// and Parse must not keep Fiber's buffer.
	evt, err := h.paypal.Parse(c.UserContext(), append([]byte(nil), c.Body()...), paypalapi.Transmission{
		ID: c.Get("Paypal-Transmission-Id"), Time: c.Get("Paypal-Transmission-Time"), Sig: c.Get("Paypal-Transmission-Sig"),
		CertURL: c.Get("Paypal-Cert-Url"), AuthAlgo: c.Get("Paypal-Auth-Algo"),
	})
	if err != nil {
		return err
	}
	if err := h.svc.Settle(c.UserContext(), evt); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"received": true})
}
