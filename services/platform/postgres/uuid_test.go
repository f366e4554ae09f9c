package postgres_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

var linkMigrations = fstest.MapFS{"00001_links.sql": {Data: []byte(`-- +goose Up
CREATE TABLE links (id uuid PRIMARY KEY, parent uuid, tags uuid[] NOT NULL);
-- +goose Down
DROP TABLE links;
`)}}

// uuid.UUID arguments, bare, through a pointer (nil is NULL) and in
// arrays, are stored as the ids they are and found by them.
func TestUUIDArguments(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewDatabase(t, linkMigrations)
	child, parent, tag := uuid.New(), uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, "INSERT INTO links (id, parent, tags) VALUES ($1, $2, $3), ($4, $5, $6)",
		parent, (*uuid.UUID)(nil), []uuid.UUID{},
		child, &parent, []uuid.UUID{tag, parent})
	require.NoError(t, err)

	var text string
	var gotParent *uuid.UUID
	var tags []uuid.UUID
	require.NoError(t, pool.QueryRow(ctx, "SELECT id::text, parent, tags FROM links WHERE id = $1", child).Scan(&text, &gotParent, &tags))
	assert.Equal(t, child.String(), text)
	require.NotNil(t, gotParent)
	assert.Equal(t, parent, *gotParent)
	assert.Equal(t, []uuid.UUID{tag, parent}, tags)

	require.NoError(t, pool.QueryRow(ctx, "SELECT parent FROM links WHERE id = $1", parent).Scan(&gotParent))
	assert.Nil(t, gotParent)
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM links WHERE id = ANY($1)", []uuid.UUID{child, parent, uuid.New()}).Scan(&n))
	assert.Equal(t, 2, n)
}

// BenchmarkEncodeUUID is what each uuid.UUID argument of a query costs
// to encode on the services' connections.
func BenchmarkEncodeUUID(b *testing.B) {
	conn, err := pgtest.NewDatabase(b, linkMigrations).Acquire(context.Background())
	require.NoError(b, err)
	defer conn.Release()
	m, id := conn.Conn().TypeMap(), uuid.New()
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
