package deadletters

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/logging"
)

// Remote is another service's dead letters, through the workers' sidecar
// (service invocation of contracts.DeadLettersPath, within the workers'
// call timeout and under the target's access policy).
type Remote struct {
	app      string
	base     string // http://127.0.0.1:<dapr http port>/v1.0/invoke/<app>/method/internal/dead-letters
	apiToken string
	http     *http.Client
}

// NewRemote returns app's letters through the sidecar at daprHTTPPort,
// authenticating with apiToken (empty when the sidecar wants none).
func NewRemote(daprHTTPPort int, apiToken, app string) *Remote {
	return NewRemoteWithBase(fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method%s", daprHTTPPort, app, contracts.DeadLettersPath), apiToken, app)
}

// NewRemoteWithBase returns app's letters served at base (tests serve it
// themselves).
func NewRemoteWithBase(base, apiToken, app string) *Remote {
	// A client span per call, whose traceparent the sidecar continues.
	transport := otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return "invoke " + app + " dead letters " + r.Method
	}))
	return &Remote{app: app, base: base, apiToken: apiToken, http: &http.Client{Transport: transport}}
}

// Listing implements Source.
func (r *Remote) Listing(ctx context.Context, topic string, offset, limit int) (deadletter.Listing, error) {
	q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
	if topic != "" {
		q.Set("topic", topic)
	}
	var out deadletter.Listing
	err := r.call(ctx, http.MethodGet, "?"+q.Encode(), http.StatusOK, &out)
	return out, err
}

// StartReplay implements Source.
func (r *Remote) StartReplay(ctx context.Context, id uuid.UUID) (deadletter.View, error) {
	var out deadletter.View
	err := r.call(ctx, http.MethodPost, "/"+id.String()+"/replay", http.StatusAccepted, &out)
	return out, err
}

// StartReplayAll implements Source.
func (r *Remote) StartReplayAll(ctx context.Context, topic string) (deadletter.Queued, error) {
	path := "/replay"
	if topic != "" {
		path += "?" + url.Values{"topic": {topic}}.Encode()
	}
	var out deadletter.Queued
	err := r.call(ctx, http.MethodPost, path, http.StatusAccepted, &out)
	return out, err
}

// maxAnswer bounds an answer read: a full internal list with payloads.
const maxAnswer = 32 << 20

// call sends method to path under the base and decodes an answer of
// status want into out. The app's own 404 (a problem document; the
// sidecar's errors are not) is deadletter.ErrNotFound.
func (r *Remote) call(ctx context.Context, method, path string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, nil)
	if err != nil {
		return fmt.Errorf("new request to %s: %w", r.app, err)
	}
	if r.apiToken != "" {
		req.Header.Set("dapr-api-token", r.apiToken)
	}
	if id := logging.RequestID(ctx); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", r.app, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("read %s's answer: %w", r.app, err)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusNotFound && mediaType == "application/problem+json":
		return deadletter.ErrNotFound
	case resp.StatusCode != want:
		const maxShown = 300
		return fmt.Errorf("%s %s answered %d: %s", method, r.app, resp.StatusCode, body[:min(len(body), maxShown)])
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode %s's answer: %w", r.app, err)
	}
	return nil
}
