// Package server is the Fiber bootstrap every service shares: request ids,
// trace context, access logs, metrics, problem+json errors, health and
// readiness endpoints, sidecar authentication and graceful shutdown.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/config"
)

// Check reports whether one dependency can serve requests.
type Check func(ctx context.Context) error

// Options configure a Server.
type Options struct {
	Config config.Base
	Logger *slog.Logger
	// Checks are run by /readyz; each must answer within CheckTimeout.
	Checks map[string]Check
	// Public marks the edge: it is called by clients, not by its sidecar,
	// so it does not require the app API token, and its metrics are served
	// on MetricsPort instead, out of clients' reach.
	Public bool
	// MetricsPort serves /metrics of a Public server (on the bind address).
	MetricsPort int
	// BodyLimit caps request bodies (413 past it); 1 MiB when zero. With
	// StreamRequestBody it is only how much is buffered before the handler
	// runs: the rest arrives as a stream, whose size the handler checks.
	BodyLimit int
	// StreamRequestBody hands bodies to handlers as they arrive instead of
	// buffering them; the gateway proxies them this way.
	StreamRequestBody bool
}

// CheckTimeout bounds each readiness check.
const CheckTimeout = 2 * time.Second

const appTokenHeader = "dapr-api-token"

// opsPaths are probed by orchestrators and scrapers, never through a sidecar.
var opsPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Server is a Fiber app with the shared middleware installed. Register
// routes on App, then call Run.
type Server struct {
	app      *fiber.App
	cfg      config.Base
	log      *slog.Logger
	checks   map[string]Check
	metrics  *Metrics
	draining atomic.Bool
	// ops serves /metrics apart from app on a Public server; nil otherwise.
	ops         *fiber.App
	metricsPort int
}

// New builds a Server. Routes registered on App come after the shared
// middleware and the ops endpoints.
func New(opts Options) *Server {
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 1 << 20
	}
	s := &Server{cfg: opts.Config, log: opts.Logger, checks: opts.Checks, metrics: NewMetrics(opts.Config.Service)}
	// Fiber trusts the very prefixes ClientAddr walks past.
	trusted := make([]string, len(opts.Config.TrustedProxyNets))
	for i, p := range opts.Config.TrustedProxyNets {
		trusted[i] = p.String()
	}
	s.app = fiber.New(fiber.Config{
		AppName:               opts.Config.Service,
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(opts.Logger),
		BodyLimit:             opts.BodyLimit,
		StreamRequestBody:     opts.StreamRequestBody,
		// Forwarding headers (X-Forwarded-Proto, X-Forwarded-Host) count
		// only from a trusted proxy; with none configured, from nobody.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          trusted,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             90 * time.Second,
	})
	// Outermost first: the access log and metrics must see the status of
	// errors and recovered panics alike.
	s.app.Use(requestContext, clientAddress(opts.Config.TrustedProxyNets), s.metrics.middleware, accessLog(opts.Logger), recoverPanics(opts.Logger))
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	s.app.Get("/readyz", s.readyz)
	if opts.Public {
		s.ops = fiber.New(fiber.Config{DisableStartupMessage: true})
		s.ops.Get("/metrics", s.metrics.handler())
		s.metricsPort = opts.MetricsPort
	} else {
		s.app.Get("/metrics", s.metrics.handler())
	}
	if !opts.Public && opts.Config.AppAPIToken != "" {
		s.app.Use(requireAppToken(opts.Config.AppAPIToken))
	}
	return s
}

// App is the Fiber app to register routes on.
func (s *Server) App() *fiber.App { return s.app }

// Metrics is the service's metric registry, for service-specific metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Run serves until ctx ends, then fails readiness and drains in-flight
// requests for up to the configured shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	addr := net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests pass port 0).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.ops != nil {
		addr := net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.metricsPort))
		opsLn, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", addr, err)
		}
		go func() { _ = s.ops.Listener(opsLn) }()
		defer s.ops.Shutdown()
	}
	if s.cfg.PprofAddress != "" {
		addr, stop, err := servePprof(s.cfg.PprofAddress)
		if err != nil {
			return err
		}
		defer stop()
		s.log.Info("serving pprof", "addr", addr.String())
	}
	served := make(chan error, 1)
	go func() { served <- s.app.Listener(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down", "drain_timeout", s.cfg.ShutdownTimeout.String())
	if err := s.app.ShutdownWithTimeout(s.cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-served
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.draining.Load() {
		return apperr.New(apperr.Unavailable, "shutting down")
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(s.checks))
	for name, check := range s.checks {
		go func() {
			ctx, cancel := context.WithTimeout(c.UserContext(), CheckTimeout)
			defer cancel()
			results <- result{name, check(ctx)}
		}()
	}
	status := make(map[string]string, len(s.checks))
	failed := false
	for range s.checks {
		r := <-results
		status[r.name] = "ok"
		if r.err != nil {
			failed = true
			status[r.name] = "unavailable"
			s.log.WarnContext(c.UserContext(), "readiness check failed", "check", r.name, "err", r.err)
		}
	}
	if failed {
		return &apperr.Error{Kind: apperr.Unavailable, Message: "a dependency is unavailable", Extra: map[string]any{"checks": status}}
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": status})
}

// requireAppToken refuses calls that do not come through the app's own
// sidecar, which sends the shared APP_API_TOKEN with every call.
func requireAppToken(token string) fiber.Handler {
	want := []byte(token)
	return func(c *fiber.Ctx) error {
		if opsPaths[c.Path()] {
			return c.Next()
		}
		if subtle.ConstantTimeCompare([]byte(c.Get(appTokenHeader)), want) != 1 {
			return apperr.New(apperr.Unauthorized, "calls must come through the service's sidecar")
		}
		return c.Next()
	}
}

func recoverPanics(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "panic", "panic", fmt.Sprint(r), "path", c.Path())
				err = errors.New("panic recovered")
			}
		}()
		return c.Next()
	}
}
