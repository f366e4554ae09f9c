package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// Replicas of a service start together, and each creates its database
// when missing: all of them start.
func TestEnsureDatabaseRacingReplicas(t *testing.T) {
	ctx := context.Background()
	server, err := pgx.ParseConfig(pgtest.ServerURL())
	require.NoError(t, err)
	cfg := server.Copy()
	cfg.Database = "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	t.Cleanup(func() {
		conn, err := pgx.ConnectConfig(ctx, server)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{cfg.Database}.Sanitize()))
		assert.NoError(t, err)
	})

	const replicas = 8
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			<-start
			errs[i] = postgres.EnsureDatabase(ctx, cfg)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "replica %d", i)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err, "the database exists")
	conn.Close(ctx)
}
