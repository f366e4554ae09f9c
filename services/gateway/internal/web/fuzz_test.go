package web

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
)

// FuzzServe checks that no request-target, however written, makes the
// shop answer with anything but one of its built files, in full, at the
// path that names it: a 200 is only ever "/" (the shop's page), "/admin"
// (the admin console's) or a file's own path, and never carries a byte of
// what lies outside the directory.
func FuzzServe(f *testing.F) {
	dir := builtDir(f)
	shop, err := Load(os.DirFS(dir), "/api")
	if err != nil {
		f.Fatal(err)
	}
	app := fiber.New()
	app.Use(edge.SecurityHeaders, shop.Serve)
	app.All("/*", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNotFound) })
	for _, seed := range []string{
		"/", "/index.html", "/assets/index-3f9a.js", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
		"/.env", "/leak.txt", "/api/v1/products.html", "//index.html", "/index.html?x=1", "/index.html#x", "*",
		"/admin", "/admin/", "/admin/index.html", "/admin//", "/admin/../index.html",
	} {
		f.Add("GET", seed)
		f.Add("HEAD", seed)
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		if strings.ContainsAny(method+target, " \r\n") || method == "" || target == "" {
			return // not one request line
		}
		var req fasthttp.Request
		raw := method + " " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n"
		if req.Read(bufio.NewReader(strings.NewReader(raw))) != nil {
			return // the server refuses it before any handler
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 40000}, nil)
		app.Handler()(&ctx)
		if ctx.Response.StatusCode() != http.StatusOK {
			return
		}
		body := string(ctx.Response.Body())
		if strings.Contains(body, secret) {
			t.Fatalf("%s %q served a private file", method, target)
		}
		path, _, _ := strings.Cut(target, "?")
		want := map[string]string{
			"/": indexHTML, "/index.html": indexHTML, "/assets/index-3f9a.js": appJS,
			"/admin": adminHTML, "/admin/index.html": adminHTML,
		}[path]
		if method != http.MethodGet && method != http.MethodHead || want == "" || body != want {
			t.Fatalf("%s %q answered 200 with %q", method, target, body)
		}
	})
}
