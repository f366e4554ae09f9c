package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// typoThreshold is the word_similarity a name word needs to stand in for
// a search word: 0.4 lets "lapotp" find "laptop" (0.43) and keeps "lamp"
// (0.29) out. It is set per transaction because the <% operator, the one
// the trigram index on search_words serves, reads it from the session.
const typoThreshold = `SET LOCAL pg_trgm.word_similarity_threshold = 0.4`

// searchTotalCap bounds how many matches a search counts: counting is
// linear in the matches, and a client paging through search results never
// needs more. A search with more matches reports this as its total.
const searchTotalCap = 10000

// The fragments a listing query is built from. Only these constants reach
// the SQL text; every value the client sent is a $n argument.
const (
	listCategoryTree = `tree AS (
		SELECT id FROM categories WHERE %s
		UNION ALL
		SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id
	)`
	// listSearch reads the search text ($1) twice: exact, as
	// websearch_to_tsquery parses it, and fuzzy, every word replaced by
	// the name words that resemble it (itself when none does). Both are
	// full-text queries, so the GIN index on products.search finds the
	// candidates of either, typos included.
	listSearch = `words AS (
		SELECT w, (SELECT string_agg(s.word, ' | ') FROM search_words s WHERE w <% s.word) AS alternatives
		FROM regexp_split_to_table(lower($1), '[^[:alnum:]]+') w
		WHERE w <> ''
	), q AS (
		SELECT websearch_to_tsquery('english', $1) AS exact,
			to_tsquery('english', coalesce(string_agg('(' || coalesce(alternatives, w) || ')', ' & '), '')) AS fuzzy
		FROM words
	)`
	// An exact match scores twice, so it ranks above a typo's match;
	// ts_rank weighs name (A) over description (B).
	listRelevance = `ts_rank(p.search, q.exact) + ts_rank(p.search, q.fuzzy)`
	listMatch     = ` AND p.search @@ (q.exact || q.fuzzy)`
	listInStock   = ` AND EXISTS (SELECT 1 FROM inventory s WHERE s.product_id = p.id AND s.on_hand - s.reserved > 0)`
)

var listOrders = map[catalog.Sort]string{
	catalog.SortRelevance: `relevance DESC, p.id`,
	catalog.SortPrice:     `p.price_cents, p.id`,
	catalog.SortPriceDesc: `p.price_cents DESC, p.id`,
	catalog.SortName:      `p.name, p.id`,
	catalog.SortNewest:    `p.created_at DESC, p.id`,
}

// listQuery builds the page query and the matching count query for q; the
// count takes all of args but the last two (limit and offset). The page is
// chosen from narrow rows of products alone, then read whole and joined to
// inventory, so only its rows pay for that.
func listQuery(q catalog.ListQuery) (page, count string, args []any) {
	var where strings.Builder
	var with []string
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	order := listOrders[q.EffectiveSort()]
	from, relevance, countLimit := ` FROM products p WHERE p.active`, "0", ""
	if q.Text != "" {
		arg(q.Text) // always $1, as listSearch expects
		with = append(with, listSearch)
		from = ` FROM q, products p WHERE p.active`
		where.WriteString(listMatch)
		countLimit = ` LIMIT ` + strconv.Itoa(searchTotalCap)
		if q.EffectiveSort() == catalog.SortRelevance {
			relevance = listRelevance
		}
	}
	switch {
	case q.Category != nil:
		with = append(with, fmt.Sprintf(listCategoryTree, "id = "+arg(*q.Category)))
	case q.CategorySlug != "":
		with = append(with, fmt.Sprintf(listCategoryTree, "slug = "+arg(q.CategorySlug)))
	}
	if q.Category != nil || q.CategorySlug != "" {
		where.WriteString(` AND p.category_id IN (SELECT id FROM tree)`)
	}
	if q.MinPrice != nil {
		where.WriteString(` AND p.price_cents >= ` + arg(*q.MinPrice))
	}
	if q.MaxPrice != nil {
		where.WriteString(` AND p.price_cents <= ` + arg(*q.MaxPrice))
	}
	if q.InStock {
		where.WriteString(listInStock)
	}
	// Matches carry only what the orders read; the page's rows are read
	// whole afterwards.
	matches := `SELECT p.id, p.price_cents, p.name, p.created_at, ` + relevance + ` AS relevance` + from + where.String()
	if q.Text != "" {
		// The planner cannot tell how many rows a tsquery built at run
		// time matches; guessing few, it would walk the price or name
		// index and test every product. Materialized, the matches come
		// from the GIN index, and sorting them costs what they number.
		with = append(with, `matches AS MATERIALIZED (`+matches+`)`)
		matches = `SELECT * FROM matches p`
	}
	prefix := ""
	if len(with) > 0 {
		prefix = `WITH RECURSIVE ` + strings.Join(with, ", ") + ` `
	}
	count = prefix + `SELECT count(*) FROM (` + matches + countLimit + `) p`
	page = prefix + `SELECT ` + productColumns + `, m.relevance FROM (` + matches +
		` ORDER BY ` + order + ` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset) +
		`) m JOIN products p ON p.id = m.id LEFT JOIN inventory i ON i.product_id = p.id ORDER BY ` + order
	return page, count, args
}

type listRow struct {
	productRow
	Relevance float64 `db:"relevance"`
}

// List returns a page of active products matching q and how many match in
// all; with search text the count stops at searchTotalCap.
func (s *Store) List(ctx context.Context, q catalog.ListQuery) ([]catalog.Product, int, error) {
	var (
		products []catalog.Product
		total    int
	)
	page, count, args := listQuery(q)
	// One round trip: the page and its count are sent together.
	list := func(ctx context.Context, db interface {
		SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	}, setup ...string) error {
		var b pgx.Batch
		for _, sql := range setup {
			b.Queue(sql)
		}
		b.Queue(page, args...).Query(func(rows pgx.Rows) error {
			found, err := pgx.CollectRows(rows, pgx.RowToStructByName[listRow])
			if err != nil {
				return err
			}
			products = make([]catalog.Product, len(found))
			for i, r := range found {
				products[i] = r.product()
			}
			return nil
		})
		b.Queue(count, args[:len(args)-2]...).QueryRow(func(row pgx.Row) error { return row.Scan(&total) })
		return db.SendBatch(ctx, &b).Close()
	}
	var err error
	if q.Text == "" {
		err = list(ctx, s.pool)
	} else {
		err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			return list(ctx, tx, typoThreshold)
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	return products, total, nil
}
