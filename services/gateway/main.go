// Command gateway is the public entry point: it checks each request at the
// edge (route, token, role, rate limit, body) and proxies it through its
// Dapr sidecar to the service that owns it.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/redis/go-redis/v9"

	"github.com/daprshop/daprshop/services/gateway/internal/apidocs"
	"github.com/daprshop/daprshop/services/gateway/internal/edge"
	"github.com/daprshop/daprshop/services/gateway/internal/microcache"
	"github.com/daprshop/daprshop/services/gateway/internal/openapi"
	"github.com/daprshop/daprshop/services/gateway/internal/proxy"
	"github.com/daprshop/daprshop/services/gateway/internal/ratelimit"
	"github.com/daprshop/daprshop/services/gateway/internal/routes"
	"github.com/daprshop/daprshop/services/gateway/internal/web"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/service"
)

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{
		Name: contracts.AppGateway, Port: 3000, Public: true,
		// Clients reach every path of the public port; metrics are not theirs.
		MetricsPort: 3100,
		// Buffer what arrives with the headers, stream the rest: the edge
		// checks the announced length, the proxy never holds whole bodies.
		StreamRequestBody: true, BodyLimit: 16 << 10,
	},
	Wire: wire,
}

func main() { program.Main() }

// settings are the gateway's own; config.Parse reads them.
type settings struct {
	RoutesFile string `env:"ROUTES_FILE" default:"routes.yaml" doc:"The route table: which paths are public, which need a token or a role, rate limits and CORS."`
	BodyLimit  int    `env:"BODY_LIMIT_BYTES" default:"1048576" doc:"Largest request body passed on, in bytes (413 past it)."`
	// Off only for load runs from a single host, where every request shares
	// one client IP.
	RateLimits      string        `env:"RATE_LIMITS" default:"on" doc:"off turns rate limiting off, for load runs from a single host where every request shares one client IP."`
	UpstreamTimeout time.Duration `env:"UPSTREAM_TIMEOUT" default:"15s" doc:"Deadline of a request proxied to a service."`
	PublicCacheTTL  time.Duration `env:"PUBLIC_CACHE_TTL" default:"1s" doc:"How long an answer to an anonymous GET of a route marked cache (the catalog) may be served again, at most 1s; 0 turns the cache off. Reads with a token or Cache-Control: no-cache always reach the service."`
	WebDir          string        `env:"WEB_DIR" doc:"The shop's built files (web/dist, built by make build), served at / (the admin console at /admin); empty serves no shop, only the API."`
	Redis           redisSettings
}

// redisSettings point the rate limiter at its Redis (in Kubernetes both
// come from the Secret redis).
type redisSettings struct {
	Addr     string `env:"REDIS_ADDR" default:"127.0.0.1:6379" doc:"Redis server holding the rate limiter's counters."`
	Password string `env:"REDIS_PASSWORD" doc:"Password of REDIS_ADDR, when the server requires one."`
}

// wire loads the route table and sends every request through the edge's
// checks to the proxy.
func wire(_ context.Context, svc *service.Service, cfg settings) error {
	routing, table, err := routes.Load(cfg.RoutesFile)
	if err != nil {
		return err
	}
	bodyLimit := cfg.BodyLimit

	var limiter edge.Limiter
	if cfg.RateLimits != "off" {
		rdb := redis.NewClient(redisOptions(cfg.Redis))
		svc.Own(rdb)
		limiter = ratelimit.New(rdb, "gateway:ratelimit:")
	}

	var cache *microcache.Cache
	switch {
	case cfg.PublicCacheTTL > microcache.MaxTTL || cfg.PublicCacheTTL < 0:
		return fmt.Errorf("PUBLIC_CACHE_TTL must be from 0 to %s", microcache.MaxTTL)
	case cfg.PublicCacheTTL > 0:
		cache = microcache.New(cfg.PublicCacheTTL, time.Now)
	}

	doc, err := openapi.Document()
	if err != nil {
		return err
	}

	app := svc.Server.App()
	app.Use(edge.SecurityHeaders, cors.New(cors.Config{
		AllowOrigins:  strings.Join(routing.CORS.AllowOrigins, ","),
		AllowHeaders:  "Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent",
		ExposeHeaders: "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After",
		MaxAge:        600,
	}))
	if cfg.WebDir != "" {
		shop, err := web.Load(os.DirFS(cfg.WebDir), "/api")
		if err != nil {
			return err
		}
		raw, gzipped := shop.Size()
		svc.Log.Info("serving the shop", "dir", cfg.WebDir, "bytes", raw, "gzipped_bytes", gzipped)
		app.Use(shop.Serve)
	}
	app.Get(openapi.Path, openapi.Handler(doc))
	apidocs.Register(app, openapi.Path)
	app.All("/*", edge.New(edge.Options{
		Table:    table,
		Limits:   routing.RateLimits,
		Verifier: svc.Verifier,
		Limiter:  limiter,
		Cache:    cache,
		Forwarder: proxy.New(proxy.Options{
			SidecarHTTPPort: svc.Config.DaprHTTPPort,
			DaprAPIToken:    svc.Config.DaprAPIToken,
			Timeout:         cfg.UpstreamTimeout,
			BodyLimit:       bodyLimit,
			Logger:          svc.Log,
		}),
		BodyLimit: bodyLimit,
		Logger:    svc.Log,
	}).Handle)
	return nil
}

// redisOptions points the rate limiter at its Redis, authenticating with
// the password when the server requires one.
func redisOptions(r redisSettings) *redis.Options {
	return &redis.Options{Addr: r.Addr, Password: r.Password}
}
