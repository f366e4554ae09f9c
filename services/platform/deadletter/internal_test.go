package deadletter

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

func TestLastErrorsForgetTheOldestFirst(t *testing.T) {
	m := newLastErrors(3)
	for i := range 3 {
		m.remember(fmt.Sprint(i), "err "+fmt.Sprint(i))
	}
	m.remember("0", "err 0 again") // known: keeps its place
	m.remember("3", "err 3")       // full: "0" goes
	_, ok := m.last("0")
	assert.False(t, ok, "the first remembered is forgotten first")
	for _, id := range []string{"1", "2", "3"} {
		msg, ok := m.last(id)
		assert.True(t, ok, id)
		assert.Equal(t, "err "+id, msg)
	}
	m.remember("4", "err 4")
	_, ok = m.last("1")
	assert.False(t, ok)
	assert.Len(t, m.byID, 3)
}

func TestErrorTextIsWhatATextColumnTakes(t *testing.T) {
	assert.Equal(t, "short", errorText("short"))
	assert.Equal(t, "a\uFFFDb c", errorText("a\xffb\x00 c"), "valid UTF-8, no NUL")
	long := errorText(strings.Repeat("é", maxErrorLen)) // two bytes each
	assert.True(t, utf8.ValidString(long))
	assert.LessOrEqual(t, len(long), maxErrorLen+len("…"))
	assert.True(t, strings.HasSuffix(long, "…"))
}

func TestMigrationsRollBackAndReapply(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewDatabase(t, processedEvents(t))
	require.NoError(t, Migrate(ctx, pool))
	require.NoError(t, Migrate(ctx, pool), "migrating again changes nothing")

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	migrations, err := fs.Sub(migrationFiles, "migrations")
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithTableName(VersionTable))
	require.NoError(t, err)
	_, err = p.DownTo(ctx, 0)
	require.NoError(t, err, "roll back every migration")
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'dead_letters%' AND tablename <> $1`, VersionTable)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, tables)
	var processed bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('processed_events') IS NOT NULL`).Scan(&processed))
	assert.True(t, processed, "the service's own tables stay")

	require.NoError(t, Migrate(ctx, pool), "apply every migration again")
}

// processedEvents are the migrations of a service's own tables.
func processedEvents(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(os.DirFS("testdata"), "migrations")
	require.NoError(t, err)
	return sub
}
