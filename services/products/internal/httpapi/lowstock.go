package httpapi

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// LowStockPath lists the products whose available stock is below their
// threshold, for the workers' daily digest (Dapr invocation; the gateway
// routes no /internal path):
//
//	GET /internal/inventory/low-stock → 200 {items: [{product_id, sku, name, available, threshold}]}
const LowStockPath = "/internal/inventory/low-stock"

// LowStockCaller is the app whose daily digest job invokes LowStockPath.
const LowStockCaller = "workers"

// lowStockLimit keeps the digest a mail a person reads.
const lowStockLimit = 500

// LowStockLister lists the products low on stock.
type LowStockLister interface {
	LowStock(ctx context.Context, limit int) ([]catalog.LowStock, error)
}

type lowStockResponse struct {
	ProductID uuid.UUID `json:"product_id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Available int       `json:"available"`
	Threshold int       `json:"threshold"`
}

// MountLowStock serves LowStockPath from l.
func MountLowStock(app fiber.Router, l LowStockLister) {
	app.Get(LowStockPath, server.OnlyCallers(LowStockCaller), func(c *fiber.Ctx) error {
		items, err := l.LowStock(c.UserContext(), lowStockLimit)
		if err != nil {
			return err
		}
		out := make([]lowStockResponse, len(items))
		for i, it := range items {
			out[i] = lowStockResponse(it)
		}
		return c.JSON(fiber.Map{"items": out})
	})
}
