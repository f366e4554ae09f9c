// Package postgres opens a service's own database: it creates the database
// when missing, applies the service's embedded migrations, and returns a
// connection pool. One reads a single row the way every store does.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Postgres error codes the services act on.
const (
	CodeUniqueViolation   = "23505"
	CodeDuplicateDatabase = "42P04"
)

// Open creates the database named in url when it does not exist, applies
// migrations (goose SQL files at the root of the FS) and returns a pool.
func Open(ctx context.Context, url string, migrations fs.FS) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if err := EnsureDatabase(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	if err := Migrate(ctx, cfg.ConnConfig, migrations); err != nil {
		return nil, err
	}
	// After the migrations: they are not part of any request's trace.
	cfg.ConnConfig.Tracer = queryTracer{database: cfg.ConnConfig.Database}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		encodeUUIDs(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping %s: %w", cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// EnsureDatabase creates cfg's database, connecting to the server's
// "postgres" database to do so. Replicas racing to create it are fine.
func EnsureDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to postgres server: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", cfg.Database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", cfg.Database, err)
	}
	if exists {
		return nil
	}
	// A replica that created it first makes this one fail with 42P04, or
	// with 23505 (the catalog's unique index) when both create at once.
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err != nil && !IsCode(err, CodeDuplicateDatabase) && !IsCode(err, CodeUniqueViolation) {
		return fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	return nil
}

// Migrate applies every pending migration under a session lock, so replicas
// starting together migrate once.
func Migrate(ctx context.Context, cfg *pgx.ConnConfig, migrations fs.FS) error {
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return migrateDB(ctx, db, migrations)
}

// MigrateShared applies the migrations of a platform package that keeps
// tables in every service's database (deadletter), recording them in
// versionTable: they are numbered apart from the service's own migrations,
// which goose records in its default table.
func MigrateShared(ctx context.Context, pool *pgxpool.Pool, versionTable string, migrations fs.FS) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrateDB(ctx, db, migrations, goose.WithTableName(versionTable))
}

func migrateDB(ctx context.Context, db *sql.DB, migrations fs.FS, opts ...goose.ProviderOption) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations, append(opts, goose.WithSessionLocker(locker))...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// IsCode reports whether err is a Postgres error with the given SQLSTATE.
func IsCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
