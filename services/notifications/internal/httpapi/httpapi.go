// Package httpapi serves the notifications service's REST endpoints.
package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Store is what the handlers need from storage.
type Store interface {
	Deliveries(ctx context.Context, q notifications.ListQuery) ([]notifications.Delivery, int, error)
	Preferences(ctx context.Context, userID uuid.UUID) (notifications.Preferences, error)
}

// Handler serves the notification routes.
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
	app.Get("/api/v1/notifications", user, h.listDeliveries)
	app.Get("/api/v1/notifications/preferences", user, h.getPreferences)
}

type deliveryResponse struct {
	ID        uuid.UUID `json:"id"`
	Channel   string    `json:"channel"`
	Template  string    `json:"template"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

type preferencesResponse struct {
	Email bool `json:"email"`
	SMS   bool `json:"sms"`
	Push  bool `json:"push"`
}

func (h *Handler) listDeliveries(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	userID := caller.UserID
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	list, total, err := h.store.Deliveries(c.UserContext(),
		notifications.ListQuery{UserID: userID, Offset: page.Offset(), Limit: page.PageSize})
	if err != nil {
		return err
	}
	items := make([]deliveryResponse, len(list))
	for i, d := range list {
		items[i] = deliveryResponse{
			ID: d.ID, Channel: string(d.Channel), Template: d.Template, Status: string(d.Status), CreatedAt: d.CreatedAt.UTC(),
		}
	}
	return c.JSON(server.NewPage(page, items, total))
}

func (h *Handler) getPreferences(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	userID := caller.UserID
	p, err := h.store.Preferences(c.UserContext(), userID)
	if err != nil {
		return err
	}
	return c.JSON(preferencesResponse{Email: p.Email, SMS: p.SMS, Push: p.Push})
}
