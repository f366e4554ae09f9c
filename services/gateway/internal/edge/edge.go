// Package edge is the gateway's front door: it refuses request-targets that
// are not canonical, matches the rest to a route, turns away what can never
// succeed (no route, missing or bad token, wrong role, over its rate limit,
// body too large or not JSON) and hands the rest to the proxy.
package edge

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/gateway/internal/canon"
	"github.com/daprshop/daprshop/services/gateway/internal/microcache"
	"github.com/daprshop/daprshop/services/gateway/internal/ratelimit"
	"github.com/daprshop/daprshop/services/gateway/internal/routes"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Verifier checks access tokens.
type Verifier interface {
	Verify(ctx context.Context, token string) (*authn.Claims, error)
}

// Limiter counts requests per client.
type Limiter interface {
	Allow(ctx context.Context, name, bucket string, requests int, window time.Duration) (ratelimit.Decision, error)
}

// Forwarder sends an admitted request to app. uri is the request-target
// to send (the canonical path the route was matched on, plus the query)
// and client the address to pass on as X-Forwarded-For: the raw request
// line and forwarding headers are the client's and must not be sent.
type Forwarder interface {
	Forward(c *fiber.Ctx, app, uri, client string) error
}

// Options configure a Gate.
type Options struct {
	Table    *routes.Table
	Limits   map[string]routes.Limit
	Verifier Verifier
	// Limiter is nil when rate limiting is switched off.
	Limiter   Limiter
	Forwarder Forwarder
	// Cache answers anonymous reads of routes marked cache; nil: none.
	Cache     *microcache.Cache
	BodyLimit int
	Logger    *slog.Logger
}

// Gate admits requests.
type Gate struct{ opts Options }

// New returns a Gate.
func New(opts Options) *Gate { return &Gate{opts: opts} }

var (
	errNotCanonical = apperr.New(apperr.Malformed, "the request target is not in canonical form")
	errNoRoute      = apperr.New(apperr.NotFound, "no such resource")
	errNoToken      = apperr.New(apperr.Unauthorized, "a bearer token is required")
	errBadToken     = apperr.New(apperr.Unauthorized, "the bearer token is invalid or expired")
	errNoRole       = apperr.New(apperr.Forbidden, "your role does not allow this")
	errNoAuth       = apperr.New(apperr.Unavailable, "token verification is unavailable")
	errLimited      = apperr.New(apperr.RateLimited, "too many requests; retry later")
	errNotJSON      = fiber.NewError(fiber.StatusUnsupportedMediaType, "the body must be application/json")
	errTooLarge     = fiber.ErrRequestEntityTooLarge
	bodyMethods     = map[string]bool{fiber.MethodPost: true, fiber.MethodPut: true, fiber.MethodPatch: true}
	writeMethods    = map[string]bool{fiber.MethodPost: true, fiber.MethodPut: true, fiber.MethodPatch: true, fiber.MethodDelete: true}
	internalHdrs    = []string{"X-User", "X-Auth", "X-Internal", "X-Real-Ip", "X-Forwarded-", "X-Original-", "Forwarded", "Dapr-"}
)

// Handle admits and forwards one request. The route is chosen on the raw
// request-target only once it is known canonical, and exactly that target
// is forwarded: the sidecar and the services never see a path the route
// table did not.
func (g *Gate) Handle(c *fiber.Ctx) error {
	target, err := canon.Parse(string(c.Request().Header.RequestURI()))
	if err != nil {
		return errNotCanonical
	}
	route, ok := g.opts.Table.Match(c.Method(), target.Path)
	if !ok {
		return errNoRoute
	}
	server.NameRoute(c, route.Pattern(target.Path))
	client := server.ClientAddr(c)
	stripInternalHeaders(c)
	claims, err := g.authenticate(c, route)
	if err != nil {
		return err
	}
	if err := g.limit(c, route, claims, client); err != nil {
		return err
	}
	if err := g.checkBody(c); err != nil {
		return err
	}
	forward := func() error { return g.opts.Forwarder.Forward(c, route.App, target.URI(), client) }
	switch {
	case g.opts.Cache == nil:
		return forward()
	case route.Cache && claims == nil && microcache.Cacheable(c):
		return g.opts.Cache.Serve(c, target.URI(), forward)
	case writeMethods[c.Method()] && g.opts.Table.Cached(route.App):
		// Around a write to the app whose answers are cached, so its writer
		// reads it back; a read fetched while it ran is not kept either.
		// Other writes (a checkout moving stock) show within the TTL, as a
		// change made behind another gateway does; emptying the cache on
		// each of them would leave nothing cached under checkout load.
		g.opts.Cache.Invalidate()
		defer g.opts.Cache.Invalidate()
	}
	return forward()
}

// authenticate returns the caller's claims: required and checked on
// authenticated routes, optional on public ones (where they may only
// choose the rate-limit bucket; an invalid token there is the service's to
// refuse).
func (g *Gate) authenticate(c *fiber.Ctx, route routes.Route) (*authn.Claims, error) {
	token, hasToken := authn.BearerToken(c.Get(fiber.HeaderAuthorization))
	if !hasToken {
		if route.Authenticated() {
			return nil, errNoToken
		}
		return nil, nil
	}
	claims, err := g.opts.Verifier.Verify(c.UserContext(), token)
	switch {
	case err != nil && !route.Authenticated():
		return nil, nil
	case errors.Is(err, authn.ErrInvalidToken):
		return nil, errBadToken
	case err != nil:
		g.opts.Logger.WarnContext(c.UserContext(), "token verification unavailable", "err", err)
		return nil, errNoAuth
	case route.Access == routes.Admin && !claims.IsAdmin():
		return nil, errNoRole
	}
	return claims, nil
}

// limit counts the request against its route's limit, per user when
// authenticated and per client address otherwise. A public route with a
// limit of its own (login, register, refresh) always counts per client
// address: that limit slows guessing, and a token of one of many accounts
// the client registered must not buy it another bucket of attempts. A
// Redis outage lets requests through: losing rate limiting for a while
// beats refusing every client.
func (g *Gate) limit(c *fiber.Ctx, route routes.Route, claims *authn.Claims, client string) error {
	if g.opts.Limiter == nil {
		return nil
	}
	name := route.RateLimit
	if name == "" {
		name = "default"
	}
	limit := g.opts.Limits[name]
	bucket := "ip:" + client
	if claims != nil && (route.Authenticated() || route.RateLimit == "") {
		bucket = "user:" + claims.Subject
	}
	d, err := g.opts.Limiter.Allow(c.UserContext(), name, bucket, limit.Requests, limit.Window)
	if err != nil {
		g.opts.Logger.WarnContext(c.UserContext(), "rate limiter unavailable; request let through", "err", err)
		return nil
	}
	reset := strconv.Itoa(int(math.Ceil(d.Reset.Seconds())))
	c.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	c.Set("X-RateLimit-Reset", reset)
	if !d.Allowed {
		c.Set(fiber.HeaderRetryAfter, reset)
		return errLimited
	}
	return nil
}

// checkBody refuses bodies over the limit (413) and bodies that are not
// JSON (415) before anything reaches a service.
func (g *Gate) checkBody(c *fiber.Ctx) error {
	length := c.Request().Header.ContentLength()
	if length > g.opts.BodyLimit {
		return errTooLarge
	}
	hasBody := length > 0 || length == -1 // -1: chunked
	if hasBody && bodyMethods[c.Method()] && !server.IsJSON(c.Get(fiber.HeaderContentType)) {
		return errNotJSON
	}
	return nil
}

// stripInternalHeaders drops headers a client must never be able to set:
// identity or routing headers that something behind the gateway might
// trust. The proxy sets its own forwarding headers.
func stripInternalHeaders(c *fiber.Ctx) {
	var drop []string
	c.Request().Header.VisitAll(func(k, _ []byte) {
		for _, prefix := range internalHdrs {
			if len(k) >= len(prefix) && strings.EqualFold(string(k[:len(prefix)]), prefix) {
				drop = append(drop, string(k))
				return
			}
		}
	})
	for _, k := range drop {
		c.Request().Header.Del(k)
	}
}

// StrictContentSecurityPolicy is the policy of every response but the
// gateway's own pages: an API answer loads nothing.
const StrictContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// pagePolicyKey holds the policy a gateway page asked for.
type pagePolicyKey struct{}

// PagePolicy lets one of the gateway's own pages (never a proxied answer)
// replace the strict policy with the one it needs to render.
func PagePolicy(c *fiber.Ctx, policy string) { c.Locals(pagePolicyKey{}, policy) }

// SecurityHeaders sets the browser hardening headers on every response,
// after the handler so that proxied responses carry them too.
func SecurityHeaders(c *fiber.Ctx) error {
	err := c.Next()
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	policy := StrictContentSecurityPolicy
	if p, ok := c.Locals(pagePolicyKey{}).(string); ok {
		policy = p
	}
	h.Set("Content-Security-Policy", policy)
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	return err
}
