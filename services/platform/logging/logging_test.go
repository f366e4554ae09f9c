package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/platform/logging"
)

func TestRecordsNameTheirRequestAndSpan(t *testing.T) {
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(logging.WithRequestID(context.Background(), "req-1"), sc)

	var out bytes.Buffer
	log := logging.New(&out, "orders", "info")
	log.InfoContext(ctx, "request")
	log.InfoContext(context.Background(), "outside any request")

	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var in, outside map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &in))
	require.NoError(t, json.Unmarshal(lines[1], &outside))
	assert.Equal(t, "req-1", in["request_id"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", in["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", in["span_id"])
	assert.NotContains(t, outside, "trace_id")
	assert.NotContains(t, outside, "span_id")
}
