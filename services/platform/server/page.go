package server

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Paging limits of every list endpoint.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageRequest is a validated ?page=&page_size= pair.
type PageRequest struct {
	Page     int
	PageSize int
}

// Offset is the number of items before the page.
func (p PageRequest) Offset() int { return (p.Page - 1) * p.PageSize }

// Page is the list envelope of the public API.
type Page[T any] struct {
	Items    []T `json:"items"`
	Total    int `json:"total"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

// NewPage wraps items; a nil slice is sent as [] rather than null.
func NewPage[T any](req PageRequest, items []T, total int) Page[T] {
	if items == nil {
		items = []T{}
	}
	return Page[T]{Items: items, Total: total, Page: req.Page, PageSize: req.PageSize}
}

// ParsePage reads ?page (from 1) and ?page_size (1..100), answering 422 for
// values out of range.
func ParsePage(c *fiber.Ctx) (PageRequest, error) {
	req := PageRequest{Page: 1, PageSize: DefaultPageSize}
	var fields []apperr.FieldError
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fields = append(fields, apperr.FieldError{Field: "page", Message: "must be a whole number from 1"})
		}
		req.Page = n
	}
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			fields = append(fields, apperr.FieldError{Field: "page_size", Message: "must be a whole number from 1 to 100"})
		}
		req.PageSize = n
	}
	if len(fields) > 0 {
		return PageRequest{}, apperr.Validation(fields...)
	}
	return req, nil
}
