// Package httpapi serves the catalog's public REST endpoints.
package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// Store is what the handlers need from storage.
type Store interface {
	List(ctx context.Context, q catalog.ListQuery) ([]catalog.Product, int, error)
	Get(ctx context.Context, id uuid.UUID) (catalog.Product, error)
	Categories(ctx context.Context) ([]catalog.Category, error)
}

// Handler serves the catalog routes.
type Handler struct{ store Store }

// New returns a Handler over store.
func New(store Store) *Handler { return &Handler{store: store} }

// Register mounts the routes on app.
func (h *Handler) Register(app fiber.Router) {
	app.Get("/api/v1/products", h.listProducts)
	app.Get("/api/v1/products/:id", h.getProduct)
	app.Get("/api/v1/categories", h.listCategories)
}

type productResponse struct {
	ID          uuid.UUID  `json:"id"`
	SKU         string     `json:"sku"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	PriceCents  int64      `json:"price_cents"`
	Currency    string     `json:"currency"`
	CategoryID  *uuid.UUID `json:"category_id"`
	Available   int        `json:"available"`
	Active      bool       `json:"active"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func newProductResponse(p catalog.Product) productResponse {
	return productResponse{
		ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description, PriceCents: p.PriceCents,
		Currency: p.Currency, CategoryID: p.CategoryID, Available: p.Available, Active: p.Active,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

type categoryResponse struct {
	ID       uuid.UUID          `json:"id"`
	Slug     string             `json:"slug"`
	Name     string             `json:"name"`
	ParentID *uuid.UUID         `json:"parent_id"`
	Children []categoryResponse `json:"children"`
}

func newCategoryResponses(nodes []*catalog.Category) []categoryResponse {
	out := make([]categoryResponse, len(nodes))
	for i, n := range nodes {
		out[i] = categoryResponse{ID: n.ID, Slug: n.Slug, Name: n.Name, ParentID: n.ParentID, Children: newCategoryResponses(n.Children)}
	}
	return out
}

func (h *Handler) listProducts(c *fiber.Ctx) error {
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	products, total, err := h.store.List(c.UserContext(), catalog.ListQuery{Offset: page.Offset(), Limit: page.PageSize})
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
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return catalog.ErrNotFound
	}
	p, err := h.store.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newProductResponse(p))
}

func (h *Handler) listCategories(c *fiber.Ctx) error {
	cats, err := h.store.Categories(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(newCategoryResponses(catalog.Tree(cats)))
}
