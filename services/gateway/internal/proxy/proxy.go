// Package proxy forwards client requests to services through the gateway's
// own Dapr sidecar, streaming bodies both ways without re-encoding them.
package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/daprshop/daprshop/services/gateway/internal/routes"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/logging"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Headers that only the gateway may set towards a sidecar, and hop-by-hop
// headers that must not travel past one connection (RFC 9110 §7.6.1).
var (
	sidecarHeaders = []string{"dapr-app-id", "dapr-api-token", "dapr-caller-app-id", "dapr-callee-app-id"}
	hopHeaders     = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Upgrade"}
)

// Options configure a Proxy.
type Options struct {
	SidecarHTTPPort int
	DaprAPIToken    string
	// Timeout bounds the wait for the response head; past it the client
	// gets 504. Keep it above the sidecar's resiliency timeout, so that the
	// sidecar's own deadline answers first.
	Timeout time.Duration
	// BodyLimit caps request bodies (413 past it).
	BodyLimit int
	Logger    *slog.Logger
}

// Proxy is the gateway's catch-all handler.
type Proxy struct {
	routes *routes.Table
	client *fasthttp.HostClient
	opts   Options
}

// New returns a Proxy over table.
func New(table *routes.Table, opts Options) *Proxy {
	return &Proxy{
		routes: table,
		opts:   opts,
		client: &fasthttp.HostClient{
			Addr:                          net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.SidecarHTTPPort)),
			StreamResponseBody:            true,
			ReadTimeout:                   opts.Timeout,
			WriteTimeout:                  opts.Timeout,
			MaxIdleConnDuration:           30 * time.Second,
			DisableHeaderNamesNormalizing: true,
			DisablePathNormalizing:        true,
			NoDefaultUserAgentHeader:      true,
			MaxConns:                      1024,
		},
	}
}

// Register mounts the proxy for every path not served by the gateway itself.
func (p *Proxy) Register(app fiber.Router) {
	app.All("/*", p.forward)
}

var errNoRoute = apperr.New(apperr.NotFound, "no such resource")

func (p *Proxy) forward(c *fiber.Ctx) error {
	route, ok := p.routes.Match(c.Path())
	if !ok {
		return errNoRoute
	}
	if c.Request().Header.ContentLength() > p.opts.BodyLimit {
		return fiber.ErrRequestEntityTooLarge
	}

	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	c.Request().Header.CopyTo(&req.Header)
	for _, h := range append(sidecarHeaders, hopHeaders...) {
		req.Header.Del(h)
	}
	req.Header.Set("dapr-app-id", route.App)
	if p.opts.DaprAPIToken != "" {
		req.Header.Set("dapr-api-token", p.opts.DaprAPIToken)
	}
	ctx := c.UserContext()
	req.Header.Set(server.HeaderRequestID, logging.RequestID(ctx))
	req.Header.Set(server.HeaderTraceparent, logging.Traceparent(ctx))
	req.Header.Set(fiber.HeaderXForwardedFor, c.IP())
	req.Header.Set(fiber.HeaderXForwardedProto, c.Protocol())
	if stream := c.Context().RequestBodyStream(); stream != nil {
		req.SetBodyStream(io.LimitReader(stream, int64(p.opts.BodyLimit)+1), c.Request().Header.ContentLength())
	} else {
		req.SetBodyRaw(c.Body())
	}

	resp := fasthttp.AcquireResponse()
	if err := p.client.Do(req, resp); err != nil {
		fasthttp.ReleaseResponse(resp)
		return p.transportError(c, route, err)
	}
	if isSidecarError(resp) {
		defer fasthttp.ReleaseResponse(resp)
		return p.sidecarError(c, route, resp)
	}

	resp.Header.CopyTo(&c.Response().Header)
	for _, h := range hopHeaders {
		c.Response().Header.Del(h)
	}
	if body := resp.BodyStream(); body != nil {
		c.Response().SetBodyStream(&releasingBody{Reader: body, resp: resp}, resp.Header.ContentLength())
		return nil
	}
	c.Response().SetBody(resp.Body())
	fasthttp.ReleaseResponse(resp)
	return nil
}

// releasingBody hands the upstream response back to fasthttp's pool once
// the client has been sent all of it; fasthttp closes body streams it sends.
type releasingBody struct {
	io.Reader
	resp *fasthttp.Response
}

func (b *releasingBody) Close() error {
	err := b.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(b.resp)
	return err
}

// isSidecarError tells the sidecar's own failures (JSON with an errorCode)
// from a service's answers, which are problem+json or success bodies.
func isSidecarError(resp *fasthttp.Response) bool {
	return resp.StatusCode() >= fasthttp.StatusInternalServerError &&
		strings.HasPrefix(string(resp.Header.ContentType()), "application/json")
}

type daprError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// sidecarError turns a failed invocation into 503 (the service or its
// sidecar is down, or its circuit is open) or 504 (it did not answer in
// time). The sidecar's message stays in the log: it names internal hosts.
func (p *Proxy) sidecarError(c *fiber.Ctx, route routes.Route, resp *fasthttp.Response) error {
	var de daprError
	if err := json.Unmarshal(resp.Body(), &de); err != nil || de.ErrorCode == "" {
		// A JSON 5xx without Dapr's shape came from the service itself.
		p.opts.Logger.ErrorContext(c.UserContext(), "service answered a non-problem 5xx", "app", route.App, "status", resp.StatusCode())
		return apperr.New(apperr.BadGateway, "the service answered with an error")
	}
	p.opts.Logger.WarnContext(c.UserContext(), "invocation failed", "app", route.App, "error_code", de.ErrorCode, "message", de.Message)
	msg := strings.ToLower(de.Message)
	if strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout") || strings.Contains(msg, "timed out") {
		return apperr.Newf(apperr.Timeout, "the %s service did not answer in time", route.App)
	}
	return apperr.Newf(apperr.Unavailable, "the %s service is unavailable", route.App)
}

func (p *Proxy) transportError(c *fiber.Ctx, route routes.Route, err error) error {
	p.opts.Logger.WarnContext(c.UserContext(), "sidecar unreachable", "app", route.App, "err", err)
	if errors.Is(err, fasthttp.ErrTimeout) {
		return apperr.Newf(apperr.Timeout, "the %s service did not answer in time", route.App)
	}
	return apperr.New(apperr.Unavailable, "the gateway's sidecar is unavailable")
}
