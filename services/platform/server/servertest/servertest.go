// Package servertest calls a service's handlers in process, on the
// platform server, so tests see what a client sees: the real problem+json
// errors and the shared middleware in front of every route. It delivers
// events to the service's subscriptions as the sidecar does.
package servertest

import (
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server"
)

// API is a service's HTTP API under test, set up the way service.Start
// sets it up: register the handlers on App, over DB, verifying the tokens
// of Issuer, and call them with the embedded Client.
type API struct {
	*Client
	// DB is the service's own database, freshly migrated; it is dropped
	// when the test ends.
	DB *pgxpool.Pool
	// Issuer plays the auth service: handlers verify with
	// Issuer.Verifier(), tests sign callers' tokens with Issuer.Token.
	Issuer *authntest.Issuer
}

// NewAPI returns the API of service over a new database with migrations.
func NewAPI(t testing.TB, service string, migrations fs.FS) *API {
	t.Helper()
	return &API{Client: NewClient(service), DB: pgtest.NewDatabase(t, migrations), Issuer: authntest.NewIssuer(t)}
}

// Client calls the handlers registered on its App.
type Client struct{ app *fiber.App }

// NewClient returns a Client of a fresh platform server for service,
// logging nowhere; register the handlers under test on App.
func NewClient(service string) *Client {
	srv := server.New(server.Options{Config: config.Base{Service: service}, Logger: slog.New(slog.DiscardHandler)})
	return &Client{app: srv.App()}
}

// App is the server's app, for the handlers under test.
func (c *Client) App() *fiber.App { return c.app }

// Response is an answer, read whole. A 4xx or 5xx answer is checked to be
// problem+json.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Object is Body decoded when it is a JSON object; nil otherwise.
	Object map[string]any
}

// Get calls path with a bearer token (none when empty).
func (c *Client) Get(t testing.TB, path, token string) Response {
	t.Helper()
	return c.Send(t, http.MethodGet, path, token, "")
}

// Send calls path with a bearer token (none when empty) and a JSON body
// (none when empty), then sets the header name/value pairs, which may
// replace the JSON content type.
func (c *Client) Send(t testing.TB, method, path, token, body string, header ...string) Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	}
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.Do(t, req)
}

// Do sends req as it is.
func (c *Client) Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := c.app.Test(req, -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if r.Status >= http.StatusBadRequest {
		assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType), "an error is problem+json: %s", body)
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get(fiber.HeaderContentType))
	if len(body) > 0 && (mediaType == fiber.MIMEApplicationJSON || mediaType == server.ProblemContentType) {
		var doc any
		require.NoError(t, json.Unmarshal(body, &doc), "a %s body is JSON: %s", mediaType, body)
		r.Object, _ = doc.(map[string]any)
	}
	return r
}

// Deliver posts an event of topic with id and data (JSON) to the topic's
// subscription route, in a CloudEvent as the sidecar delivers it, and
// returns the subscription's answer: SUCCESS, RETRY or DROP.
func (c *Client) Deliver(t testing.TB, topic, id, data string) string {
	t.Helper()
	event, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "test", "type": "com.dapr.event.sent",
		"topic": topic, "pubsubname": events.PubsubName, "datacontenttype": fiber.MIMEApplicationJSON,
		"data": json.RawMessage(data),
	})
	require.NoError(t, err, "data is JSON")
	r := c.Send(t, http.MethodPost, contracts.Route(topic), "", string(event), fiber.HeaderContentType, "application/cloudevents+json")
	require.Equal(t, http.StatusOK, r.Status, "the sidecar reads the answer of a 200: %s", r.Body)
	var answer struct{ Status string }
	r.JSON(t, &answer)
	return answer.Status
}

// JSON decodes the body into out.
func (r Response) JSON(t testing.TB, out any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, out), string(r.Body))
}

// Fields are the fields a problem's errors name, in their order.
func (r Response) Fields() []string {
	var fields []string
	errs, _ := r.Object["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			if f, ok := m["field"].(string); ok {
				fields = append(fields, f)
			}
		}
	}
	return fields
}
