package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

// seedCategories is a small tree: computers sits under electronics.
const seedCategories = `INSERT INTO categories (id, slug, name, parent_id) VALUES
	('00000000-0000-0000-0000-000000000001', 'electronics', 'Electronics', NULL),
	('00000000-0000-0000-0000-000000000002', 'computers', 'Computers', '00000000-0000-0000-0000-000000000001'),
	('00000000-0000-0000-0000-000000000003', 'outdoor', 'Outdoor', NULL)`

// seed100k fills products and inventory with 100,000 generated rows
// (brand x adjective x noun names, like tools/seed, in the categories of
// seedCategories) in one statement.
const seed100k = `WITH words AS (
	SELECT g,
		(ARRAY['Aurora','Northwind','Kestrel','Halcyon','Summit','Lumen','Vanta','Orbit','Cedar','Pioneer'])[1 + g % 10] AS brand,
		(ARRAY['Classic','Pro','Compact','Ultra','Essential','Deluxe','Lite','Max','Eco','Signature'])[1 + (g / 10) % 10] AS adj,
		(ARRAY['Laptop','Headphones','Running Shoes','Desk Lamp','Coffee Maker','Tent','Yoga Mat','Smartphone','Blender','Novel',
		       'Frying Pan','Camera','Backpack','Watch','Keyboard','Monitor','Jacket','Sleeping Bag','Kettle','Speaker'])[1 + (g / 100) % 20] AS noun
	FROM generate_series(1, 100000) g
), ins AS (
	INSERT INTO products (id, sku, name, description, price_cents, created_at, category_id)
	SELECT gen_random_uuid(), 'BENCH-' || g, brand || ' ' || adj || ' ' || noun || ' ' || g,
		'A durable ' || lower(noun) || ' from ' || brand || ', model ' || g || '.', 500 + (g * 7919) % 200000,
		now() - g * interval '1 second',
		CASE WHEN noun IN ('Laptop', 'Keyboard', 'Monitor') THEN '00000000-0000-0000-0000-000000000002'::uuid
		     WHEN noun IN ('Headphones', 'Smartphone', 'Camera', 'Speaker', 'Watch') THEN '00000000-0000-0000-0000-000000000001'::uuid
		     ELSE '00000000-0000-0000-0000-000000000003'::uuid END
	FROM words RETURNING id, price_cents
)
INSERT INTO inventory (product_id, on_hand) SELECT id, price_cents % 50 FROM ins`

// BenchmarkSearch times listing queries over 100,000 products and reports
// p50/p99 per query shape: go test -run '^$' -bench Search ./internal/postgres/
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.NewDatabase(b, migrations.FS)
	_, err := pool.Exec(ctx, seedCategories)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, seed100k)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	s := postgres.NewStore(pool)
	queries := map[string]catalog.ListQuery{
		"word":           {Text: "laptop"},
		"typo":           {Text: "lapotp"},
		"two words":      {Text: "running shoes"},
		"rare":           {Text: "kestrel ultra kettle"},
		"text+price":     {Text: "headphones", MaxPrice: new(int64(50000)), InStock: true},
		"text+category":  {Text: "lapotp", CategorySlug: "electronics"},
		"text by price":  {Text: "running shoes", Sort: catalog.SortPrice},
		"rare by price":  {Text: "kestrel ultra kettle", Sort: catalog.SortPrice},
		"broad":          {Text: "durable"},
		"no text, price": {Sort: catalog.SortPrice, MinPrice: new(int64(1000))},
		"newest":         {},
	}
	for name, q := range queries {
		q.Limit = 20
		b.Run(name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				_, _, err := s.List(ctx, q)
				took = append(took, time.Since(start))
				require.NoError(b, err)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
