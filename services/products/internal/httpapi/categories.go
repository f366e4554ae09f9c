package httpapi

import (
	"regexp"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// slugPattern keeps slugs usable in URLs as they are.
var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

var errBadSlug = apperr.Validation(apperr.FieldError{Field: "slug", Message: "must be lowercase letters and digits separated by single hyphens"})

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

func newCategoryResponse(c catalog.Category) categoryResponse {
	return categoryResponse{ID: c.ID, Slug: c.Slug, Name: c.Name, ParentID: c.ParentID, Children: []categoryResponse{}}
}

// categoryID reads the :id parameter; a malformed id names no category.
func categoryID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, catalog.ErrCategoryNotFound
	}
	return id, nil
}

func (h *Handler) listCategories(c *fiber.Ctx) error {
	roots, err := h.catalog.CategoryTree(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(newCategoryResponses(roots))
}

// getCategory answers with the category alone; the tree comes from the list.
func (h *Handler) getCategory(c *fiber.Ctx) error {
	id, err := categoryID(c)
	if err != nil {
		return err
	}
	cat, err := h.catalog.Category(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCategoryResponse(cat))
}

type createCategoryRequest struct {
	Name     string  `json:"name" validate:"required,max=100"`
	Slug     string  `json:"slug" validate:"required,max=100"`
	ParentID *string `json:"parent_id" validate:"omitempty,uuid"`
}

func (h *Handler) createCategory(c *fiber.Ctx) error {
	var in createCategoryRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	if !slugPattern.MatchString(in.Slug) {
		return errBadSlug
	}
	cat, err := h.catalog.CreateCategory(c.UserContext(), catalog.Category{Name: in.Name, Slug: in.Slug, ParentID: parseOptionalID(in.ParentID)})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newCategoryResponse(cat))
}

type updateCategoryRequest struct {
	Name     *string    `json:"name" validate:"omitempty,min=1,max=100"`
	Slug     *string    `json:"slug" validate:"omitempty,min=1,max=100"`
	ParentID nullableID `json:"parent_id"`
}

func (h *Handler) updateCategory(c *fiber.Ctx) error {
	id, err := categoryID(c)
	if err != nil {
		return err
	}
	var in updateCategoryRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	if in.Slug != nil && !slugPattern.MatchString(*in.Slug) {
		return errBadSlug
	}
	parent, err := in.ParentID.id("parent_id")
	if err != nil {
		return err
	}
	cat, err := h.catalog.UpdateCategory(c.UserContext(), id, catalog.CategoryPatch{
		Name: in.Name, Slug: in.Slug, SetParent: in.ParentID.Set, ParentID: parent,
	})
	if err != nil {
		return err
	}
	return c.JSON(newCategoryResponse(cat))
}

func (h *Handler) deleteCategory(c *fiber.Ctx) error {
	id, err := categoryID(c)
	if err != nil {
		return err
	}
	if err := h.catalog.DeleteCategory(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
