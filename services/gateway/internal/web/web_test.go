package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
)

const (
	indexHTML = `<!doctype html><title>shop</title><script type="module" src="/assets/index-3f9a.js"></script>`
	adminHTML = `<!doctype html><title>admin</title><script type="module" src="/assets/admin-51c2.js"></script>`
	appJS     = `console.log("the shop, long enough to be worth compressing: ` +
		`aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")`
	secret   = "SECRET-OUTSIDE-THE-BUILT-DIRECTORY"
	apiReply = "answered by the API"
)

// builtDir lays out a built directory next to a file that must never be
// served, with a dot file, a file of an unserved kind, a file under a
// reserved prefix and a symbolic link pointing out of it.
func builtDir(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	write("secret.txt", secret)
	write("dist/index.html", indexHTML)
	write("dist/admin/index.html", adminHTML)
	write("dist/assets/index-3f9a.js", appJS)
	write("dist/.env", secret)
	write("dist/assets/index-3f9a.js.map", secret)
	write("dist/api/v1/products.html", secret)
	require.NoError(t, os.Symlink(filepath.Join(root, "secret.txt"), filepath.Join(root, "dist", "leak.txt")))
	return filepath.Join(root, "dist")
}

// newApp serves the shop in front of a stand-in for the API, as the
// gateway's main does.
func newApp(t *testing.T) *fiber.App {
	t.Helper()
	shop, err := Load(os.DirFS(builtDir(t)), "/api")
	require.NoError(t, err)
	app := fiber.New()
	app.Use(edge.SecurityHeaders, shop.Serve)
	app.All("/*", func(c *fiber.Ctx) error { return c.Status(http.StatusNotFound).SendString(apiReply) })
	return app
}

// serveRaw hands app a request exactly as a client wrote it on the wire:
// fiber's app.Test would re-encode a hostile target.
func serveRaw(t *testing.T, app *fiber.App, method, target string, headers ...string) *fasthttp.Response {
	t.Helper()
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: shop.example\r\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b.WriteString(headers[i] + ": " + headers[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	var req fasthttp.Request
	require.NoError(t, req.Read(bufio.NewReader(strings.NewReader(b.String()))))
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 40000}, nil)
	app.Handler()(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

func TestServesTheBuiltFilesWithTheirTypesPolicyAndCaching(t *testing.T) {
	app := newApp(t)
	cases := []struct {
		name, target, body, contentType, cache string
	}{
		{"the page at /", "/", indexHTML, "text/html; charset=utf-8", "no-cache"},
		{"the page by name", "/index.html", indexHTML, "text/html; charset=utf-8", "no-cache"},
		{"the admin console at /admin", "/admin", adminHTML, "text/html; charset=utf-8", "no-cache"},
		{"the admin console by name", "/admin/index.html", adminHTML, "text/html; charset=utf-8", "no-cache"},
		{"a hashed asset", "/assets/index-3f9a.js", appJS, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := serveRaw(t, app, http.MethodGet, tc.target)
			require.Equal(t, http.StatusOK, resp.StatusCode())
			assert.Equal(t, tc.body, string(resp.Body()))
			assert.Equal(t, tc.contentType, string(resp.Header.ContentType()))
			assert.Equal(t, tc.cache, string(resp.Header.Peek("Cache-Control")))
			assert.Equal(t, Policy, string(resp.Header.Peek("Content-Security-Policy")))
			assert.Equal(t, "nosniff", string(resp.Header.Peek("X-Content-Type-Options")))
			assert.Equal(t, "DENY", string(resp.Header.Peek("X-Frame-Options")))
		})
	}
	assert.NotContains(t, Policy, "unsafe", "no inline script or style, no eval")
}

func TestRevalidationAnswersNotModified(t *testing.T) {
	app := newApp(t)
	resp := serveRaw(t, app, http.MethodGet, "/")
	etag := string(resp.Header.Peek("ETag"))
	require.NotEmpty(t, etag)
	resp = serveRaw(t, app, http.MethodGet, "/", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode())
	assert.Empty(t, resp.Body())
	resp = serveRaw(t, app, http.MethodGet, "/", "If-None-Match", `"stale"`)
	assert.Equal(t, http.StatusOK, resp.StatusCode())
	assert.Equal(t, indexHTML, string(resp.Body()))
}

func TestHeadAndGzip(t *testing.T) {
	app := newApp(t)

	// Through the server's writer, which leaves the body out of a HEAD answer.
	head, err := app.Test(httptest.NewRequest(http.MethodHead, "/assets/index-3f9a.js", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, head.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", head.Header.Get("Content-Type"))
	assert.Equal(t, strconv.Itoa(len(appJS)), head.Header.Get("Content-Length"))
	body, err := io.ReadAll(head.Body)
	require.NoError(t, err)
	assert.Empty(t, body)

	resp := serveRaw(t, app, http.MethodGet, "/assets/index-3f9a.js", "Accept-Encoding", "br, gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode())
	assert.Equal(t, "gzip", string(resp.Header.Peek("Content-Encoding")))
	assert.Contains(t, string(resp.Header.Peek("Vary")), "Accept-Encoding")
	zr, err := gzip.NewReader(bytes.NewReader(resp.Body()))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, appJS, string(plain))

	resp = serveRaw(t, app, http.MethodGet, "/assets/index-3f9a.js", "Accept-Encoding", "gzip;q=0")
	assert.Empty(t, resp.Header.Peek("Content-Encoding"), "gzip refused by the client")
	assert.Equal(t, appJS, string(resp.Body()))
}

// No target, however encoded, reads anything but a built file: traversal,
// encoded dots and slashes, dot files, symbolic links out of the
// directory, directories, unserved kinds of file.
func TestHostileTargetsReadNothingButBuiltFiles(t *testing.T) {
	app := newApp(t)
	targets := []string{
		"/..%2fsecret.txt",
		"/..%2Fsecret.txt",
		"/%2e%2e/secret.txt",
		"/%2E%2E%2Fsecret.txt",
		"/assets/..%2f..%2fsecret.txt",
		"/assets/%2e%2e/%2e%2e/secret.txt",
		"/assets/%252e%252e/%252e%252e/secret.txt",
		"/assets/..%5c..%5csecret.txt",
		"/../secret.txt",
		"/assets/../../secret.txt",
		"/./index.html",
		"//index.html",
		"/assets//index-3f9a.js",
		"/index.html/",
		"/admin/",
		"/admin/index.html/",
		"/admin/%2e%2e/secret.txt",
		"/assets/",
		"/assets",
		"/.env",
		"/%2eenv",
		"/leak.txt",
		"/assets/index-3f9a.js.map",
		"/index.html%00.js",
		"/assets/index-3f9a.js;.html",
		"http://shop.example/../secret.txt",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp := serveRaw(t, app, method, target)
				assert.NotContains(t, string(resp.Body()), "SECRET", method)
				assert.NotEqual(t, http.StatusOK, resp.StatusCode(), method)
			}
		})
	}
}

func TestOnlyGetAndHeadReadTheFiles(t *testing.T) {
	app := newApp(t)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodTrace} {
		for _, target := range []string{"/", "/index.html", "/assets/index-3f9a.js"} {
			resp := serveRaw(t, app, method, target)
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode(), "%s %s", method, target)
			assert.Equal(t, "GET, HEAD", string(resp.Header.Peek("Allow")), "%s %s", method, target)
			assert.NotContains(t, string(resp.Body()), "<title>shop", "%s %s", method, target)
		}
	}
	// Methods the server does not know are refused before any handler.
	resp := serveRaw(t, app, "PROPFIND", "/")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode())
	assert.NotContains(t, string(resp.Body()), "<title>shop")
}

// The API's paths stay the API's even when the built directory holds a
// file of the same name.
func TestReservedPathsGoToTheAPI(t *testing.T) {
	app := newApp(t)
	for _, target := range []string{"/api/v1/products.html", "/api/v1/products", "/admin/nothing-here.html", "/nothing-here.html"} {
		resp := serveRaw(t, app, http.MethodGet, target)
		assert.Equal(t, apiReply, string(resp.Body()), target)
	}
}

func TestLoadRefusesADirectoryWithoutThePage(t *testing.T) {
	_, err := Load(os.DirFS(t.TempDir()))
	require.ErrorContains(t, err, "no index.html")
	_, err = Load(os.DirFS(filepath.Join(t.TempDir(), "missing")))
	require.Error(t, err)
}
