package microcache_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/microcache"
)

// origin stands in for the service behind the proxy: it counts its calls
// and answers with the status and headers a test sets.
type origin struct {
	calls   atomic.Int32
	status  int
	header  map[string]string
	release chan struct{} // when set, each call waits for it
}

func (o *origin) fetch(c *fiber.Ctx) error {
	n := o.calls.Add(1)
	if o.release != nil {
		<-o.release
	}
	for k, v := range o.header {
		c.Set(k, v)
	}
	c.Set(fiber.HeaderXRequestID, "from-the-service")
	return c.Status(o.status).JSON(fiber.Map{"call": n})
}

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func serve(t *testing.T, o *origin, clk *clock) (*fiber.App, *microcache.Cache) {
	t.Helper()
	cache := microcache.New(time.Second, clk.now)
	app := fiber.New()
	// As the gateway's CORS middleware does, for every answer.
	app.Use(func(c *fiber.Ctx) error { c.Vary(fiber.HeaderOrigin); return c.Next() })
	app.All("/*", func(c *fiber.Ctx) error {
		fetch := func() error { return o.fetch(c) }
		switch {
		case microcache.Cacheable(c):
			return cache.Serve(c, string(c.Request().RequestURI()), fetch)
		case c.Method() != fiber.MethodGet:
			cache.Invalidate()
			defer cache.Invalidate()
		}
		return fetch()
	})
	return app, cache
}

func get(t *testing.T, app *fiber.App, target string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestAnonymousReadsShareOneFetchPerSecond(t *testing.T) {
	o := &origin{status: http.StatusOK}
	clk := &clock{}
	app, _ := serve(t, o, clk)

	first, body := get(t, app, "/api/v1/products/1")
	again, cached := get(t, app, "/api/v1/products/1")
	assert.Equal(t, int32(1), o.calls.Load(), "the second read within the second is the first's answer")
	assert.Equal(t, body, cached)
	assert.Equal(t, http.StatusOK, again.StatusCode)
	assert.Equal(t, "public, max-age=1", again.Header.Get("Cache-Control"))
	assert.Equal(t, "0", again.Header.Get("Age"))
	assert.NotEmpty(t, again.Header.Get("ETag"))
	assert.Equal(t, first.Header.Get("ETag"), again.Header.Get("ETag"))
	assert.Equal(t, fiber.MIMEApplicationJSON, again.Header.Get("Content-Type"))
	assert.Empty(t, again.Header.Get(fiber.HeaderXRequestID), "the request id was the first request's")
	assert.Equal(t, "Origin", again.Header.Get("Vary"), "CORS headers are set for each request")

	get(t, app, "/api/v1/products/2")
	assert.Equal(t, int32(2), o.calls.Load(), "another target is another entry")

	clk.advance(time.Second)
	_, fresh := get(t, app, "/api/v1/products/1")
	assert.Equal(t, int32(3), o.calls.Load(), "an answer a second old is not served again")
	assert.NotEqual(t, body, fresh)
}

func TestReadsThatMustReachTheService(t *testing.T) {
	cases := []struct {
		name   string
		header []string
	}{
		{"with a token", []string{"Authorization", "Bearer x"}},
		{"with a cookie", []string{"Cookie", "session=x"}},
		{"asking for a fresh answer", []string{"Cache-Control", "no-cache"}},
		{"with max-age=0", []string{"Cache-Control", "max-age=0"}},
		{"with Pragma: no-cache", []string{"Pragma", "no-cache"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &origin{status: http.StatusOK}
			app, _ := serve(t, o, &clock{})
			get(t, app, "/api/v1/products/1")
			resp, _ := get(t, app, "/api/v1/products/1", tc.header...)
			get(t, app, "/api/v1/products/1", tc.header...)
			assert.Equal(t, int32(3), o.calls.Load())
			assert.Empty(t, resp.Header.Get("Age"))
		})
	}
}

func TestAnswersNotMeantForEveryoneAreNotKept(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
	}{
		{"not found", http.StatusNotFound, nil},
		{"unauthorized", http.StatusUnauthorized, nil},
		{"private", http.StatusOK, map[string]string{"Cache-Control": "private"}},
		{"no-store", http.StatusOK, map[string]string{"Cache-Control": "no-store"}},
		{"setting a cookie", http.StatusOK, map[string]string{"Set-Cookie": "a=b"}},
		{"varying", http.StatusOK, map[string]string{"Vary": "Accept-Language"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &origin{status: tc.status, header: tc.header}
			app, _ := serve(t, o, &clock{})
			get(t, app, "/api/v1/products/1")
			resp, _ := get(t, app, "/api/v1/products/1")
			assert.Equal(t, int32(2), o.calls.Load())
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
}

func TestAWriteDropsTheAnswersKept(t *testing.T) {
	o := &origin{status: http.StatusOK}
	app, _ := serve(t, o, &clock{})
	get(t, app, "/api/v1/products/1")
	resp, err := app.Test(httptest.NewRequest(http.MethodPatch, "/api/v1/products/1", nil), -1)
	require.NoError(t, err)
	resp.Body.Close()
	get(t, app, "/api/v1/products/1")
	assert.Equal(t, int32(3), o.calls.Load(), "the read after the write reached the service")
}

func TestIfNoneMatchGetsNotModified(t *testing.T) {
	o := &origin{status: http.StatusOK}
	app, _ := serve(t, o, &clock{})
	first, _ := get(t, app, "/api/v1/products")
	resp, body := get(t, app, "/api/v1/products", "If-None-Match", `W/"other", `+first.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	resp, _ = get(t, app, "/api/v1/products", "If-None-Match", `"other"`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestConcurrentMissesWaitForOneFetch(t *testing.T) {
	o := &origin{status: http.StatusOK, release: make(chan struct{})}
	app, _ := serve(t, o, &clock{})
	const readers = 8
	var wg sync.WaitGroup
	bodies := make([]string, readers)
	for i := range readers {
		wg.Go(func() { _, bodies[i] = get(t, app, "/api/v1/products") })
	}
	require.Eventually(t, func() bool { return o.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(o.release)
	wg.Wait()
	assert.Equal(t, int32(1), o.calls.Load())
	for _, b := range bodies {
		assert.Equal(t, bodies[0], b)
	}
}
