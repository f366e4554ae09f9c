// Package apperr defines the error kinds every service shares, so domain code
// can say what went wrong without knowing about HTTP. The server package maps
// each kind to a status code in one place.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for clients. Its string is the problem type slug.
type Kind string

const (
	Invalid      Kind = "validation-error"    // 422: the input breaks a rule
	Malformed    Kind = "malformed-request"   // 400: the input cannot be read
	Unauthorized Kind = "unauthorized"        // 401: missing or bad credentials
	Forbidden    Kind = "forbidden"           // 403: authenticated but not allowed
	NotFound     Kind = "not-found"           // 404
	Conflict     Kind = "conflict"            // 409: state, stock or duplicate
	RateLimited  Kind = "rate-limited"        // 429
	BadGateway   Kind = "bad-gateway"         // 502: a dependency answered wrongly
	Unavailable  Kind = "service-unavailable" // 503: a dependency is down
	Timeout      Kind = "gateway-timeout"     // 504: a dependency did not answer in time
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a client-facing error: its Message is safe to show. Code, when
// set, is a stable machine-readable reason (e.g. "insufficient_stock") that
// refines Kind; Extra adds named members to the problem document.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Extra   map[string]any
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Message }

// Is lets errors.Is match a sentinel declared with New by kind and code, so
// that a wrapped copy with more detail still matches its sentinel.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind && t.Code == e.Code && t.Message == e.Message
}

// New returns an error of the given kind with a client-safe message.
func New(kind Kind, message string) *Error { return &Error{Kind: kind, Message: message} }

// Newf is New with formatting.
func Newf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Validation returns an Invalid error listing every violated field rule.
func Validation(fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Message: "the request has invalid fields", Fields: fields}
}

// KindOf reports the kind of the first *Error in err's chain, or "" when err
// carries none (an internal error).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
