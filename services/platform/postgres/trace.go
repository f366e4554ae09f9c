package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// queryTracer makes each query of a traced request a client span named
// after its verb ("postgres SELECT"), the statement attached without its
// arguments (which may hold personal data), and each batch one span
// ("postgres BATCH") for all its statements. Queries outside any trace
// (the relay's polling, the purge jobs) are not traced: each would
// otherwise start a trace of its own.
//
// It ends only the spans it started, found under its own context key:
// pgx hands the end of a query a context that may be the caller's (the
// statements of a batch, when the tracer traces no batches), and ending
// the span found there ended the caller's request span mid-request.
type queryTracer struct{ database string }

// querySpanKey holds, in the context pgx passes from a query's or a
// batch's start to its end, the span the tracer started for it.
type querySpanKey struct{}

func (t queryTracer) start(ctx context.Context, name string, attrs ...attribute.KeyValue) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	attrs = append([]attribute.KeyValue{
		attribute.String("db.system", "postgresql"),
		attribute.String("db.namespace", t.database),
	}, attrs...)
	ctx, span := telemetry.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, querySpanKey{}, span)
}

// end ends the span start put in ctx, if any, with err or the rows the
// statement affected.
func end(ctx context.Context, tag *pgconn.CommandTag, err error) {
	span, ok := ctx.Value(querySpanKey{}).(trace.Span)
	if !ok {
		return
	}
	switch {
	case err != nil:
		span.SetStatus(codes.Error, err.Error())
	case tag != nil:
		span.SetAttributes(attribute.Int64("db.response.returned_rows", tag.RowsAffected()))
	}
	span.End()
}

func (t queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.start(ctx, "postgres "+verb(data.SQL), attribute.String("db.query.text", data.SQL))
}

func (t queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, &data.CommandTag, data.Err)
}

func (t queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	return t.start(ctx, "postgres BATCH", attribute.Int("db.operation.batch.size", data.Batch.Len()))
}

// TraceBatchQuery marks the batch's span failed when one of its
// statements fails.
func (t queryTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if span, ok := ctx.Value(querySpanKey{}).(trace.Span); ok && data.Err != nil {
		span.SetStatus(codes.Error, data.Err.Error())
	}
}

func (t queryTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	end(ctx, nil, data.Err)
}

// verb is the statement's first word, upper-cased.
func verb(sql string) string {
	sql = strings.TrimSpace(sql)
	if i := strings.IndexAny(sql, " \t\n("); i > 0 {
		sql = sql[:i]
	}
	return strings.ToUpper(sql)
}
