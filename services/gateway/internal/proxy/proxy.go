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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/logging"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/telemetry"
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

// Proxy forwards requests to apps through the sidecar.
type Proxy struct {
	client *fasthttp.HostClient
	opts   Options
}

// New returns a Proxy.
func New(opts Options) *Proxy {
	return &Proxy{
		opts: opts,
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
			// Retries belong to Dapr's resiliency policies, not to a hidden
			// loop here that would replay requests services already served.
			MaxIdemponentCallAttempts: 1,
		},
	}
}

// Forward invokes app with the request through the sidecar and streams
// the answer back. The caller has already checked the request: uri is the
// request-target to send in place of the client's, client the address to
// pass on as X-Forwarded-For.
func (p *Proxy) Forward(c *fiber.Ctx, app, uri, client string) error {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	c.Request().Header.CopyTo(&req.Header)
	// The copy carries the client's raw request line; only the checked
	// target may reach the sidecar, which would clean a raw one itself.
	req.SetRequestURI(uri)
	for _, h := range append(sidecarHeaders, hopHeaders...) {
		req.Header.Del(h)
	}
	req.Header.Set("dapr-app-id", app)
	if p.opts.DaprAPIToken != "" {
		req.Header.Set("dapr-api-token", p.opts.DaprAPIToken)
	}
	// The span lasts until the answer's head: its body is streamed to the
	// client after Forward returns.
	ctx, span := telemetry.Start(c.UserContext(), "invoke "+app, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.service", app), attribute.String("http.request.method", c.Method())))
	defer span.End()
	req.Header.Set(server.HeaderRequestID, logging.RequestID(ctx))
	if tp := telemetry.Traceparent(ctx); tp != "" {
		req.Header.Set(server.HeaderTraceparent, tp)
	}
	req.Header.Set(fiber.HeaderXForwardedFor, client)
	req.Header.Set(fiber.HeaderXForwardedProto, c.Protocol())
	if err := p.setBody(c, req); err != nil {
		return err
	}

	resp := fasthttp.AcquireResponse()
	if err := p.client.Do(req, resp); err != nil {
		fasthttp.ReleaseResponse(resp)
		span.SetStatus(codes.Error, err.Error())
		return p.transportError(c, app, err)
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode()))
	if resp.StatusCode() >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode()))
	}
	if isSidecarError(resp) {
		defer fasthttp.ReleaseResponse(resp)
		return p.sidecarError(c, app, resp)
	}

	// Header by header, so that what the gateway set (request id, rate
	// limits, CORS) stays; fasthttp manages Content-Length itself.
	c.Status(resp.StatusCode())
	resp.Header.VisitAll(func(k, v []byte) {
		if !skipResponseHeader(string(k)) {
			c.Response().Header.SetBytesKV(k, v)
		}
	})
	if body := resp.BodyStream(); body != nil {
		c.Response().SetBodyStream(&releasingBody{Reader: body, resp: resp}, resp.Header.ContentLength())
		return nil
	}
	c.Response().SetBody(resp.Body())
	fasthttp.ReleaseResponse(resp)
	return nil
}

// setBody streams a request body of known length; a chunked one is read up
// to the limit first, since its size is known only at its end.
func (p *Proxy) setBody(c *fiber.Ctx, req *fasthttp.Request) error {
	stream := c.Context().RequestBodyStream()
	length := c.Request().Header.ContentLength()
	switch {
	case stream == nil:
		req.SetBodyRaw(c.Body())
	case length >= 0:
		req.SetBodyStream(stream, length)
	default:
		body, err := io.ReadAll(io.LimitReader(stream, int64(p.opts.BodyLimit)+1))
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "the body could not be read")
		}
		if len(body) > p.opts.BodyLimit {
			return fiber.ErrRequestEntityTooLarge
		}
		req.SetBodyRaw(body)
	}
	return nil
}

func skipResponseHeader(name string) bool {
	switch strings.ToLower(name) {
	// The client gets the gateway's own span as traceparent, the root of
	// what its request caused, not the service's span under it.
	case "content-length", "date", "server", "transfer-encoding", "traceparent":
		return true
	}
	for _, h := range hopHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
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
func (p *Proxy) sidecarError(c *fiber.Ctx, app string, resp *fasthttp.Response) error {
	var de daprError
	if err := json.Unmarshal(resp.Body(), &de); err != nil || de.ErrorCode == "" {
		// A JSON 5xx without Dapr's shape came from the service itself.
		p.opts.Logger.ErrorContext(c.UserContext(), "service answered a non-problem 5xx", "app", app, "status", resp.StatusCode())
		return apperr.New(apperr.BadGateway, "the service answered with an error")
	}
	p.opts.Logger.WarnContext(c.UserContext(), "invocation failed", "app", app, "error_code", de.ErrorCode, "message", de.Message)
	msg := strings.ToLower(de.Message)
	if strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout") || strings.Contains(msg, "timed out") {
		return apperr.Newf(apperr.Timeout, "the %s service did not answer in time", app)
	}
	return apperr.Newf(apperr.Unavailable, "the %s service is unavailable", app)
}

func (p *Proxy) transportError(c *fiber.Ctx, app string, err error) error {
	p.opts.Logger.WarnContext(c.UserContext(), "sidecar unreachable", "app", app, "err", err)
	if errors.Is(err, fasthttp.ErrTimeout) {
		return apperr.Newf(apperr.Timeout, "the %s service did not answer in time", app)
	}
	return apperr.New(apperr.Unavailable, "the gateway's sidecar is unavailable")
}
