// Package httpapi serves the auth service's REST endpoints.
package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/auth/internal/keys"
)

// Handler serves the auth routes.
type Handler struct {
	keys keys.Set
}

// New returns a Handler signing with keys.
func New(keys keys.Set) *Handler { return &Handler{keys: keys} }

// Register mounts the routes on app.
func (h *Handler) Register(app fiber.Router) {
	app.Get("/.well-known/jwks.json", h.jwks)
}

func (h *Handler) jwks(c *fiber.Ctx) error {
	// Verifiers cache keys and refetch on an unknown key id, so a short
	// max-age is enough to pick up rotations.
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(h.keys.JWKS())
}
