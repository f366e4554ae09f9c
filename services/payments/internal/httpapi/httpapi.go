// Package httpapi serves the payments service's REST endpoints.
package httpapi

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/authn"
)

// Store is what the handlers need from storage.
type Store interface {
	Methods(ctx context.Context, userID uuid.UUID) ([]payments.Method, error)
}

// Handler serves the payment routes.
type Handler struct {
	store    Store
	verifier *authn.Verifier
}

// New returns a Handler over store; verifier checks every caller's token.
func New(store Store, verifier *authn.Verifier) *Handler {
	return &Handler{store: store, verifier: verifier}
}

// Register mounts the routes on app, each behind token verification.
// Middleware is attached per route, so metrics label every answer, 401s
// included, with the route it was for.
func (h *Handler) Register(app fiber.Router) {
	user := authn.Require(h.verifier)
	app.Get("/api/v1/payment-methods", user, h.listMethods)
}

type methodResponse struct {
	ID       uuid.UUID `json:"id"`
	Brand    string    `json:"brand"`
	Last4    string    `json:"last4"`
	ExpMonth int       `json:"exp_month"`
	ExpYear  int       `json:"exp_year"`
	Default  bool      `json:"default"`
}

func (h *Handler) listMethods(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	userID := caller.UserID
	methods, err := h.store.Methods(c.UserContext(), userID)
	if err != nil {
		return err
	}
	out := make([]methodResponse, len(methods))
	for i, m := range methods {
		out[i] = methodResponse{ID: m.ID, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear, Default: m.Default}
	}
	return c.JSON(out)
}
