package httpapi

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type lowStockResponse struct {
	ProductID uuid.UUID `json:"product_id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Available int       `json:"available"`
	Threshold int       `json:"threshold"`
}

// lowStock serves contracts.LowStockPath: the products whose available
// stock is below their threshold, for the workers' daily digest (Dapr
// invocation; the gateway routes no /internal path):
//
//	GET /internal/inventory/low-stock → 200 {items: [{product_id, sku, name, available, threshold}]}
func (h *Handler) lowStock(c *fiber.Ctx) error {
	items, err := h.catalog.LowStock(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]lowStockResponse, len(items))
	for i, it := range items {
		out[i] = lowStockResponse(it)
	}
	return c.JSON(fiber.Map{"items": out})
}
