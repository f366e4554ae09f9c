// Command orders serves orders: checkout, order history and the order
// state machine.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/daprshop/daprshop/services/orders/internal/httpapi"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/orders/internal/postgres/migrations"
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
	svc, err := service.Start(ctx, service.Spec{Name: "orders", Port: 3003, Migrations: migrations.FS}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	httpapi.New(postgres.NewStore(svc.DB), svc.Verifier).Register(svc.Server.App())
	return svc.Run(ctx)
}
