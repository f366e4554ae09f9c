// Command auth manages accounts, sessions and the tokens every other
// service verifies.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/daprshop/daprshop/services/auth/internal/httpapi"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/auth/internal/postgres/migrations"
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
	svc, err := service.Start(ctx, service.Spec{Name: "auth", Port: 3001, Migrations: migrations.FS}, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	secretStore := svc.Env.String("SECRET_STORE", "secretstore")
	var signing keys.Set
	err = service.WaitFor(ctx, "load signing keys", func(ctx context.Context) error {
		secrets, err := svc.Sidecar.GetBulkSecret(ctx, secretStore, nil)
		if err != nil {
			return fmt.Errorf("read secret store %s: %w", secretStore, err)
		}
		signing, err = keys.FromSecrets(flatten(secrets))
		return err
	})
	if err != nil {
		return err
	}
	httpapi.New(signing).Register(svc.Server.App())
	return svc.Run(ctx)
}

// flatten turns the secret store's bulk answer (secret → key → value) into
// secret → value: local and Kubernetes stores both key single values by the
// secret's own name.
func flatten(bulk map[string]map[string]string) map[string]string {
	out := make(map[string]string, len(bulk))
	for name, values := range bulk {
		if v, ok := values[name]; ok {
			out[name] = v
		}
	}
	return out
}
