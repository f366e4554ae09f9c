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

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// Store reads and writes the catalog.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type productRow struct {
	ID          uuid.UUID  `db:"id"`
	SKU         string     `db:"sku"`
	Name        string     `db:"name"`
	Description string     `db:"description"`
	PriceCents  int64      `db:"price_cents"`
	Currency    string     `db:"currency"`
	CategoryID  *uuid.UUID `db:"category_id"`
	Available   int        `db:"available"`
	Active      bool       `db:"active"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
	Total       int        `db:"total"`
}

func (r productRow) product() catalog.Product {
	return catalog.Product{
		ID: r.ID, SKU: r.SKU, Name: r.Name, Description: r.Description, PriceCents: r.PriceCents,
		Currency: r.Currency, CategoryID: r.CategoryID, Available: r.Available, Active: r.Active,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

const productColumns = `p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id,
	COALESCE(i.on_hand - i.reserved, 0) AS available, p.active, p.created_at, p.updated_at`

// List returns a page of active products, newest first, and the number of
// active products.
func (s *Store) List(ctx context.Context, q catalog.ListQuery) ([]catalog.Product, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+`, count(*) OVER () AS total
		FROM products p LEFT JOIN inventory i ON i.product_id = p.id
		WHERE p.active
		ORDER BY p.created_at DESC, p.id
		LIMIT $1 OFFSET $2`, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[productRow])
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	products := make([]catalog.Product, len(found))
	total := 0
	for i, r := range found {
		products[i], total = r.product(), r.Total
	}
	if len(found) == 0 && q.Offset > 0 {
		// Past the last page the window function has no row to report on.
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products WHERE active`).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count products: %w", err)
		}
	}
	return products, total, nil
}

// Get returns an active product or catalog.ErrNotFound.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (catalog.Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+`, 1 AS total
		FROM products p LEFT JOIN inventory i ON i.product_id = p.id
		WHERE p.id = $1 AND p.active`, id)
	if err != nil {
		return catalog.Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[productRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.Product{}, catalog.ErrNotFound
	}
	if err != nil {
		return catalog.Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	return r.product(), nil
}

// Categories returns every category, ordered by name.
func (s *Store) Categories(ctx context.Context) ([]catalog.Category, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, slug, name, parent_id FROM categories ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	cats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Category, error) {
		var c catalog.Category
		err := row.Scan(&c.ID, &c.Slug, &c.Name, &c.ParentID)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return cats, nil
}
