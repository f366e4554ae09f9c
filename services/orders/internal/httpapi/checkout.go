package httpapi

import (
	"cmp"
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Cart

type cartItemResponse struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
	LineTotalCents int64     `json:"line_total_cents"`
}

type cartResponse struct {
	Items      []cartItemResponse `json:"items"`
	TotalCents int64              `json:"total_cents"`
	Currency   string             `json:"currency"`
}

func newCartResponse(v orders.CartView) cartResponse {
	out := cartResponse{Items: make([]cartItemResponse, len(v.Items)), TotalCents: v.TotalCents, Currency: v.Currency}
	for i, it := range v.Items {
		out.Items[i] = cartItemResponse(it)
	}
	return out
}

type addItemRequest struct {
	ProductID string `json:"product_id" validate:"required,uuid"`
	Quantity  int    `json:"quantity" validate:"required,gte=1,lte=100"`
}

type setQuantityRequest struct {
	Quantity *int `json:"quantity" validate:"required,gte=0,lte=100"`
}

func (h *Handler) viewCart(c *fiber.Ctx) error {
	v, err := viewerOf(c)
	if err != nil {
		return err
	}
	cart, err := h.carts.View(c.UserContext(), v.UserID)
	if err != nil {
		return err
	}
	return c.JSON(newCartResponse(cart))
}

func (h *Handler) addToCart(c *fiber.Ctx) error {
	v, err := viewerOf(c)
	if err != nil {
		return err
	}
	var in addItemRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	cart, err := h.carts.Add(c.UserContext(), v.UserID, uuid.MustParse(in.ProductID), in.Quantity)
	if err != nil {
		return err
	}
	return c.JSON(newCartResponse(cart))
}

// cartProduct is the product of a cart line route; an id that is no UUID
// names no line.
func cartProduct(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("product_id"))
	if err != nil {
		return uuid.Nil, orders.ErrNotInCart
	}
	return id, nil
}

func (h *Handler) setCartQuantity(c *fiber.Ctx) error {
	v, err := viewerOf(c)
	if err != nil {
		return err
	}
	productID, err := cartProduct(c)
	if err != nil {
		return err
	}
	var in setQuantityRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	cart, err := h.carts.SetQuantity(c.UserContext(), v.UserID, productID, *in.Quantity)
	if err != nil {
		return err
	}
	return c.JSON(newCartResponse(cart))
}

func (h *Handler) removeFromCart(c *fiber.Ctx) error {
	v, err := viewerOf(c)
	if err != nil {
		return err
	}
	productID, err := cartProduct(c)
	if err != nil {
		return err
	}
	cart, err := h.carts.Remove(c.UserContext(), v.UserID, productID)
	if err != nil {
		return err
	}
	return c.JSON(newCartResponse(cart))
}

func (h *Handler) clearCart(c *fiber.Ctx) error {
	v, err := viewerOf(c)
	if err != nil {
		return err
	}
	if err := h.carts.Clear(c.UserContext(), v.UserID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// Checkout

type addressRequest struct {
	Name       string `json:"name" validate:"required,max=200"`
	Line1      string `json:"line1" validate:"required,max=200"`
	City       string `json:"city" validate:"required,max=100"`
	PostalCode string `json:"postal_code" validate:"required,max=20"`
	Country    string `json:"country" validate:"required,iso3166_1_alpha2"`
}

type checkoutRequest struct {
	ShippingAddress addressRequest `json:"shipping_address" validate:"required"`
	PaymentProvider string         `json:"payment_provider" validate:"omitempty,oneof=stripe paypal"`
}

func (h *Handler) checkout(c *fiber.Ctx) error {
	claims, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	key, err := server.IdempotencyKey(c)
	if err != nil {
		return err
	}
	var in checkoutRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	hash, err := server.RequestHash(in)
	if err != nil {
		return err
	}
	out, err := h.orders.Checkout(c.UserContext(), orders.CheckoutCommand{
		UserID: claims.UserID, Email: claims.Email, Key: key, RequestHash: hash,
		Address: orders.Address(in.ShippingAddress), PaymentProvider: in.PaymentProvider,
	})
	if err != nil {
		return err
	}
	if out.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(newOrderDetailResponse(*out.Order))
}

// Orders

type itemResponse struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
	LineTotalCents int64     `json:"line_total_cents"`
}

type addressResponse struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

type paymentResponse struct {
	Status          string `json:"status"`
	PaymentIntentID string `json:"payment_intent_id"`
	ClientSecret    string `json:"client_secret"`
	ApprovalURL     string `json:"approval_url,omitempty"`
}

type historyResponse struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// orderDetailResponse is GET /orders/{id}; payment is null until payments
// has reported on the order.
type orderDetailResponse struct {
	orderResponse
	Items           []itemResponse    `json:"items"`
	ShippingAddress addressResponse   `json:"shipping_address"`
	PaymentProvider string            `json:"payment_provider"`
	Payment         *paymentResponse  `json:"payment"`
	History         []historyResponse `json:"history"`
}

func newOrderDetailResponse(d orders.Detail) orderDetailResponse {
	out := orderDetailResponse{
		orderResponse:   newOrderResponse(d.Order),
		Items:           make([]itemResponse, len(d.Items)),
		ShippingAddress: addressResponse(d.ShippingAddress),
		History:         make([]historyResponse, len(d.History)),
		// Outcomes recorded before there was a choice name none: Stripe.
		PaymentProvider: cmp.Or(d.PaymentProvider, contracts.PaymentProviderStripe),
	}
	for i, it := range d.Items {
		out.Items[i] = itemResponse{
			ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, UnitPriceCents: it.UnitPriceCents,
			LineTotalCents: int64(it.Quantity) * it.UnitPriceCents,
		}
	}
	for i, e := range d.History {
		out.History[i] = historyResponse{Status: string(e.Status), At: e.At.UTC()}
	}
	if p := d.Payment; p.Status != "" {
		out.Payment = &paymentResponse{Status: p.Status, PaymentIntentID: p.PaymentIntentID, ClientSecret: p.ClientSecret}
		// The approval link serves only while the order awaits payment.
		if d.Status == orders.StatusPendingPayment {
			out.Payment.ApprovalURL = p.ApprovalURL
		}
	}
	return out
}

// orderID is the :id of an order route; an id that is no UUID names no
// order.
func orderID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, orders.ErrNotFound
	}
	return id, nil
}

// orderAction serves a route acting on order :id for the caller, and
// answers the order as it then stands.
func orderAction(act func(ctx context.Context, v orders.Viewer, id uuid.UUID) (orders.Detail, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := viewerOf(c)
		if err != nil {
			return err
		}
		id, err := orderID(c)
		if err != nil {
			return err
		}
		d, err := act(c.UserContext(), v, id)
		if err != nil {
			return err
		}
		return c.JSON(newOrderDetailResponse(d))
	}
}

// byID adapts an action that needs no viewer (an admin's: its route checks
// the role) to orderAction.
func byID(act func(context.Context, uuid.UUID) (orders.Detail, error)) func(context.Context, orders.Viewer, uuid.UUID) (orders.Detail, error) {
	return func(ctx context.Context, _ orders.Viewer, id uuid.UUID) (orders.Detail, error) { return act(ctx, id) }
}

// expire cancels the orders nobody paid and releases the stock of the
// checkouts abandoned before they placed an order.
func (h *Handler) expire(c *fiber.Ctx) error {
	cancelled, err := h.orders.ExpireUnpaid(c.UserContext())
	if err != nil {
		return err
	}
	released, err := h.orders.ReleaseAbandoned(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cancelled": cancelled, "released": released})
}
