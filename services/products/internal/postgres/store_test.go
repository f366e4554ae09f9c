package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

func newStore(t *testing.T) *postgres.Store {
	t.Helper()
	return postgres.NewStore(pgtest.NewDatabase(t, migrations.FS))
}

func createProduct(t *testing.T, s *postgres.Store, np catalog.NewProduct) catalog.Product {
	t.Helper()
	if np.SKU == "" {
		np.SKU = "SKU-" + uuid.NewString()[:8]
	}
	if np.Currency == "" {
		np.Currency = "USD"
	}
	p, err := s.Create(context.Background(), np)
	require.NoError(t, err)
	return p
}

func createCategory(t *testing.T, s *postgres.Store, slug string, parent *uuid.UUID) catalog.Category {
	t.Helper()
	c, err := s.CreateCategory(context.Background(), catalog.Category{Slug: slug, Name: slug, ParentID: parent})
	require.NoError(t, err)
	return c
}

func ptr[T any](v T) *T { return &v }

func TestProductLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cat := createCategory(t, s, "laptops", nil)
	p := createProduct(t, s, catalog.NewProduct{
		SKU: "LAP-1", Name: "Laptop", Description: "A laptop", PriceCents: 99900, CategoryID: &cat.ID, InitialStock: 7,
	})
	assert.Equal(t, 7, p.Available)
	assert.True(t, p.Active)
	assert.Equal(t, &cat.ID, p.CategoryID)

	t.Run("get returns what was created", func(t *testing.T) {
		got, err := s.Get(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, p, got)
	})
	t.Run("a duplicate sku is a conflict", func(t *testing.T) {
		_, err := s.Create(ctx, catalog.NewProduct{SKU: "LAP-1", Name: "Other", Currency: "USD"})
		assert.ErrorIs(t, err, catalog.ErrDuplicateSKU)
	})
	t.Run("an unknown category is refused", func(t *testing.T) {
		_, err := s.Create(ctx, catalog.NewProduct{SKU: "LAP-2", Name: "Other", Currency: "USD", CategoryID: ptr(uuid.New())})
		assert.ErrorIs(t, err, catalog.ErrUnknownCategory)
	})
	t.Run("uncategorised products are allowed", func(t *testing.T) {
		u := createProduct(t, s, catalog.NewProduct{Name: "Loose item", PriceCents: 100})
		assert.Nil(t, u.CategoryID)
	})
	t.Run("patch changes only the fields set", func(t *testing.T) {
		got, err := s.Update(ctx, p.ID, catalog.ProductPatch{PriceCents: ptr(int64(89900))})
		require.NoError(t, err)
		assert.Equal(t, int64(89900), got.PriceCents)
		assert.Equal(t, "Laptop", got.Name)
		assert.Equal(t, &cat.ID, got.CategoryID)
		assert.True(t, got.UpdatedAt.After(p.UpdatedAt) || got.UpdatedAt.Equal(p.UpdatedAt))
	})
	t.Run("patch can clear the category", func(t *testing.T) {
		got, err := s.Update(ctx, p.ID, catalog.ProductPatch{SetCategory: true})
		require.NoError(t, err)
		assert.Nil(t, got.CategoryID)
	})
	t.Run("patch to a taken sku is a conflict", func(t *testing.T) {
		other := createProduct(t, s, catalog.NewProduct{SKU: "TAKEN", Name: "Other"})
		_, err := s.Update(ctx, p.ID, catalog.ProductPatch{SKU: &other.SKU})
		assert.ErrorIs(t, err, catalog.ErrDuplicateSKU)
	})
	t.Run("delete hides the product", func(t *testing.T) {
		require.NoError(t, s.Delete(ctx, p.ID))
		_, err := s.Get(ctx, p.ID)
		assert.ErrorIs(t, err, catalog.ErrNotFound)
		assert.ErrorIs(t, s.Delete(ctx, p.ID), catalog.ErrNotFound, "deleting twice")
		_, err = s.Update(ctx, p.ID, catalog.ProductPatch{Name: ptr("x")})
		assert.ErrorIs(t, err, catalog.ErrNotFound, "a deleted product cannot be patched")
		items, _, err := s.List(ctx, catalog.ListQuery{Limit: 100})
		require.NoError(t, err)
		for _, it := range items {
			assert.NotEqual(t, p.ID, it.ID)
		}
	})
	t.Run("unknown ids are not found", func(t *testing.T) {
		_, err := s.Get(ctx, uuid.New())
		assert.ErrorIs(t, err, catalog.ErrNotFound)
	})
}

func TestCategoryTree(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	root := createCategory(t, s, "electronics", nil)
	child := createCategory(t, s, "computers", &root.ID)
	grandchild := createCategory(t, s, "laptops", &child.ID)

	t.Run("a duplicate slug is a conflict", func(t *testing.T) {
		_, err := s.CreateCategory(ctx, catalog.Category{Slug: "laptops", Name: "Again"})
		assert.ErrorIs(t, err, catalog.ErrDuplicateSlug)
	})
	t.Run("the parent must exist", func(t *testing.T) {
		_, err := s.CreateCategory(ctx, catalog.Category{Slug: "orphan", Name: "Orphan", ParentID: ptr(uuid.New())})
		assert.ErrorIs(t, err, catalog.ErrUnknownParent)
		_, err = s.UpdateCategory(ctx, child.ID, catalog.CategoryPatch{SetParent: true, ParentID: ptr(uuid.New())})
		assert.ErrorIs(t, err, catalog.ErrUnknownParent)
	})
	t.Run("moves that make cycles are refused", func(t *testing.T) {
		for name, parent := range map[string]uuid.UUID{"under itself": root.ID, "under its child": child.ID, "under its grandchild": grandchild.ID} {
			t.Run(name, func(t *testing.T) {
				_, err := s.UpdateCategory(ctx, root.ID, catalog.CategoryPatch{SetParent: true, ParentID: &parent})
				assert.ErrorIs(t, err, catalog.ErrCategoryCycle)
			})
		}
	})
	t.Run("a legal move and rename", func(t *testing.T) {
		got, err := s.UpdateCategory(ctx, grandchild.ID, catalog.CategoryPatch{Name: ptr("Notebooks"), SetParent: true, ParentID: &root.ID})
		require.NoError(t, err)
		assert.Equal(t, "Notebooks", got.Name)
		assert.Equal(t, &root.ID, got.ParentID)
		cats, err := s.Categories(ctx)
		require.NoError(t, err)
		tree := catalog.Tree(cats)
		require.Len(t, tree, 1)
		assert.Len(t, tree[0].Children, 2)
	})
	t.Run("a category with sub-categories cannot be deleted", func(t *testing.T) {
		assert.ErrorIs(t, s.DeleteCategory(ctx, root.ID), catalog.ErrCategoryInUse)
	})
	t.Run("a category with active products cannot be deleted", func(t *testing.T) {
		p := createProduct(t, s, catalog.NewProduct{Name: "PC", CategoryID: &child.ID})
		assert.ErrorIs(t, s.DeleteCategory(ctx, child.ID), catalog.ErrCategoryInUse)
		require.NoError(t, s.Delete(ctx, p.ID))
		require.NoError(t, s.DeleteCategory(ctx, child.ID), "only a deleted product is left")
		_, err := s.Category(ctx, child.ID)
		assert.ErrorIs(t, err, catalog.ErrCategoryNotFound)
	})
	t.Run("deleting an unknown category", func(t *testing.T) {
		assert.ErrorIs(t, s.DeleteCategory(ctx, uuid.New()), catalog.ErrCategoryNotFound)
	})
}
