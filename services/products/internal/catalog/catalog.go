// Package catalog holds the product catalog's types and rules.
package catalog

import (
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// ErrNotFound is returned for a product that does not exist or is inactive.
var ErrNotFound = apperr.New(apperr.NotFound, "product not found")

// Product is a sellable item with its current stock.
type Product struct {
	ID          uuid.UUID
	SKU         string
	Name        string
	Description string
	PriceCents  int64
	Currency    string
	CategoryID  *uuid.UUID
	Available   int // on hand minus reserved
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Category is a node of the category tree.
type Category struct {
	ID       uuid.UUID
	Slug     string
	Name     string
	ParentID *uuid.UUID
	Children []*Category
}

// ListQuery selects a page of active products.
type ListQuery struct {
	Offset, Limit int
}

// Tree links flat categories into trees and returns the roots, keeping the
// input order among siblings. A category whose parent is missing is a root.
func Tree(flat []Category) []*Category {
	nodes := make(map[uuid.UUID]*Category, len(flat))
	for i := range flat {
		c := flat[i]
		c.Children = []*Category{}
		nodes[c.ID] = &c
	}
	roots := []*Category{}
	for i := range flat {
		n := nodes[flat[i].ID]
		if n.ParentID != nil {
			if parent, ok := nodes[*n.ParentID]; ok {
				parent.Children = append(parent.Children, n)
				continue
			}
		}
		roots = append(roots, n)
	}
	return roots
}
