// Package httpapi serves the workers' REST endpoints: the admin reports.
package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
)

// Handler serves the report routes.
type Handler struct {
	svc      *analytics.Service
	verifier *authn.Verifier
}

// New returns a Handler over svc; verifier checks every caller's token.
func New(svc *analytics.Service, verifier *authn.Verifier) *Handler {
	return &Handler{svc: svc, verifier: verifier}
}

// Register mounts the routes on app, for admins only.
func (h *Handler) Register(app fiber.Router) {
	user, admin := authn.Require(h.verifier), authn.RequireAdmin()
	app.Get("/api/v1/admin/analytics/sales", user, admin, h.sales)
}

type daySalesResponse struct {
	Date         string `json:"date"`
	Orders       int    `json:"orders"`
	RevenueCents int64  `json:"revenue_cents"`
	RefundsCents int64  `json:"refunds_cents"`
	ItemsSold    int    `json:"items_sold"`
}

func (h *Handler) sales(c *fiber.Ctx) error {
	r, err := parseRange(c)
	if err != nil {
		return err
	}
	days, err := h.svc.Sales(c.UserContext(), r)
	if err != nil {
		return err
	}
	out := make([]daySalesResponse, len(days))
	for i, d := range days {
		out[i] = daySalesResponse{
			Date: d.Day.Format(time.DateOnly), Orders: d.Orders, RevenueCents: d.RevenueCents,
			RefundsCents: d.RefundsCents, ItemsSold: d.ItemsSold,
		}
	}
	return c.JSON(out)
}

// parseRange reads the required ?from= and ?to= dates, answering 422
// naming every missing or malformed one before the range rules apply.
func parseRange(c *fiber.Ctx) (analytics.Range, error) {
	var fields []apperr.FieldError
	date := func(name string) time.Time {
		v := c.Query(name)
		if v == "" {
			fields = append(fields, apperr.FieldError{Field: name, Message: "is required"})
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			fields = append(fields, apperr.FieldError{Field: name, Message: "must be a date as YYYY-MM-DD"})
		}
		return t
	}
	from, to := date("from"), date("to")
	if len(fields) > 0 {
		return analytics.Range{}, apperr.Validation(fields...)
	}
	return analytics.NewRange(from, to)
}
