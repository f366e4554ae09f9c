// Package httpapi serves the orders service's REST endpoints.
package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Handler serves the cart, checkout and order routes.
type Handler struct {
	orders   *orders.Service
	carts    *orders.Carts
	verifier *authn.Verifier
}

// New returns a Handler; verifier checks every caller's token.
func New(svc *orders.Service, carts *orders.Carts, verifier *authn.Verifier) *Handler {
	return &Handler{orders: svc, carts: carts, verifier: verifier}
}

// Register mounts the routes on app, each behind token verification.
// Middleware is attached per route, so metrics label every answer, 401s
// included, with the route it was for.
func (h *Handler) Register(app fiber.Router) {
	user := authn.Require(h.verifier)
	admin := authn.RequireAdmin()
	app.Get("/api/v1/cart", user, h.viewCart)
	app.Post("/api/v1/cart/items", user, h.addToCart)
	app.Patch("/api/v1/cart/items/:product_id", user, h.setCartQuantity)
	app.Delete("/api/v1/cart/items/:product_id", user, h.removeFromCart)
	app.Delete("/api/v1/cart", user, h.clearCart)
	app.Post("/api/v1/checkout", user, h.checkout)
	app.Get("/api/v1/orders", user, h.listOrders)
	app.Get("/api/v1/orders/:id", user, orderAction(h.orders.Get))
	app.Post("/api/v1/orders/:id/cancel", user, orderAction(h.orders.Cancel))
	app.Post("/api/v1/orders/:id/ship", user, admin, orderAction(byID(h.orders.Ship)))
	app.Post("/api/v1/orders/:id/deliver", user, admin, orderAction(byID(h.orders.Deliver)))
	app.Post(contracts.ExpireOrdersPath, server.OnlyCallers(contracts.ExpireOrdersCaller), h.expire)
}

type orderResponse struct {
	ID         uuid.UUID `json:"id"`
	UserID     uuid.UUID `json:"user_id"`
	Status     string    `json:"status"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
	CreatedAt  time.Time `json:"created_at"`
}

func newOrderResponse(o orders.Order) orderResponse {
	return orderResponse{
		ID: o.ID, UserID: o.UserID, Status: string(o.Status), TotalCents: o.TotalCents,
		Currency: o.Currency, CreatedAt: o.CreatedAt.UTC(),
	}
}

func (h *Handler) listOrders(c *fiber.Ctx) error {
	viewer, err := viewerOf(c)
	if err != nil {
		return err
	}
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	q, err := parseListQuery(c)
	if err != nil {
		return err
	}
	q.Offset, q.Limit = page.Offset(), page.PageSize
	list, total, err := h.orders.List(c.UserContext(), viewer, q)
	if err != nil {
		return err
	}
	items := make([]orderResponse, len(list))
	for i, o := range list {
		items[i] = newOrderResponse(o)
	}
	return c.JSON(server.NewPage(page, items, total))
}

// parseListQuery reads the optional ?user_id= and ?status= filters,
// answering 422 naming every malformed one.
func parseListQuery(c *fiber.Ctx) (orders.ListQuery, error) {
	var q orders.ListQuery
	var fields []apperr.FieldError
	if v := c.Query("user_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			fields = append(fields, apperr.FieldError{Field: "user_id", Message: "must be a UUID"})
		}
		q.UserID = &id
	}
	if v := c.Query("status"); v != "" {
		st, ok := orders.ParseStatus(v)
		if !ok {
			fields = append(fields, apperr.FieldError{Field: "status", Message: "must be one of: " + orders.StatusNames()})
		}
		q.Status = st
	}
	if len(fields) > 0 {
		return orders.ListQuery{}, apperr.Validation(fields...)
	}
	return q, nil
}

// viewerOf is the verified caller of a route behind authn.Require.
func viewerOf(c *fiber.Ctx) (orders.Viewer, error) {
	claims, err := authn.Caller(c.UserContext())
	if err != nil {
		return orders.Viewer{}, err
	}
	return orders.Viewer{UserID: claims.UserID, Admin: claims.IsAdmin()}, nil
}
