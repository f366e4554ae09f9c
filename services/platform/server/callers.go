package server

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// HeaderCallerAppID names the invoking app on every request daprd forwards
// by service invocation; with mTLS it is the caller's verified identity.
// Pub/sub deliveries and input bindings come from the app's own sidecar
// without it. daprd sets only the lower-case key, so a copy a client smuggled
// in under another spelling arrives as a second value.
const HeaderCallerAppID = "dapr-caller-app-id"

var (
	errCaller     = apperr.New(apperr.Forbidden, "this route is not open to the calling app")
	errInvoked    = apperr.New(apperr.Forbidden, "this route takes only deliveries from the service's own sidecar")
	errTwoCallers = apperr.New(apperr.Forbidden, "the caller is named more than once")
)

// OnlyCallers admits a request only when daprd names exactly one calling
// app and it is one of apps. It is the app's own layer behind the sidecar's
// access control: internal routes stay closed when a policy is missing.
func OnlyCallers(apps ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		callers := c.Request().Header.PeekAll(HeaderCallerAppID)
		switch {
		case len(callers) > 1:
			return errTwoCallers
		case len(callers) == 0 || !slices.Contains(apps, string(callers[0])):
			return errCaller
		}
		return c.Next()
	}
}

// NotInvoked refuses every request that came by service invocation, for
// routes that only the app's own sidecar may call: event deliveries, the
// subscription list, input bindings.
func NotInvoked(c *fiber.Ctx) error {
	if len(c.Request().Header.PeekAll(HeaderCallerAppID)) > 0 {
		return errInvoked
	}
	return c.Next()
}
