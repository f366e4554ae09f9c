package server

import (
	"math"
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

// Offset is the number of items before the page. A page far past any list
// gets the largest offset rather than one that wrapped around to negative
// (which the database refuses): the answer is an empty page, not a 500.
func (p PageRequest) Offset() int {
	if p.Page-1 > math.MaxInt/p.PageSize {
		return math.MaxInt
	}
	return (p.Page - 1) * p.PageSize
}

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

// ParsePage reads ?page (from 1) and ?page_size (1..100), answering 422
// naming each value that is not a whole number in range: a sign, an
// exponent, a fraction, non-ASCII digits or too many digits included.
func ParsePage(c *fiber.Ctx) (PageRequest, error) {
	req := PageRequest{Page: 1, PageSize: DefaultPageSize}
	var fields []apperr.FieldError
	if v := c.Query("page"); v != "" {
		n, ok := parseCount(v, math.MaxInt)
		if !ok {
			fields = append(fields, apperr.FieldError{Field: "page", Message: "must be a whole number from 1"})
		}
		req.Page = n
	}
	if v := c.Query("page_size"); v != "" {
		n, ok := parseCount(v, MaxPageSize)
		if !ok {
			fields = append(fields, apperr.FieldError{Field: "page_size", Message: "must be a whole number from 1 to 100"})
		}
		req.PageSize = n
	}
	if len(fields) > 0 {
		return PageRequest{}, apperr.Validation(fields...)
	}
	return req, nil
}

// parseCount reads a whole number from 1 to limit written in ASCII digits
// only; strconv alone would also take a leading "+".
func parseCount(v string, limit int) (int, bool) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= limit
}
