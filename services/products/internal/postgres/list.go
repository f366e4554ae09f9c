package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// typoThreshold is the word_similarity a name needs to match search text
// it does not contain: 0.4 lets "lapotp" find "Laptop" (0.43) and keeps
// "Lamp" (0.29) out. It is set per transaction because the <% operator,
// the one the trigram index serves, reads it from the session.
const typoThreshold = `SET LOCAL pg_trgm.word_similarity_threshold = 0.4`

// The fragments a listing query is built from. Only these constants reach
// the SQL text; every value the client sent is a $n argument.
const (
	listCategoryTree = `WITH RECURSIVE tree AS (
		SELECT id FROM categories WHERE %s
		UNION ALL
		SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id
	) `
	listFrom      = ` FROM products p LEFT JOIN inventory i ON i.product_id = p.id WHERE p.active`
	listRelevance = `ts_rank(p.search, websearch_to_tsquery('english', $1)) + word_similarity($1, p.name)`
	listMatch     = ` AND (p.search @@ websearch_to_tsquery('english', $1) OR $1 <% p.name)`
)

var listOrders = map[catalog.Sort]string{
	catalog.SortRelevance: `relevance DESC, p.id`,
	catalog.SortPrice:     `p.price_cents, p.id`,
	catalog.SortPriceDesc: `p.price_cents DESC, p.id`,
	catalog.SortName:      `p.name, p.id`,
	catalog.SortNewest:    `p.created_at DESC, p.id`,
}

// listQuery builds the page query and the matching count query for q.
func listQuery(q catalog.ListQuery) (page, count string, args []any) {
	var where, with strings.Builder
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	relevance := "0"
	if q.Text != "" {
		arg(q.Text) // always $1, as listRelevance and listMatch expect
		relevance = listRelevance
		where.WriteString(listMatch)
	}
	switch {
	case q.Category != nil:
		fmt.Fprintf(&with, listCategoryTree, "id = "+arg(*q.Category))
	case q.CategorySlug != "":
		fmt.Fprintf(&with, listCategoryTree, "slug = "+arg(q.CategorySlug))
	}
	if with.Len() > 0 {
		where.WriteString(` AND p.category_id IN (SELECT id FROM tree)`)
	}
	if q.MinPrice != nil {
		where.WriteString(` AND p.price_cents >= ` + arg(*q.MinPrice))
	}
	if q.MaxPrice != nil {
		where.WriteString(` AND p.price_cents <= ` + arg(*q.MaxPrice))
	}
	if q.InStock {
		where.WriteString(` AND i.on_hand - i.reserved > 0`)
	}
	count = with.String() + `SELECT count(*)` + listFrom + where.String()
	page = with.String() + `SELECT ` + productColumns + `, ` + relevance + ` AS relevance, count(*) OVER () AS total` +
		listFrom + where.String() +
		` ORDER BY ` + listOrders[q.EffectiveSort()] +
		` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset)
	return page, count, args
}

type listRow struct {
	productRow
	Relevance float64 `db:"relevance"`
	Total     int     `db:"total"`
}

// List returns a page of active products matching q and how many match
// in all.
func (s *Store) List(ctx context.Context, q catalog.ListQuery) ([]catalog.Product, int, error) {
	var (
		products []catalog.Product
		total    int
	)
	list := func(ctx context.Context, db interface {
		querier
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}) error {
		page, count, args := listQuery(q)
		rows, err := db.Query(ctx, page, args...)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowToStructByName[listRow])
		if err != nil {
			return err
		}
		products = make([]catalog.Product, len(found))
		for i, r := range found {
			products[i], total = r.product(), r.Total
		}
		if len(found) == 0 && q.Offset > 0 {
			// Past the last page the window function has no row to report on.
			return db.QueryRow(ctx, count, args[:len(args)-2]...).Scan(&total)
		}
		return nil
	}
	var err error
	if q.Text == "" {
		err = list(ctx, s.pool)
	} else {
		err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, typoThreshold); err != nil {
				return err
			}
			return list(ctx, tx)
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	return products, total, nil
}
