// Package httpapi serves the catalog's REST endpoints: the public ones the
// gateway proxies, and the internal ones the orders service invokes through
// Dapr (see internal.go).
package httpapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// Handler serves the catalog routes.
type Handler struct {
	catalog  *catalog.Service
	verifier *authn.Verifier
}

// New returns a Handler over the catalog service; verifier checks admins'
// tokens.
func New(svc *catalog.Service, verifier *authn.Verifier) *Handler {
	return &Handler{catalog: svc, verifier: verifier}
}

// Register mounts the routes on app. Middleware is attached per route, so
// metrics label every answer, 401s and 403s included, with its route.
func (h *Handler) Register(app fiber.Router) {
	user := authn.Require(h.verifier)
	admin := authn.RequireAdmin()

	app.Get("/api/v1/products", h.listProducts)
	app.Post("/api/v1/products", user, admin, h.createProduct)
	app.Get("/api/v1/products/:id", h.getProduct)
	app.Patch("/api/v1/products/:id", user, admin, h.updateProduct)
	app.Delete("/api/v1/products/:id", user, admin, h.deleteProduct)
	app.Get("/api/v1/products/:id/inventory", user, admin, h.getStock)
	app.Post("/api/v1/products/:id/inventory/adjustments", user, admin, h.adjustStock)

	app.Get("/api/v1/categories", h.listCategories)
	app.Post("/api/v1/categories", user, admin, h.createCategory)
	app.Get("/api/v1/categories/:id", h.getCategory)
	app.Patch("/api/v1/categories/:id", user, admin, h.updateCategory)
	app.Delete("/api/v1/categories/:id", user, admin, h.deleteCategory)

	orders := server.OnlyCallers(contracts.ReservationsCaller)
	app.Post(contracts.ReservationsPath, orders, h.reserve)
	app.Post(contracts.ReservationsPath+"/:order_id/release", orders, h.release)

	app.Get(contracts.LowStockPath, server.OnlyCallers(contracts.LowStockCaller), h.lowStock)
}

type productResponse struct {
	ID                uuid.UUID  `json:"id"`
	SKU               string     `json:"sku"`
	Name              string     `json:"name"`
	Description       string     `json:"description"`
	PriceCents        int64      `json:"price_cents"`
	Currency          string     `json:"currency"`
	CategoryID        *uuid.UUID `json:"category_id"`
	Available         int        `json:"available"`
	LowStockThreshold int        `json:"low_stock_threshold"`
	Active            bool       `json:"active"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func newProductResponse(p catalog.Product) productResponse {
	return productResponse{
		ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description, PriceCents: p.PriceCents,
		Currency: p.Currency, CategoryID: p.CategoryID, Available: p.Available, LowStockThreshold: p.LowStockThreshold,
		Active: p.Active, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

// productID reads the :id parameter; a malformed id names no product.
func productID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, catalog.ErrNotFound
	}
	return id, nil
}

// maxQueryText bounds search text: longer input buys nothing but work.
const maxQueryText = 200

// parseListQuery reads the listing filters, answering 422 for every
// malformed one.
func parseListQuery(c *fiber.Ctx) (server.PageRequest, catalog.ListQuery, error) {
	page, err := server.ParsePage(c)
	if err != nil {
		return server.PageRequest{}, catalog.ListQuery{}, err
	}
	q := catalog.ListQuery{
		Text:   strings.Join(strings.Fields(c.Query("q")), " "),
		Sort:   catalog.Sort(c.Query("sort")),
		Offset: page.Offset(), Limit: page.PageSize,
	}
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	if len(q.Text) > maxQueryText {
		bad("q", "must have at most 200 characters")
	}
	if category := c.Query("category"); category != "" {
		if id, err := uuid.Parse(category); err == nil {
			q.Category = &id
		} else {
			q.CategorySlug = category
		}
	}
	price := func(field string) *int64 {
		v := c.Query(field)
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad(field, "must be a whole number of cents from 0")
			return nil
		}
		return &n
	}
	q.MinPrice, q.MaxPrice = price("min_price"), price("max_price")
	if q.MinPrice != nil && q.MaxPrice != nil && *q.MinPrice > *q.MaxPrice {
		bad("max_price", "must not be below min_price")
	}
	switch c.Query("in_stock") {
	case "", "false":
	case "true":
		q.InStock = true
	default:
		bad("in_stock", "must be true or false")
	}
	if q.Sort != "" && !catalog.ValidSort(q.Sort) {
		bad("sort", "must be one of: relevance, price, -price, name, -created_at")
	}
	if len(fields) > 0 {
		return server.PageRequest{}, catalog.ListQuery{}, apperr.Validation(fields...)
	}
	return page, q, nil
}

func (h *Handler) listProducts(c *fiber.Ctx) error {
	page, q, err := parseListQuery(c)
	if err != nil {
		return err
	}
	products, total, err := h.catalog.Products(c.UserContext(), q)
	if err != nil {
		return err
	}
	items := make([]productResponse, len(products))
	for i, p := range products {
		items[i] = newProductResponse(p)
	}
	return c.JSON(server.NewPage(page, items, total))
}

func (h *Handler) getProduct(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	p, err := h.catalog.Product(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newProductResponse(p))
}

type createProductRequest struct {
	SKU               string  `json:"sku" validate:"required,max=64"`
	Name              string  `json:"name" validate:"required,max=200"`
	Description       string  `json:"description" validate:"max=5000"`
	PriceCents        *int64  `json:"price_cents" validate:"required,gte=0,lte=100000000000"`
	Currency          string  `json:"currency" validate:"omitempty,iso4217"`
	CategoryID        *string `json:"category_id" validate:"omitempty,uuid"`
	InitialStock      *int    `json:"initial_stock" validate:"required,gte=0,lte=10000000"`
	LowStockThreshold int     `json:"low_stock_threshold" validate:"gte=0,lte=10000000"`
}

func (h *Handler) createProduct(c *fiber.Ctx) error {
	var in createProductRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	np := catalog.NewProduct{
		SKU: in.SKU, Name: in.Name, Description: in.Description, PriceCents: *in.PriceCents, Currency: in.Currency,
		CategoryID: parseOptionalID(in.CategoryID), InitialStock: *in.InitialStock, LowStockThreshold: in.LowStockThreshold,
	}
	p, err := h.catalog.CreateProduct(c.UserContext(), np)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newProductResponse(p))
}

type updateProductRequest struct {
	SKU               *string    `json:"sku" validate:"omitempty,min=1,max=64"`
	Name              *string    `json:"name" validate:"omitempty,min=1,max=200"`
	Description       *string    `json:"description" validate:"omitempty,max=5000"`
	PriceCents        *int64     `json:"price_cents" validate:"omitempty,gte=0,lte=100000000000"`
	Currency          *string    `json:"currency" validate:"omitempty,iso4217"`
	CategoryID        nullableID `json:"category_id"`
	LowStockThreshold *int       `json:"low_stock_threshold" validate:"omitempty,gte=0,lte=10000000"`
}

func (h *Handler) updateProduct(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	var in updateProductRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	category, err := in.CategoryID.id("category_id")
	if err != nil {
		return err
	}
	p, err := h.catalog.UpdateProduct(c.UserContext(), id, catalog.ProductPatch{
		SKU: in.SKU, Name: in.Name, Description: in.Description, PriceCents: in.PriceCents, Currency: in.Currency,
		SetCategory: in.CategoryID.Set, CategoryID: category, LowStockThreshold: in.LowStockThreshold,
	})
	if err != nil {
		return err
	}
	return c.JSON(newProductResponse(p))
}

func (h *Handler) deleteProduct(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	if err := h.catalog.DeleteProduct(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type stockResponse struct {
	ProductID                uuid.UUID `json:"product_id"`
	OnHand                   int       `json:"on_hand"`
	Reserved                 int       `json:"reserved"`
	Available                int       `json:"available"`
	LowStockThreshold        int       `json:"low_stock_threshold"`
	HeldByAbandonedCheckouts int       `json:"held_by_abandoned_checkouts"`
}

func newStockResponse(s catalog.Stock) stockResponse {
	return stockResponse{
		ProductID: s.ProductID, OnHand: s.OnHand, Reserved: s.Reserved, Available: s.Available(), LowStockThreshold: s.LowStockThreshold,
		HeldByAbandonedCheckouts: s.HeldByAbandonedCheckouts,
	}
}

func (h *Handler) getStock(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	s, err := h.catalog.Stock(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newStockResponse(s))
}

type adjustmentRequest struct {
	Delta  *int   `json:"delta" validate:"required,ne=0,gte=-10000000,lte=10000000"`
	Reason string `json:"reason" validate:"required,max=500"`
}

func (h *Handler) adjustStock(c *fiber.Ctx) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	var in adjustmentRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	s, err := h.catalog.AdjustStock(c.UserContext(), catalog.Adjustment{
		ProductID: id, Delta: *in.Delta, Reason: in.Reason, ActorID: caller.UserID.String(),
	})
	if err != nil {
		return err
	}
	return c.JSON(newStockResponse(s))
}
