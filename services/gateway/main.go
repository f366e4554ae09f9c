// Command gateway is the public entry point: it matches each request to a
// service by its route table and proxies it through its Dapr sidecar.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/daprshop/daprshop/services/gateway/internal/proxy"
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
	svc, err := service.Start(ctx, service.Spec{Name: "gateway", Port: 3000, Public: true, StreamRequestBody: true}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	table, err := routes.Load(svc.Env.String("ROUTES_FILE", "routes.yaml"))
	if err != nil {
		return err
	}
	proxy.New(table, proxy.Options{
		SidecarHTTPPort: svc.Config.DaprHTTPPort,
		DaprAPIToken:    svc.Config.DaprAPIToken,
		Timeout:         svc.Env.Duration("UPSTREAM_TIMEOUT", 15*time.Second),
		BodyLimit:       svc.Env.Int("BODY_LIMIT_BYTES", 1<<20),
		Logger:          svc.Log,
	}).Register(svc.Server.App())
	return svc.Run(ctx)
}
