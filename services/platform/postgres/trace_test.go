package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// recordSpans makes every span of the test recorded, and returns them.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

// A request's queries, batched or not, are client spans under the
// request's span, which they leave open: the request still names it, and
// ends it, once it is done.
func TestQueriesAreSpansUnderTheRequest(t *testing.T) {
	db := pgtest.NewDatabase(t, itemMigrations)
	rec := recordSpans(t)
	ctx, request := telemetry.Start(context.Background(), "POST")

	var one int
	require.NoError(t, db.QueryRow(ctx, `SELECT 1`).Scan(&one))
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO items (id, name, colour) VALUES (4, 'nib', 'black')`)
	b.Queue(`SELECT count(*) FROM items`).QueryRow(func(row pgx.Row) error { return row.Scan(&one) })
	require.NoError(t, db.SendBatch(ctx, b).Close())
	assert.Equal(t, 4, one)

	require.True(t, request.IsRecording(), "the request's span is still open")
	request.SetName("POST /items")
	request.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	require.Contains(t, byName, "POST /items")
	assert.Empty(t, byName["POST /items"].Attributes(), "no query's attributes on the request's span")
	for _, name := range []string{"postgres SELECT", "postgres BATCH"} {
		require.Contains(t, byName, name)
		assert.Equal(t, request.SpanContext().SpanID(), byName[name].Parent().SpanID(), "%s under the request", name)
	}
	assert.Contains(t, byName["postgres BATCH"].Attributes(), attribute.Int("db.operation.batch.size", 2))
	assert.Len(t, rec.Ended(), 3, "one span per query or batch, and the request's")
}
