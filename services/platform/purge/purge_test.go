package purge_test

import (
	"context"
	"embed"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/purge"
	"github.com/daprshop/daprshop/services/platform/server"
)

//go:embed testdata/migrations/*.sql
var testdata embed.FS

func database(t *testing.T) *pgxpool.Pool {
	migrations, err := fs.Sub(testdata, "testdata/migrations")
	require.NoError(t, err)
	return pgtest.NewDatabase(t, migrations)
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// recordEvents records n processed events at, with ids prefix-1…prefix-n.
func recordEvents(t *testing.T, db *pgxpool.Pool, prefix string, n int, at time.Time) {
	_, err := db.Exec(context.Background(), `INSERT INTO processed_events (consumer, event_id, processed_at)
		SELECT 'c', $1 || '-' || i, $2 FROM generate_series(1, $3) AS i`, prefix, at, n)
	require.NoError(t, err)
}

func remaining(t *testing.T, db *pgxpool.Pool, prefix string) int {
	var n int
	require.NoError(t, db.QueryRow(context.Background(),
		`SELECT count(*) FROM processed_events WHERE event_id LIKE $1 || '-%'`, prefix).Scan(&n))
	return n
}

func TestProcessedEventsKeepsWhatIsWithinRetention(t *testing.T) {
	db := database(t)
	recordEvents(t, db, "old", 3, now.Add(-31*24*time.Hour))
	recordEvents(t, db, "recent", 2, now.Add(-29*24*time.Hour))

	n, err := purge.ProcessedEvents(db, 30*24*time.Hour)(context.Background(), now)
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)
	assert.Zero(t, remaining(t, db, "old"))
	assert.Equal(t, 2, remaining(t, db, "recent"))
}

func TestOneRunDeletesAtMostABatch(t *testing.T) {
	db := database(t)
	recordEvents(t, db, "old", purge.Batch+5, now.Add(-time.Hour))
	task := purge.ProcessedEvents(db, time.Minute)

	first, err := task(context.Background(), now)
	require.NoError(t, err)
	second, err := task(context.Background(), now)
	require.NoError(t, err)
	assert.Equal(t, []int64{purge.Batch, 5}, []int64{first, second})
	assert.Zero(t, remaining(t, db, "old"))
}

func post(t *testing.T, app *fiber.App) (int, string) {
	req := httptest.NewRequest(http.MethodPost, contracts.PurgePath, nil)
	req.Header.Set(server.HeaderCallerAppID, contracts.PurgeCaller)
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestMountAnswersRowsByTask(t *testing.T) {
	db := database(t)
	recordEvents(t, db, "old", 4, now.Add(-2*time.Hour))
	app := fiber.New()
	purge.Mount(app, func() time.Time { return now }, map[string]purge.Task{
		"processed_events": purge.ProcessedEvents(db, time.Hour),
		"sessions":         func(context.Context, time.Time) (int64, error) { return 2, nil },
	})

	status, body := post(t, app)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"purged":{"processed_events":4,"sessions":2}}`, body)
}

func TestAFailingTaskDoesNotStopTheOthers(t *testing.T) {
	db := database(t)
	recordEvents(t, db, "old", 2, now.Add(-2*time.Hour))
	res, err := purge.Run(context.Background(), now, map[string]purge.Task{
		"a_broken":         func(context.Context, time.Time) (int64, error) { return 0, errors.New("disk on fire") },
		"processed_events": purge.ProcessedEvents(db, time.Hour),
	})
	require.ErrorContains(t, err, "purge a_broken: disk on fire")
	assert.Equal(t, int64(2), res.Purged["processed_events"])
	assert.Equal(t, int64(2), res.Total())
	assert.Zero(t, remaining(t, db, "old"))

	app := fiber.New()
	purge.Mount(app, func() time.Time { return now }, map[string]purge.Task{
		"a_broken": func(context.Context, time.Time) (int64, error) { return 0, errors.New("disk on fire") },
	})
	status, _ := post(t, app)
	assert.Equal(t, http.StatusInternalServerError, status)
}
