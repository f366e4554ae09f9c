// Package sidecar is the service's handle on its Dapr sidecar: the go-sdk
// client for building blocks, plus the HTTP health probe readiness needs.
package sidecar

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	dapr "github.com/dapr/go-sdk/client"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/config"
)

// Sidecar embeds the go-sdk client, so every building block is one call
// away (PublishEvent, GetState, GetSecret, InvokeBinding, …).
type Sidecar struct {
	dapr.Client
	healthURL string
	http      *http.Client
	invokeURL string // http://127.0.0.1:<dapr http port>/v1.0/invoke
	apiToken  string
	invoker   *http.Client
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
		invokeURL: fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke", cfg.DaprHTTPPort),
		apiToken:  cfg.DaprAPIToken,
		// A client span per call, whose traceparent the sidecar continues.
		invoker: &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)},
	}, nil
}

// maxInvokeAnswer bounds the answer InvokeMethod reads: its callers get
// keys, counts and short lists.
const maxInvokeAnswer = 4 << 20

// InvokeMethod calls verb on methodName of appID through the sidecar's HTTP
// invocation API and returns the answer's body; a non-2xx answer is an
// error. It replaces the go-sdk's, which uses the gRPC InvokeService API:
// daprd 1.14 logs that API as deprecated at every caller's first call.
func (s *Sidecar) InvokeMethod(ctx context.Context, appID, methodName, verb string) ([]byte, error) {
	target := s.invokeURL + "/" + url.PathEscape(appID) + "/method/" + methodName
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(verb), target, nil)
	if err != nil {
		return nil, fmt.Errorf("invoke %s %s: %w", appID, methodName, err)
	}
	if s.apiToken != "" {
		req.Header.Set("dapr-api-token", s.apiToken)
	}
	resp, err := s.invoker.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s %s: %w", appID, methodName, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInvokeAnswer))
	if err != nil {
		return nil, fmt.Errorf("invoke %s %s: read answer: %w", appID, methodName, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("invoke %s %s: answered %d: %.200s", appID, methodName, resp.StatusCode, body)
	}
	return body, nil
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
