package httpapi

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// This file serves contracts.ReservationsPath, where the orders service
// holds and releases stock by Dapr service invocation
// (invoke/products/method/internal/...). The gateway routes no /internal
// path, and the app token check lets only the products sidecar in, so
// these routes carry no user token:
//
//	POST /internal/reservations {order_id, lines: [{product_id, quantity}]}
//	     → 200 reservation with unit prices; 409 insufficient_stock {product_ids}
//	POST /internal/reservations/{order_id}/release → 200; 404; 409 reservation_committed
//
// Each is idempotent per order id, so orders' retries are safe: reserving
// again answers the first reservation, releasing again answers the
// released one. A paid order's reservation is committed by its
// order.paid event, never by invocation.

type reserveRequest struct {
	OrderID string        `json:"order_id" validate:"required,uuid"`
	Lines   []lineRequest `json:"lines" validate:"required,min=1,max=100,dive"`
}

type lineRequest struct {
	ProductID string `json:"product_id" validate:"required,uuid"`
	Quantity  int    `json:"quantity" validate:"required,gte=1,lte=10000"`
}

type reservedLineResponse struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
	Currency       string    `json:"currency"`
}

type reservationResponse struct {
	OrderID uuid.UUID              `json:"order_id"`
	Status  string                 `json:"status"`
	Lines   []reservedLineResponse `json:"lines"`
}

func newReservationResponse(r catalog.Reservation) reservationResponse {
	out := reservationResponse{OrderID: r.OrderID, Status: string(r.Status), Lines: make([]reservedLineResponse, len(r.Lines))}
	for i, l := range r.Lines {
		out.Lines[i] = reservedLineResponse{
			ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity, UnitPriceCents: l.UnitPriceCents, Currency: l.Currency,
		}
	}
	return out
}

func (h *Handler) reserve(c *fiber.Ctx) error {
	var in reserveRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	lines := make([]catalog.Line, len(in.Lines))
	for i, l := range in.Lines {
		lines[i] = catalog.Line{ProductID: uuid.MustParse(l.ProductID), Quantity: l.Quantity}
	}
	r, err := h.catalog.Reserve(c.UserContext(), uuid.MustParse(in.OrderID), lines)
	if err != nil {
		return err
	}
	return c.JSON(newReservationResponse(r))
}

func orderID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("order_id"))
	if err != nil {
		return uuid.Nil, catalog.ErrNoReservation
	}
	return id, nil
}

func (h *Handler) release(c *fiber.Ctx) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	r, err := h.catalog.Release(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newReservationResponse(r))
}
