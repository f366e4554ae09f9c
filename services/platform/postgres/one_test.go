package postgres_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

var itemMigrations = fstest.MapFS{"00001_items.sql": {Data: []byte(`-- +goose Up
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, colour text NOT NULL);
INSERT INTO items (id, name, colour) VALUES (1, 'pen', 'red'), (2, 'pencil', 'red'), (3, 'ink', 'blue');
-- +goose Down
DROP TABLE items;
`)}}

type item struct {
	ID   int    `db:"id"`
	Name string `db:"name"`
}

var errItemNotFound = errors.New("item not found")

// A pool, a connection and a transaction each run One.
var (
	_ postgres.Querier = (*pgxpool.Pool)(nil)
	_ postgres.Querier = (*pgx.Conn)(nil)
	_ postgres.Querier = pgx.Tx(nil)
)

func TestOne(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDatabase(t, itemMigrations)

	t.Run("reads the row by column name", func(t *testing.T) {
		got, err := postgres.One[item](ctx, db, errItemNotFound, "read item 3", `SELECT id, name FROM items WHERE id = $1`, 3)
		require.NoError(t, err)
		assert.Equal(t, item{ID: 3, Name: "ink"}, got)
	})

	t.Run("returns notFound as it is when there is no row", func(t *testing.T) {
		got, err := postgres.One[item](ctx, db, errItemNotFound, "read item 9", `SELECT id, name FROM items WHERE id = $1`, 9)
		assert.Equal(t, errItemNotFound, err, "not wrapped")
		assert.Zero(t, got)
	})

	for _, tc := range []struct {
		name, query string
		want        error
	}{
		{"wraps a second row", `SELECT id, name FROM items WHERE colour = 'red'`, pgx.ErrTooManyRows},
		{"wraps a failed query", `SELECT id, name FROM missing`, nil},
		{"wraps a column the row lacks", `SELECT id, name, colour FROM items WHERE id = 1`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := postgres.One[item](ctx, db, errItemNotFound, "read item", tc.query)
			require.Error(t, err)
			assert.Regexp(t, `^read item: `, err.Error())
			assert.NotErrorIs(t, err, errItemNotFound)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Zero(t, got)
		})
	}

	t.Run("reads with a lock inside a transaction", func(t *testing.T) {
		var got item
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var err error
			got, err = postgres.One[item](ctx, tx, errItemNotFound, "lock item 1", `SELECT id, name FROM items WHERE id = $1 FOR UPDATE`, 1)
			return err
		})
		require.NoError(t, err)
		assert.Equal(t, item{ID: 1, Name: "pen"}, got)
	})

	t.Run("reads on a connection", func(t *testing.T) {
		conn, err := db.Acquire(ctx)
		require.NoError(t, err)
		defer conn.Release()
		got, err := postgres.One[item](ctx, conn.Conn(), errItemNotFound, "read item 2", `SELECT id, name FROM items WHERE id = $1`, 2)
		require.NoError(t, err)
		assert.Equal(t, item{ID: 2, Name: "pencil"}, got)
	})
}
