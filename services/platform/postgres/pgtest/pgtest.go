// Package pgtest gives tests a fresh, migrated database on the real Postgres
// server and drops it afterwards. A server that cannot be reached fails the
// test: store tests never skip.
package pgtest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/postgres"
)

// ServerURL is the Postgres server tests use: $POSTGRES_URL or the local
// default.
func ServerURL() string {
	if u := os.Getenv("POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates a uniquely named database, applies migrations and
// returns a pool; both are removed when the test ends.
func NewDatabase(tb testing.TB, migrations fs.FS) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	name := "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	url := config.DatabaseURL(ServerURL(), name)
	pool, err := postgres.Open(ctx, url, migrations)
	require.NoError(tb, err, "open test database (is PostgreSQL running?)")
	tb.Cleanup(func() {
		pool.Close()
		conn, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			tb.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize())); err != nil {
			tb.Errorf("drop %s: %v", name, err)
		}
	})
	return pool
}

// AnotherPool opens a second pool on pool's database, as another replica
// of the service would, and closes it when the test ends.
func AnotherPool(tb testing.TB, pool *pgxpool.Pool) *pgxpool.Pool {
	tb.Helper()
	other, err := pgxpool.NewWithConfig(context.Background(), pool.Config())
	require.NoError(tb, err)
	tb.Cleanup(other.Close)
	return other
}

// RequireReversible checks that migrations roll all the way down, leaving
// no table behind, and apply again from scratch.
func RequireReversible(tb testing.TB, migrations fs.FS) {
	tb.Helper()
	ctx := context.Background()
	pool := NewDatabase(tb, migrations)
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations)
	require.NoError(tb, err)
	_, err = p.DownTo(ctx, 0)
	require.NoError(tb, err, "roll back every migration")
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`)
	require.NoError(tb, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(tb, err)
	require.Empty(tb, tables, "tables left after rolling back every migration")
	_, err = p.Up(ctx)
	require.NoError(tb, err, "apply every migration again")
}

// RequireRefused runs sql on db and requires Postgres to refuse it with the
// SQLSTATE code: a state the schema itself guards against.
func RequireRefused(tb testing.TB, db *pgxpool.Pool, code, sql string, args ...any) {
	tb.Helper()
	_, err := db.Exec(context.Background(), sql, args...)
	var pgErr *pgconn.PgError
	require.ErrorAs(tb, err, &pgErr, "Postgres refuses %s", sql)
	assert.Equal(tb, code, pgErr.Code, pgErr.Message)
}
