// Command auth manages accounts, sessions and the tokens every other
// service verifies.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/auth/internal/denylist"
	"github.com/daprshop/daprshop/services/auth/internal/httpapi"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/auth/internal/password"
	"github.com/daprshop/daprshop/services/auth/internal/postgres"
	"github.com/daprshop/daprshop/services/auth/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/auth/internal/tokens"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/service"
)

// Secret names of the bootstrap SUPER_ADMIN.
const (
	secretAdminEmail    = "admin-email"
	secretAdminPassword = "admin-password"
)

// authSecrets are every secret auth reads (config/auth.yaml allows exactly
// these).
var authSecrets = []string{
	keys.SecretCurrent, keys.SecretCurrentID, keys.SecretPrevious, keys.SecretPreviousID,
	secretAdminEmail, secretAdminPassword,
}

// program is the service main runs; tests run it too.
var program = service.Program[settings]{
	Spec: service.Spec{Name: contracts.AppAuth, Port: 3001, Migrations: migrations.FS, Outbox: true},
	Wire: wire,
}

func main() { program.Main() }

// settings are the auth service's own; config.Parse reads them.
type settings struct {
	SecretStore      string        `env:"SECRET_STORE" default:"secretstore" doc:"Secret store component holding the signing keys and the bootstrap admin's credentials."`
	SessionRetention time.Duration `env:"SESSION_RETENTION" default:"168h" doc:"How long ended sessions are kept before they are purged."`
	Retention        purge.Retention
}

// wire reads the signing keys and the bootstrap admin's credentials from
// the secret store, then serves accounts, sessions and tokens.
func wire(ctx context.Context, svc *service.Service, cfg settings) error {
	secretStore := cfg.SecretStore
	denylistStore := svc.Config.DenylistStore
	var secrets map[string]string
	err := service.WaitFor(ctx, "read secrets", func(ctx context.Context) error {
		// One by one, by name: the secret scopes and the cluster's RBAC
		// grant auth these secrets only, and listing a store cannot be
		// limited to names. The previous key's secrets exist, empty while
		// no rotation is under way.
		secrets = make(map[string]string, len(authSecrets))
		for _, name := range authSecrets {
			s, err := svc.Sidecar.GetSecret(ctx, secretStore, name, nil)
			if err != nil {
				return fmt.Errorf("read secret %s from %s: %w", name, secretStore, err)
			}
			secrets[name] = s[name]
		}
		return nil
	})
	if err != nil {
		return err
	}
	signing, err := keys.FromSecrets(secrets)
	if err != nil {
		return err
	}
	accts, err := accounts.NewService(postgres.NewStore(svc.DB), password.NewHasher(password.DefaultParams),
		tokens.NewIssuer(signing), denylist.NewWriter(svc.Sidecar, denylistStore), svc.Log, time.Now)
	if err != nil {
		return err
	}
	if err := accts.BootstrapSuperAdmin(ctx, secrets[secretAdminEmail], secrets[secretAdminPassword]); err != nil {
		return err
	}
	// Auth verifies with its own keys rather than fetching them from itself
	// through the sidecar, and reads the denylist it writes on every
	// request, uncached: a logout or demotion holds at once here.
	verifier := authn.NewVerifier(func(context.Context) ([]byte, error) { return json.Marshal(signing.JWKS()) }, time.Now).
		WithDenylist(svc.Sidecar.Denylist(denylistStore))
	purge.Mount(svc.Server.App(), time.Now, map[string]purge.Task{
		"outbox":   purge.PublishedOutbox(svc.DB, cfg.Retention.PublishedOutbox),
		"sessions": postgres.EndedSessions(svc.DB, cfg.SessionRetention),
	})
	httpapi.New(signing, accts, verifier).Register(svc.Server.App())
	return nil
}
