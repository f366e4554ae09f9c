// Command gateway is the public entry point: it checks each request at the
// edge (route, token, role, rate limit, body) and proxies it through its
// Dapr sidecar to the service that owns it.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/redis/go-redis/v9"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
	"github.com/daprshop/daprshop/services/gateway/internal/openapi"
	"github.com/daprshop/daprshop/services/gateway/internal/proxy"
	"github.com/daprshop/daprshop/services/gateway/internal/ratelimit"
	"github.com/daprshop/daprshop/services/gateway/internal/routes"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	svc, err := service.Start(ctx, service.Spec{
		Name: "gateway", Port: 3000, Public: true,
		// Clients reach every path of the public port; metrics are not theirs.
		MetricsPort: 3100,
		// Buffer what arrives with the headers, stream the rest: the edge
		// checks the announced length, the proxy never holds whole bodies.
		StreamRequestBody: true, BodyLimit: 16 << 10,
	}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	cfg, table, err := routes.Load(svc.Env.String("ROUTES_FILE", "routes.yaml"))
	if err != nil {
		return err
	}
	bodyLimit := svc.Env.Int("BODY_LIMIT_BYTES", 1<<20)

	var limiter edge.Limiter
	// Off only for load runs from a single host, where every request shares
	// one client IP.
	if svc.Env.String("RATE_LIMITS", "on") != "off" {
		rdb := redis.NewClient(redisOptions(svc.Env))
		defer rdb.Close()
		limiter = ratelimit.New(rdb, "gateway:ratelimit:")
	}

	doc, err := openapi.Document()
	if err != nil {
		return err
	}

	app := svc.Server.App()
	app.Use(edge.SecurityHeaders, cors.New(cors.Config{
		AllowOrigins:  strings.Join(cfg.CORS.AllowOrigins, ","),
		AllowHeaders:  "Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent",
		ExposeHeaders: "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After",
		MaxAge:        600,
	}))
	app.Get(openapi.Path, openapi.Handler(doc))
	app.All("/*", edge.New(edge.Options{
		Table:    table,
		Limits:   cfg.RateLimits,
		Verifier: svc.Verifier,
		Limiter:  limiter,
		Forwarder: proxy.New(proxy.Options{
			SidecarHTTPPort: svc.Config.DaprHTTPPort,
			DaprAPIToken:    svc.Config.DaprAPIToken,
			Timeout:         svc.Env.Duration("UPSTREAM_TIMEOUT", 15*time.Second),
			BodyLimit:       bodyLimit,
			Logger:          svc.Log,
		}),
		BodyLimit:      bodyLimit,
		TrustedProxies: svc.Config.TrustedProxyNets,
		Logger:         svc.Log,
	}).Handle)
	return svc.Run(ctx)
}

// redisOptions points the rate limiter at REDIS_ADDR, authenticating with
// REDIS_PASSWORD when the server requires one (in Kubernetes both come from
// the Secret redis).
func redisOptions(env *config.Reader) *redis.Options {
	return &redis.Options{
		Addr:     env.String("REDIS_ADDR", "127.0.0.1:6379"),
		Password: env.String("REDIS_PASSWORD", ""),
	}
}
