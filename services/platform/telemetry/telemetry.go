// Package telemetry sets up the service's tracing: an OpenTelemetry
// tracer provider exporting spans over OTLP, W3C trace-context
// propagation, and the helpers that carry one trace across the hops where
// no request does (an event, a provider's webhook).
package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracer is the instrumentation scope of the platform's own spans.
const Tracer = "github.com/daprshop/daprshop/services/platform"

// Propagator reads and writes the W3C traceparent header, the one Dapr
// reads and writes too.
var Propagator = propagation.TraceContext{}

// Until Setup runs (and in the tests of a package, where it does not),
// spans get ids but are not recorded: the trace context is still made,
// answered and passed on.
func init() {
	otel.SetTextMapPropagator(Propagator)
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())))
}

// Options configure Setup.
type Options struct {
	Service string
	// Endpoint is the OTLP/gRPC collector (host:port, or http://host:port);
	// empty, no span leaves the process.
	Endpoint string
	// Sampling is the share of new traces recorded; a request whose caller
	// recorded it is recorded too (parentbased_traceidratio), so a trace
	// is whole or absent.
	Sampling float64
}

// Setup installs the global tracer provider exporting to opts.Endpoint and
// returns the function that flushes and stops it. Without an endpoint it
// leaves the one of init: spans are still created (so the trace context
// and the ids in logs are made and passed on) but none is recorded.
func Setup(opts Options) (shutdown func(context.Context) error, err error) {
	if opts.Endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	// A bare host:port is a collector beside the service (Jaeger on
	// 127.0.0.1, an agent on the node): plain gRPC, like the sidecars'
	// `isSecure: false`; https:// asks for TLS.
	endpoint, secure := strings.CutPrefix(opts.Endpoint, "https://")
	exporterOpts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(strings.TrimPrefix(endpoint, "http://"))}
	if !secure {
		exporterOpts = append(exporterOpts, otlptracegrpc.WithInsecure())
	}
	// The exporter connects lazily: a collector that is down costs the
	// spans of the meantime, never the service's start.
	exporter, err := otlptracegrpc.New(context.Background(), exporterOpts...)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", opts.Service)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		// Batched: a request only appends its spans to a queue; they leave
		// every few seconds in one export, off the request's path.
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(opts.Sampling))),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Start starts a span of the platform's tracer.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return otel.Tracer(Tracer).Start(ctx, name, opts...)
}

// Traceparent is the W3C traceparent of the span in ctx, or "".
func Traceparent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	Propagator.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// WithTraceparent returns ctx whose parent span is the remote one tp names
// (a malformed or empty tp leaves ctx as it is).
func WithTraceparent(ctx context.Context, tp string) context.Context {
	return Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}

// Continue starts a span of the trace tp names, for work that another
// trace's request carries out on its behalf: a consumer's handling of an
// event, a webhook's settling of a payment. The span links back to the
// span in ctx (the delivery that brought it), so neither trace loses the
// hop. With tp empty or malformed it is a child of the span in ctx.
func Continue(ctx context.Context, tp, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	origin := WithTraceparent(context.Background(), tp)
	remote := trace.SpanContextFromContext(origin)
	if !remote.IsValid() {
		return Start(ctx, name, trace.WithSpanKind(kind))
	}
	current := trace.SpanContextFromContext(ctx)
	opts := []trace.SpanStartOption{trace.WithSpanKind(kind)}
	if current.IsValid() && current.TraceID() != remote.TraceID() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: current}))
	}
	return Start(trace.ContextWithRemoteSpanContext(ctx, remote), name, opts...)
}
