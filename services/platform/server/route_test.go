package server_test

import (
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/daprshop/daprshop/services/platform/server"
)

// A catch-all's handler names the route its span shows (the gateway's
// routes table), not the catch-all.
func TestSpansNameTheRouteAHandlerNamed(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	s := newServer(t, nil)
	s.App().All("/*", func(c *fiber.Ctx) error {
		if c.Path() != "/unnamed" {
			server.NameRoute(c, "/api/v1/products/*")
		}
		return c.SendStatus(http.StatusNoContent)
	})
	get(t, s.App(), "/api/v1/products/9")
	get(t, s.App(), "/unnamed")
	var names []string
	for _, sp := range rec.Ended() {
		names = append(names, sp.Name())
	}
	assert.Equal(t, []string{"GET /api/v1/products/*", "GET /*"}, names)
}
