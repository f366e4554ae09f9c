package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/logging"
)

// ProblemContentType is the media type of RFC 9457 error documents.
const ProblemContentType = "application/problem+json"

// ProblemTypeBase prefixes the problem type slug of every error document.
const ProblemTypeBase = "https://daprshop.dev/problems/"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Code      string              `json:"code,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
	Extra     map[string]any      `json:"-"`
}

var kindStatus = map[apperr.Kind]int{
	apperr.Malformed:    http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.Invalid:      http.StatusUnprocessableEntity,
	apperr.RateLimited:  http.StatusTooManyRequests,
	apperr.BadGateway:   http.StatusBadGateway,
	apperr.Unavailable:  http.StatusServiceUnavailable,
	apperr.Timeout:      http.StatusGatewayTimeout,
}

// ProblemFor turns any error into the problem document a client may see.
// Errors that carry no apperr kind are internal: their text never leaves
// the service.
func ProblemFor(err error) Problem {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		status, ok := kindStatus[ae.Kind]
		if !ok {
			status = http.StatusInternalServerError
		}
		return Problem{
			Type: ProblemTypeBase + string(ae.Kind), Title: http.StatusText(status), Status: status,
			Detail: ae.Message, Code: ae.Code, Errors: ae.Fields, Extra: ae.Extra,
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code < http.StatusInternalServerError {
		return Problem{
			Type: ProblemTypeBase + slug(fe.Code), Title: http.StatusText(fe.Code), Status: fe.Code, Detail: fe.Message,
		}
	}
	return Problem{
		Type: ProblemTypeBase + "internal-error", Title: http.StatusText(http.StatusInternalServerError),
		Status: http.StatusInternalServerError, Detail: "internal error",
	}
}

func slug(status int) string {
	switch status {
	case http.StatusNotFound:
		return string(apperr.NotFound)
	case http.StatusRequestEntityTooLarge:
		return "payload-too-large"
	case http.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case http.StatusMethodNotAllowed:
		return "method-not-allowed"
	case http.StatusTooManyRequests:
		return string(apperr.RateLimited)
	default:
		return string(apperr.Malformed)
	}
}

// WriteProblem sends p as the response.
func WriteProblem(c *fiber.Ctx, p Problem) error {
	p.RequestID = logging.RequestID(c.UserContext())
	body := map[string]any{}
	for k, v := range p.Extra {
		body[k] = v
	}
	body["type"], body["title"], body["status"] = p.Type, p.Title, p.Status
	if p.Detail != "" {
		body["detail"] = p.Detail
	}
	if p.Code != "" {
		body["code"] = p.Code
	}
	if p.RequestID != "" {
		body["request_id"] = p.RequestID
	}
	if len(p.Errors) > 0 {
		body["errors"] = p.Errors
	}
	c.Status(p.Status)
	if err := c.JSON(body); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ProblemContentType)
	return nil
}

// retryAfter is an error that knows how long until trying again may
// succeed (a login lockout).
type retryAfter interface{ RetryAfter() time.Duration }

// retryAfterSeconds rounds up, so a client waiting that long is let in.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// errorHandler is the one place where errors become responses.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := ProblemFor(err)
		if p.Status >= http.StatusInternalServerError && apperr.KindOf(err) == "" {
			log.ErrorContext(c.UserContext(), "request failed", "method", c.Method(), "path", c.Path(), "err", err)
		}
		var ra retryAfter
		if errors.As(err, &ra) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(ra.RetryAfter())))
		}
		return WriteProblem(c, p)
	}
}
