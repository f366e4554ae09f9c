// Command products serves the catalog: products, categories and stock.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/service"
	"github.com/daprshop/daprshop/services/products/internal/httpapi"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
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
	svc, err := service.Start(ctx, service.Spec{Name: "products", Port: 3002, Migrations: migrations.FS}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	httpapi.New(postgres.NewStore(svc.DB)).Register(svc.Server.App())
	return svc.Run(ctx)
}
