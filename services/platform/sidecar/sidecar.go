// Package sidecar is the service's handle on its Dapr sidecar: the go-sdk
// client for building blocks, plus the HTTP health probe readiness needs.
package sidecar

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/config"
)

// Sidecar embeds the go-sdk client, so every building block is one call
// away (PublishEvent, GetState, GetSecret, InvokeMethodWithContent, …).
type Sidecar struct {
	dapr.Client
	healthURL string
	http      *http.Client
}

// New connects to the sidecar on 127.0.0.1 without waiting for it: the
// sidecar and the app start together, and calls made before the sidecar is
// up fail (and are retried by their callers) instead of blocking start-up.
func New(cfg config.Base) (*Sidecar, error) {
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(cfg.DaprGRPCPort),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(callMetadata(cfg.DaprAPIToken)),
		// A client span per call (state, publish, invoke, bindings,
		// secrets), whose traceparent the sidecar continues.
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		return nil, fmt.Errorf("dapr grpc client: %w", err)
	}
	return &Sidecar{
		Client:    dapr.NewClientWithConnection(conn),
		healthURL: fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz/outbound", cfg.DaprHTTPPort),
		http:      &http.Client{},
	}, nil
}

// callMetadata adds the sidecar's API token to every call. (The go-sdk
// adds the token only to connections it dials itself, and those block
// start-up until the sidecar answers.)
func callMetadata(apiToken string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if apiToken != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "dapr-api-token", apiToken)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// Healthy reports whether the sidecar's outbound side (components, API) is
// ready. It does not depend on the app's own health, so it can back /readyz.
func (s *Sidecar) Healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.healthURL, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("dapr sidecar: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("dapr sidecar: healthz answered %d", resp.StatusCode)
	}
	return nil
}

// Denylist reads revoked token ids from a state store shared by every
// service (its keys carry no app-id prefix).
type Denylist struct {
	sidecar *Sidecar
	store   string
}

// Denylist returns the token denylist kept in store.
func (s *Sidecar) Denylist(store string) *Denylist { return &Denylist{sidecar: s, store: store} }

// Revoked reports whether any of ids was revoked, in one call to the
// sidecar.
func (d *Denylist) Revoked(ctx context.Context, ids ...string) (bool, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = authn.DenylistKey(id)
	}
	items, err := d.sidecar.GetBulkState(ctx, d.store, keys, nil, int32(len(keys)))
	if err != nil {
		return false, fmt.Errorf("read denylist: %w", err)
	}
	for _, it := range items {
		if it.Error != "" {
			return false, fmt.Errorf("read denylist key %s: %s", it.Key, it.Error)
		}
		if len(it.Value) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// EndpointURL is the base URL at which the sidecar on daprHTTPPort invokes
// the HTTPEndpoint named endpoint: the external API's own paths follow it,
// and the endpoint's resiliency target wraps every call.
func EndpointURL(daprHTTPPort int, endpoint string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method", daprHTTPPort, endpoint)
}
