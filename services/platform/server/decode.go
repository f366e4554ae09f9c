package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// validate is safe for concurrent use and caches struct metadata, so one
// instance serves every request.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}

// Decode reads a JSON request body into dst and validates it with its
// `validate` tags. It answers 415 for a non-JSON content type, 400 for a body
// that is not one JSON value of dst's shape (unknown fields included), and
// 422 listing every invalid field.
func Decode(c *fiber.Ctx, dst any) error {
	if !IsJSON(c.Get(fiber.HeaderContentType)) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "the body must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return apperr.New(apperr.Malformed, describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.New(apperr.Malformed, "the body must hold a single JSON value")
	}
	// Parsers disagree on which of two equal keys wins (Go takes the last,
	// others the first), so a body meaning two things is refused.
	if repeatsAKey(c.Body()) {
		return apperr.New(apperr.Malformed, "the body names a field more than once")
	}
	// JSON may spell NUL as \u0000; PostgreSQL text cannot store it and
	// would answer a query holding one with an error, not a result.
	if holdsNUL(reflect.ValueOf(dst)) {
		return apperr.New(apperr.Malformed, "the body holds a NUL character")
	}
	return Validate(dst)
}

// Validate checks v's `validate` tags and returns a 422 error naming every
// violated rule.
func Validate(v any) error {
	err := validate.Struct(v)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	fields := make([]apperr.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, apperr.FieldError{Field: fieldPath(fe), Message: ruleMessage(fe)})
	}
	return apperr.Validation(fields...)
}

// IsJSON reports whether a Content-Type header names JSON (or a +json type).
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// fieldPath drops the top-level struct name: "checkoutRequest.shipping_address.city"
// becomes "shipping_address.city".
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func ruleMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "required_without":
		return "is required"
	case "email":
		return "must be a valid email address"
	case "uuid", "uuid4":
		return "must be a UUID"
	case "min", "gte":
		if fe.Kind() == reflect.String || fe.Kind() == reflect.Slice {
			return fmt.Sprintf("must have at least %s characters or items", fe.Param())
		}
		return "must be at least " + fe.Param()
	case "max", "lte":
		if fe.Kind() == reflect.String || fe.Kind() == reflect.Slice {
			return fmt.Sprintf("must have at most %s characters or items", fe.Param())
		}
		return "must be at most " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "iso4217":
		return "must be an ISO 4217 currency code"
	case "iso3166_1_alpha2":
		return "must be an ISO 3166-1 alpha-2 country code"
	default:
		return "is invalid (" + fe.Tag() + ")"
	}
}

// describeJSONError says what is wrong with a body in fixed words plus, for
// a value of the wrong type, the field's name from the request struct.
// encoding/json's own messages quote the offending input (an unknown key,
// a number too large) and Go type names: neither goes back to the client.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("field %q must be %s", typeErr.Field, jsonKind(typeErr.Type))
	case errors.As(err, &typeErr):
		return "the body must be " + jsonKind(typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "the body holds a field this endpoint does not accept"
	default:
		return "the body is not valid JSON"
	}
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// holdsNUL reports whether a decoded value holds a string with a NUL.
func holdsNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && holdsNUL(v.Elem())
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && holdsNUL(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if holdsNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if holdsNUL(it.Key()) || holdsNUL(it.Value()) {
				return true
			}
		}
	}
	return false
}

// repeatsAKey reports whether any object in body, a valid JSON value,
// names the same key twice.
func repeatsAKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	// One entry per open object or array: the keys seen (nil for an array)
	// and whether the next token of an object is a key.
	type frame struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				top := stack[n-1]
				if top.keys[key] {
					return true
				}
				top.keys[key], top.wantKey = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value has ended: inside an object, a key comes next.
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
}
