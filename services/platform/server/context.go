package server

import (
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/platform/logging"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// Headers every service reads and propagates.
const (
	HeaderRequestID   = "X-Request-ID"
	HeaderTraceparent = "traceparent"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestContext gives every request an id (the client's when it is sane)
// and a server span, the child of the caller's W3C trace context when it
// sent one; it echoes the id and the span's traceparent, and puts both in
// the user context so logs and outgoing calls carry them. The span is
// named after the matched route once the handler has run, so a trace
// reads "POST /api/v1/orders", not one name per order id.
//
// The id is copied: Fiber's header strings alias a buffer reused by the
// next request, and it outlives the handler (gRPC encodes metadata on its
// own goroutine, after the call that carried it may have returned).
func requestContext(c *fiber.Ctx) error {
	id := strings.Clone(c.Get(HeaderRequestID))
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	c.Set(HeaderRequestID, id)
	if opsPaths[c.Path()] {
		// Probes and scrapes, every few seconds, would each be a trace.
		c.SetUserContext(logging.WithRequestID(c.UserContext(), id))
		return c.Next()
	}
	// Copied too: the exporter reads the span's name after the request.
	method := strings.Clone(c.Method())
	ctx := telemetry.WithTraceparent(logging.WithRequestID(c.UserContext(), id), c.Get(HeaderTraceparent))
	ctx, span := telemetry.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	c.Set(HeaderTraceparent, telemetry.Traceparent(ctx))
	c.SetUserContext(ctx)
	err := c.Next()
	if span.IsRecording() {
		route := c.Route().Path
		if named, ok := c.Locals(routeKey{}).(string); ok {
			route = named
		}
		span.SetName(method + " " + route)
		// The access log, inside this, has rendered any error already.
		status := c.Response().StatusCode()
		span.SetAttributes(
			attribute.String("http.request.method", method),
			attribute.String("http.route", route),
			attribute.String("url.path", strings.Clone(c.Path())),
			attribute.Int("http.response.status_code", status),
		)
		if status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
	}
	return err
}

type routeKey struct{}

// NameRoute names the request's route, for its span, where the router
// matched a catch-all (the gateway's proxy) and the handler knows better.
// route is a pattern, not a path: span names must stay few.
func NameRoute(c *fiber.Ctx, route string) { c.Locals(routeKey{}, route) }

// accessLog writes one line per request; probes and scrapes only at debug.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Render the error now so the logged status is the one sent.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		level := slog.LevelInfo
		if opsPaths[c.Path()] {
			level = slog.LevelDebug
		}
		log.Log(c.UserContext(), level, "request",
			"method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes_out", bodySize(c),
			"remote_ip", ClientAddr(c))
		return nil
	}
}

// bodySize is the response body's length, or -1 for a streamed body whose
// length is unknown (reading it to measure would defeat streaming).
func bodySize(c *fiber.Ctx) int {
	if c.Response().IsBodyStream() {
		return c.Response().Header.ContentLength()
	}
	return len(c.Response().Body())
}
