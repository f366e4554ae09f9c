package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
)

func names(products []catalog.Product) []string {
	out := make([]string, len(products))
	for i, p := range products {
		out[i] = p.Name
	}
	return out
}

func list(t *testing.T, s *postgres.Store, q catalog.ListQuery) ([]string, int) {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	products, total, err := s.List(context.Background(), q)
	require.NoError(t, err)
	return names(products), total
}

func TestListFilters(t *testing.T) {
	s := newStore(t)
	electronics := createCategory(t, s, "electronics", nil)
	computers := createCategory(t, s, "computers", &electronics.ID)
	sports := createCategory(t, s, "sports", nil)
	createProduct(t, s, catalog.NewProduct{Name: "Gaming Laptop", PriceCents: 150000, CategoryID: &computers.ID, InitialStock: 3})
	createProduct(t, s, catalog.NewProduct{Name: "Office Laptop", PriceCents: 60000, CategoryID: &computers.ID, InitialStock: 0})
	createProduct(t, s, catalog.NewProduct{Name: "Headphones", PriceCents: 9000, CategoryID: &electronics.ID, InitialStock: 5})
	createProduct(t, s, catalog.NewProduct{Name: "Football", PriceCents: 2500, CategoryID: &sports.ID, InitialStock: 9})
	createProduct(t, s, catalog.NewProduct{Name: "Mystery Box", PriceCents: 1000, InitialStock: 1})

	tests := []struct {
		name  string
		query catalog.ListQuery
		want  []string
	}{
		{"everything, newest first", catalog.ListQuery{},
			[]string{"Mystery Box", "Football", "Headphones", "Office Laptop", "Gaming Laptop"}},
		{"a category includes its sub-categories", catalog.ListQuery{Category: &electronics.ID, Sort: catalog.SortName},
			[]string{"Gaming Laptop", "Headphones", "Office Laptop"}},
		{"a category by slug", catalog.ListQuery{CategorySlug: "computers", Sort: catalog.SortPrice},
			[]string{"Office Laptop", "Gaming Laptop"}},
		{"an unknown category matches nothing", catalog.ListQuery{CategorySlug: "nope"}, []string{}},
		{"price range, inclusive", catalog.ListQuery{MinPrice: ptr(int64(2500)), MaxPrice: ptr(int64(60000)), Sort: catalog.SortPrice},
			[]string{"Football", "Headphones", "Office Laptop"}},
		{"in stock only", catalog.ListQuery{InStock: true, Category: &computers.ID}, []string{"Gaming Laptop"}},
		{"price descending", catalog.ListQuery{Sort: catalog.SortPriceDesc, MaxPrice: ptr(int64(9000))},
			[]string{"Headphones", "Football", "Mystery Box"}},
		{"relevance without text is newest first", catalog.ListQuery{Sort: catalog.SortRelevance, MinPrice: ptr(int64(60000))},
			[]string{"Office Laptop", "Gaming Laptop"}},
		{"search, category and price combined", catalog.ListQuery{Text: "laptop", CategorySlug: "electronics", MaxPrice: ptr(int64(100000))},
			[]string{"Office Laptop"}},
		{"search and in stock combined", catalog.ListQuery{Text: "laptop", InStock: true}, []string{"Gaming Laptop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := list(t, s, tt.query)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.want), total)
		})
	}
}

func TestListPagesAreStable(t *testing.T) {
	s := newStore(t)
	// Equal prices and names: only the id tie-break orders them.
	for range 25 {
		createProduct(t, s, catalog.NewProduct{Name: "Same", PriceCents: 500})
	}
	for _, sort := range []catalog.Sort{catalog.SortPrice, catalog.SortName, catalog.SortNewest} {
		t.Run(string(sort), func(t *testing.T) {
			seen := map[uuid.UUID]bool{}
			for offset := 0; offset < 30; offset += 7 {
				page, total, err := s.List(context.Background(), catalog.ListQuery{Sort: sort, Offset: offset, Limit: 7})
				require.NoError(t, err)
				assert.Equal(t, 25, total)
				for _, p := range page {
					assert.False(t, seen[p.ID], "product %s on two pages", p.ID)
					seen[p.ID] = true
				}
			}
			assert.Len(t, seen, 25)
		})
	}
	t.Run("past the last page the total is still reported", func(t *testing.T) {
		page, total, err := s.List(context.Background(), catalog.ListQuery{Offset: 100, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page)
		assert.Equal(t, 25, total)
	})
}

func TestSearchQuality(t *testing.T) {
	s := newStore(t)
	for _, np := range []catalog.NewProduct{
		{Name: "Gaming Laptop 15", Description: "Fast notebook computer with a bright screen"},
		{Name: "Run Shoe", Description: "Light trainers for the road"},
		{Name: "Desk Lamp", Description: "Warm LED light for your desk"},
		{Name: "Wireless Headphones", Description: "Noise cancelling over-ear headphones"},
		{Name: "Phone Case", Description: "Fits wireless chargers"},
		{Name: "Yoga Mat", Description: "Non-slip mat for running stretches and yoga"},
	} {
		np.PriceCents = 1000
		createProduct(t, s, np)
	}
	tests := []struct {
		name  string
		query string
		first string   // the best match
		want  []string // every match, in any order; nil to check only first
	}{
		{"a typo still finds the product", "lapotp", "Gaming Laptop 15", []string{"Gaming Laptop 15"}},
		{"another typo", "headphnes", "Wireless Headphones", nil},
		{"stemming matches other word forms", "running shoes", "Run Shoe", nil},
		{"a name match ranks above a description match", "wireless", "Wireless Headphones", []string{"Wireless Headphones", "Phone Case"}},
		{"description words are searched", "notebook", "Gaming Laptop 15", []string{"Gaming Laptop 15"}},
		{"case does not matter", "DESK LAMP", "Desk Lamp", nil},
		// "lamp" is close enough to "laptop" to find it too, but below.
		{"an exact word ranks above a typo's match", "lamp", "Desk Lamp", []string{"Desk Lamp", "Gaming Laptop 15"}},
		{"nothing like it", "bicycle", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := list(t, s, catalog.ListQuery{Text: tt.query})
			assert.Equal(t, len(got), total)
			if tt.first != "" {
				require.NotEmpty(t, got)
				assert.Equal(t, tt.first, got[0], "results: %v", got)
			}
			if tt.want != nil {
				assert.ElementsMatch(t, tt.want, got)
			}
		})
	}
	t.Run("lamp is not a typo of laptop", func(t *testing.T) {
		got, _ := list(t, s, catalog.ListQuery{Text: "lapotp"})
		assert.NotContains(t, got, "Desk Lamp")
	})
	t.Run("a renamed product is found by a typo of its new name", func(t *testing.T) {
		p := createProduct(t, s, catalog.NewProduct{Name: "Kettle", PriceCents: 1000})
		_, err := s.Update(context.Background(), p.ID, catalog.ProductPatch{Name: ptr("Espresso Grinder")})
		require.NoError(t, err)
		got, total := list(t, s, catalog.ListQuery{Text: "grindr"})
		assert.Equal(t, []string{"Espresso Grinder"}, got)
		assert.Equal(t, 1, total)
	})
}
