package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/logging"
)

// Headers every service reads and propagates.
const (
	HeaderRequestID   = "X-Request-ID"
	HeaderTraceparent = "traceparent"
)

var (
	requestIDPattern   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	traceparentPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// requestContext gives every request an id (the client's when it is sane)
// and a W3C trace context, echoes both, and puts them in the user context
// so logs and outgoing calls carry them.
//
// Both are copied: Fiber's header strings alias a buffer reused by the next
// request, and these outlive the handler (gRPC encodes metadata on its own
// goroutine, after the call that carried them may have returned).
func requestContext(c *fiber.Ctx) error {
	id := strings.Clone(c.Get(HeaderRequestID))
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	tp := strings.Clone(c.Get(HeaderTraceparent))
	if !traceparentPattern.MatchString(tp) {
		tp = newTraceparent()
	}
	c.Set(HeaderRequestID, id)
	c.Set(HeaderTraceparent, tp)
	ctx := logging.WithTraceparent(logging.WithRequestID(c.UserContext(), id), tp)
	c.SetUserContext(ctx)
	return c.Next()
}

func newTraceparent() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return "00-" + hex.EncodeToString(b[:16]) + "-" + hex.EncodeToString(b[16:]) + "-01"
}

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
			"remote_ip", c.IP())
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
