// Package postgres stores the catalog in the products database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

const codeForeignKeyViolation = "23503"

// ConsumerName identifies the catalog in processed_events.
const ConsumerName = "products"

// Store reads and writes the catalog.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type productRow struct {
	ID                uuid.UUID  `db:"id"`
	SKU               string     `db:"sku"`
	Name              string     `db:"name"`
	Description       string     `db:"description"`
	PriceCents        int64      `db:"price_cents"`
	Currency          string     `db:"currency"`
	CategoryID        *uuid.UUID `db:"category_id"`
	Available         int        `db:"available"`
	LowStockThreshold int        `db:"low_stock_threshold"`
	Active            bool       `db:"active"`
	CreatedAt         time.Time  `db:"created_at"`
	UpdatedAt         time.Time  `db:"updated_at"`
}

func (r productRow) product() catalog.Product {
	return catalog.Product{
		ID: r.ID, SKU: r.SKU, Name: r.Name, Description: r.Description, PriceCents: r.PriceCents,
		Currency: r.Currency, CategoryID: r.CategoryID, Available: r.Available, LowStockThreshold: r.LowStockThreshold,
		Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

const productColumns = `p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id,
	COALESCE(i.on_hand - i.reserved, 0) AS available, COALESCE(i.low_stock_threshold, 0) AS low_stock_threshold,
	p.active, p.created_at, p.updated_at`

const getProductQuery = `SELECT ` + productColumns + `
	FROM products p LEFT JOIN inventory i ON i.product_id = p.id
	WHERE p.id = $1 AND p.active`

func getProduct(ctx context.Context, q postgres.Querier, id uuid.UUID) (catalog.Product, error) {
	r, err := postgres.One[productRow](ctx, q, catalog.ErrNotFound, "get product "+id.String(), getProductQuery, id)
	if err != nil {
		return catalog.Product{}, err
	}
	return r.product(), nil
}

// Get returns an active product or catalog.ErrNotFound.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (catalog.Product, error) {
	return getProduct(ctx, s.pool, id)
}

// Create adds a product with its opening stock. It returns
// catalog.ErrDuplicateSKU when the sku is taken and
// catalog.ErrUnknownCategory when the category does not exist.
func (s *Store) Create(ctx context.Context, np catalog.NewProduct) (catalog.Product, error) {
	id := uuid.New()
	var p catalog.Product
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO products (id, sku, name, description, price_cents, currency, category_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, np.SKU, np.Name, np.Description, np.PriceCents, np.Currency, np.CategoryID); err != nil {
			return productWriteError(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO inventory (product_id, on_hand, low_stock_threshold) VALUES ($1, $2, $3)`,
			id, np.InitialStock, np.LowStockThreshold); err != nil {
			return err
		}
		var err error
		p, err = getProduct(ctx, tx, id)
		return err
	})
	if err != nil {
		return catalog.Product{}, fmt.Errorf("create product %s: %w", np.SKU, err)
	}
	return p, nil
}

// Update applies patch to an active product and returns it, or
// catalog.ErrNotFound, catalog.ErrDuplicateSKU, catalog.ErrUnknownCategory.
func (s *Store) Update(ctx context.Context, id uuid.UUID, patch catalog.ProductPatch) (catalog.Product, error) {
	var p catalog.Product
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := postgres.One[productRow](ctx, tx, catalog.ErrNotFound, "lock product", getProductQuery+` FOR UPDATE OF p`, id)
		if err != nil {
			return err
		}
		applyPatch(&cur, patch)
		if _, err := tx.Exec(ctx, `UPDATE products SET sku = $2, name = $3, description = $4, price_cents = $5,
			currency = $6, category_id = $7, updated_at = now() WHERE id = $1`,
			id, cur.SKU, cur.Name, cur.Description, cur.PriceCents, cur.Currency, cur.CategoryID); err != nil {
			return productWriteError(err)
		}
		if patch.LowStockThreshold != nil {
			if _, err := tx.Exec(ctx, `UPDATE inventory SET low_stock_threshold = $2 WHERE product_id = $1`,
				id, *patch.LowStockThreshold); err != nil {
				return err
			}
		}
		p, err = getProduct(ctx, tx, id)
		return err
	})
	if err != nil {
		return catalog.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	return p, nil
}

func applyPatch(r *productRow, patch catalog.ProductPatch) {
	if patch.SKU != nil {
		r.SKU = *patch.SKU
	}
	if patch.Name != nil {
		r.Name = *patch.Name
	}
	if patch.Description != nil {
		r.Description = *patch.Description
	}
	if patch.PriceCents != nil {
		r.PriceCents = *patch.PriceCents
	}
	if patch.Currency != nil {
		r.Currency = *patch.Currency
	}
	if patch.SetCategory {
		r.CategoryID = patch.CategoryID
	}
}

func productWriteError(err error) error {
	switch {
	case postgres.IsCode(err, postgres.CodeUniqueViolation):
		return catalog.ErrDuplicateSKU
	case postgres.IsCode(err, codeForeignKeyViolation):
		return catalog.ErrUnknownCategory
	default:
		return err
	}
}

// Delete hides an active product from the catalog (soft delete): it stays
// for orders and reservations that refer to it. It returns
// catalog.ErrNotFound for an unknown or already deleted product.
func (s *Store) Delete(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE products SET active = false, updated_at = now() WHERE id = $1 AND active`, id)
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return catalog.ErrNotFound
	}
	return nil
}

type categoryRow struct {
	ID       uuid.UUID  `db:"id"`
	Slug     string     `db:"slug"`
	Name     string     `db:"name"`
	ParentID *uuid.UUID `db:"parent_id"`
}

func (r categoryRow) category() catalog.Category {
	return catalog.Category{ID: r.ID, Slug: r.Slug, Name: r.Name, ParentID: r.ParentID}
}

// Categories returns every category, ordered by name.
func (s *Store) Categories(ctx context.Context) ([]catalog.Category, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, slug, name, parent_id FROM categories ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[categoryRow])
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	cats := make([]catalog.Category, len(found))
	for i, r := range found {
		cats[i] = r.category()
	}
	return cats, nil
}

func getCategory(ctx context.Context, q postgres.Querier, id uuid.UUID, lock bool) (catalog.Category, error) {
	query := `SELECT id, slug, name, parent_id FROM categories WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	r, err := postgres.One[categoryRow](ctx, q, catalog.ErrCategoryNotFound, "get category "+id.String(), query, id)
	if err != nil {
		return catalog.Category{}, err
	}
	return r.category(), nil
}

// Category returns one category or catalog.ErrCategoryNotFound.
func (s *Store) Category(ctx context.Context, id uuid.UUID) (catalog.Category, error) {
	return getCategory(ctx, s.pool, id, false)
}

// CreateCategory adds a category, or returns catalog.ErrDuplicateSlug or
// catalog.ErrUnknownParent.
func (s *Store) CreateCategory(ctx context.Context, c catalog.Category) (catalog.Category, error) {
	c.ID = uuid.New()
	_, err := s.pool.Exec(ctx, `INSERT INTO categories (id, slug, name, parent_id) VALUES ($1, $2, $3, $4)`,
		c.ID, c.Slug, c.Name, c.ParentID)
	if err != nil {
		return catalog.Category{}, fmt.Errorf("create category %s: %w", c.Slug, categoryWriteError(err))
	}
	return c, nil
}

func categoryWriteError(err error) error {
	switch {
	case postgres.IsCode(err, postgres.CodeUniqueViolation):
		return catalog.ErrDuplicateSlug
	case postgres.IsCode(err, codeForeignKeyViolation):
		return catalog.ErrUnknownParent
	default:
		return err
	}
}

// treeLock serialises moves in the category tree: two concurrent moves
// could each pass the cycle check and together make a cycle.
const treeLock = `SELECT pg_advisory_xact_lock(hashtext('category tree'))`

// isAncestorOrSelf is true when $2 is $1 or one of $1's ancestors.
const isAncestorOrSelf = `WITH RECURSIVE up AS (
		SELECT id, parent_id FROM categories WHERE id = $1
		UNION ALL
		SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id
	) SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)`

// UpdateCategory applies patch. It returns catalog.ErrCategoryNotFound,
// catalog.ErrDuplicateSlug, catalog.ErrUnknownParent, or
// catalog.ErrCategoryCycle when the new parent lies under the category.
func (s *Store) UpdateCategory(ctx context.Context, id uuid.UUID, patch catalog.CategoryPatch) (catalog.Category, error) {
	var c catalog.Category
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if patch.SetParent {
			if _, err := tx.Exec(ctx, treeLock); err != nil {
				return err
			}
		}
		var err error
		if c, err = getCategory(ctx, tx, id, true); err != nil {
			return err
		}
		if patch.Slug != nil {
			c.Slug = *patch.Slug
		}
		if patch.Name != nil {
			c.Name = *patch.Name
		}
		if patch.SetParent {
			if patch.ParentID != nil {
				if _, err := getCategory(ctx, tx, *patch.ParentID, false); errors.Is(err, catalog.ErrCategoryNotFound) {
					return catalog.ErrUnknownParent
				} else if err != nil {
					return err
				}
				var cycle bool
				if err := tx.QueryRow(ctx, isAncestorOrSelf, *patch.ParentID, id).Scan(&cycle); err != nil {
					return err
				}
				if cycle {
					return catalog.ErrCategoryCycle
				}
			}
			c.ParentID = patch.ParentID
		}
		_, err = tx.Exec(ctx, `UPDATE categories SET slug = $2, name = $3, parent_id = $4 WHERE id = $1`,
			id, c.Slug, c.Name, c.ParentID)
		return categoryWriteError(err)
	})
	if err != nil {
		return catalog.Category{}, fmt.Errorf("update category %s: %w", id, err)
	}
	return c, nil
}

// DeleteCategory removes a category that has neither active products nor
// sub-categories (catalog.ErrCategoryInUse otherwise); deleted products in
// it become uncategorised. It returns catalog.ErrCategoryNotFound for an
// unknown id.
func (s *Store) DeleteCategory(ctx context.Context, id uuid.UUID) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := getCategory(ctx, tx, id, true); err != nil {
			return err
		}
		var inUse bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE category_id = $1 AND active)
			OR EXISTS (SELECT 1 FROM categories WHERE parent_id = $1)`, id).Scan(&inUse); err != nil {
			return err
		}
		if inUse {
			return catalog.ErrCategoryInUse
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET category_id = NULL WHERE category_id = $1 AND NOT active`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM categories WHERE id = $1`, id)
		if postgres.IsCode(err, codeForeignKeyViolation) {
			return catalog.ErrCategoryInUse // a product or child arrived meanwhile
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete category %s: %w", id, err)
	}
	return nil
}
