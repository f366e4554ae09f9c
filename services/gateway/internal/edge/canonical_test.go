package edge_test

import (
	"bufio"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// serveRaw hands app a request exactly as a client wrote it on the wire,
// from the peer address peer, and returns the answer. fiber's app.Test
// re-encodes targets, so hostile ones go through fasthttp's own parser
// here. It returns an error when fasthttp refuses to parse the request
// (a server answers those itself, before any handler).
func serveRaw(app *fiber.App, method, target, peer string, headers ...string) (*fasthttp.Response, error) {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: shop.example\r\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b.WriteString(headers[i] + ": " + headers[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(b.String()))); err != nil {
		return nil, err
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 40000}, nil)
	app.Handler()(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp, nil
}

const secretsBypass = "/api/v1/products/../../../v1.0/secrets/secretstore/bulk"

func TestNonCanonicalTargetsAreRefusedBeforeRouting(t *testing.T) {
	f := newFixture(t, nil)
	targets := []string{
		secretsBypass,
		"/api/v1/products/%2e%2e/%2e%2e/%2e%2e/v1.0/secrets/secretstore/bulk",
		"/api/v1/products/%2E%2e/events/order.paid",
		"/api/v1/products/%252e%252e/internal/reservations",
		"/api/v1/products/./42",
		"/api/v1/products//42",
		"/api/v1/products/",
		"/api/v1/products/x%2f..%2f..%2finternal",
		"/api/v1/products/x%2F",
		"/api/v1/products/x%5c..",
		"/api/v1/products/x%252f",
		"/api/v1/products/x%00",
		"/api/v1/products/x%7F",
		"/api/v1/products/x\\..\\internal",
		"/api/v1/products;x=1/../../v1.0/metadata",
		"/api/v1/products/caf%C3%A9",
		"/api/v1/products/\xff",
		"http://127.0.0.1:3500/v1.0/secrets/secretstore/bulk",
		"/api/v1/products#../../v1.0/metadata",
		"/api/v1/products?q=%00",
		"/api/v1/products?q=a%0d%0aX-Injected:%201",
		"/api/v1/products?q=%ff",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			f.fwd.app, f.limiter.bucket = "", ""
			resp, err := serveRaw(f.app, "GET", target, "203.0.113.5")
			require.NoError(t, err, "fasthttp parses the request: the gate must refuse it")
			assert.Equal(t, 400, resp.StatusCode())
			assert.Equal(t, server.ProblemContentType, string(resp.Header.ContentType()))
			body := string(resp.Body())
			assert.Contains(t, body, "the request target is not in canonical form")
			for _, leak := range []string{"secrets", "internal", "events", "metadata", "%", ".."} {
				assert.NotContains(t, body, leak, "the problem echoes the target")
			}
			assert.Empty(t, f.fwd.app, "forwarded")
			assert.Empty(t, f.limiter.bucket, "counted against a rate limit")
		})
	}
}

func TestForwardsTheCanonicalTarget(t *testing.T) {
	f := newFixture(t, nil)
	id := uuid.NewString()
	resp, err := serveRaw(f.app, "GET", "/api/v1/products/"+id+"?q=blue+shoe&page=2", "203.0.113.5")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode())
	assert.Equal(t, "products", f.fwd.app)
	assert.Equal(t, "/api/v1/products/"+id+"?q=blue+shoe&page=2", f.fwd.uri)
}

func TestRoutesMatchOnSegmentBoundaries(t *testing.T) {
	f := newFixture(t, nil)
	for target, want := range map[string]int{
		"/api/v1/productsx":          404,
		"/api/v1/products-internal":  404,
		"/api/v1/orders.json":        404,
		"/api/v1/products/x":         200,
		"/api/v1/orders/x":           401,
		"/api/v1/auth/loginx":        404,
		"/api/v1/auth/login/nothing": 404, // POST-only route: a GET has none
	} {
		t.Run(target, func(t *testing.T) {
			resp, err := serveRaw(f.app, "GET", target, "203.0.113.5")
			require.NoError(t, err)
			assert.Equal(t, want, resp.StatusCode())
		})
	}
}

func TestPublicRoutesWithTheirOwnLimitBucketByClientAddress(t *testing.T) {
	f := newFixture(t, nil)
	login := func(token string) string {
		f.limiter.bucket = ""
		headers := []string{"Content-Type", "application/json", "Content-Length", "0"}
		if token != "" {
			headers = append(headers, "Authorization", "Bearer "+token)
		}
		resp, err := serveRaw(f.app, "POST", "/api/v1/auth/login", "203.0.113.5", headers...)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode())
		return f.limiter.bucket
	}
	assert.Equal(t, "ip:203.0.113.5", login(""))
	assert.Equal(t, "ip:203.0.113.5", login(f.issuer.Token(t, uuid.NewString(), authn.RoleCustomer)),
		"a valid token of one account must not buy a bucket of its own")
	assert.Equal(t, "ip:203.0.113.5", login(f.issuer.Token(t, uuid.NewString(), authn.RoleCustomer)))

	for _, target := range []string{"/api/v1/orders", "/api/v1/products"} {
		subject := uuid.NewString()
		resp, err := serveRaw(f.app, "GET", target, "203.0.113.5",
			"Authorization", "Bearer "+f.issuer.Token(t, subject, authn.RoleCustomer))
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode())
		assert.Equal(t, "user:"+subject, f.limiter.bucket, "%s on the default limit counts per user", target)
	}
}

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no trusted proxies: the peer, whatever the header says", nil, "203.0.113.5", []string{"198.51.100.7"}, "203.0.113.5"},
		{"untrusted peer: its header is ignored", proxies, "203.0.113.5", []string{"198.51.100.7"}, "203.0.113.5"},
		{"trusted peer without a header", proxies, "10.0.0.2", nil, "10.0.0.2"},
		{"trusted peer: the address it saw", proxies, "10.0.0.2", []string{"198.51.100.7"}, "198.51.100.7"},
		{"spoofed leftmost value is not believed", proxies, "10.0.0.2", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies is skipped from the right", proxies, "10.0.0.2", []string{"1.2.3.4, 198.51.100.7, 10.0.0.9, 10.1.1.1"}, "198.51.100.7"},
		{"list split over header lines", proxies, "10.0.0.2", []string{"1.2.3.4, 198.51.100.7", "10.0.0.9"}, "198.51.100.7"},
		{"garbage stops at the last trusted proxy", proxies, "10.0.0.2", []string{"198.51.100.7, not-an-ip, 10.0.0.9"}, "10.0.0.9"},
		{"only trusted proxies", proxies, "10.0.0.2", []string{"10.0.0.7, 10.0.0.9"}, "10.0.0.7"},
		{"IPv6", proxies, "fd00::1", []string{"2001:db8::1, 2001:db8::2"}, "2001:db8::2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, tt.trusted...)
			var headers []string
			for _, v := range tt.xff {
				headers = append(headers, "X-Forwarded-For", v)
			}
			resp, err := serveRaw(f.app, "GET", "/api/v1/products", tt.peer, headers...)
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode())
			assert.Equal(t, tt.want, f.fwd.client, "address passed on")
			assert.Equal(t, "ip:"+tt.want, f.limiter.bucket, "rate-limit bucket")
			assert.Contains(t, f.log.String(), " remote_ip="+tt.want+"\n", "the access log's address")
			assert.Empty(t, f.fwd.headers.Values("X-Forwarded-For"), "the client's header is stripped")
		})
	}
}

// FuzzGate checks the edge's promise on arbitrary request-targets, parsed
// by fasthttp as a real connection would be: a request is forwarded only
// if a route admits its canonical path, and what is forwarded is that
// path (plus the query) which a decoding, cleaning parser such as the
// sidecar's or the service's reads the same way.
func FuzzGate(f *testing.F) {
	for _, target := range []string{
		"/api/v1/products", "/api/v1/products/42?page=1", secretsBypass,
		"/api/v1/products/%2e%2e/v1.0/secrets/secretstore/bulk", "/api/v1/products/%252e%252e/x",
		"/api/v1/products/.%2E/x", "/api/v1/products//x", "/api/v1/products/", "/api/v1/products/x%2f..",
		"/api/v1/products/x%5C..", "/api/v1/products/x%00", "/api/v1/products/x\\..", "/api/v1/products;a/../x",
		"/api/v1/products/x%7f", "/api/v1/products/\xff", "http://h/api/v1/products", "//api/v1/products",
		"/api/v1/products#x", "/api/v1/productsx", "/api/v1/orders/../products", "/api/v1/products?q=%00",
	} {
		f.Add(uint8(0), target)
	}
	f.Add(uint8(1), "/api/v1/auth/login")
	fx := newFixture(f, nil)
	fx.limiter.left = 1 << 62
	admin := "Bearer " + fx.issuer.Token(f, uuid.NewString(), authn.RoleAdmin)
	methods := []string{"GET", "POST", "DELETE"}
	f.Fuzz(func(t *testing.T, m uint8, target string) {
		method := methods[int(m)%len(methods)]
		fx.fwd.app, fx.fwd.uri = "", ""
		resp, err := serveRaw(fx.app, method, target, "203.0.113.5", "Authorization", admin)
		if err != nil || fx.fwd.app == "" {
			return
		}
		if resp.StatusCode() != 200 {
			t.Fatalf("%s %q: forwarded but answered %d", method, target, resp.StatusCode())
		}
		uri := fx.fwd.uri
		p, _, _ := strings.Cut(uri, "?")
		if path.Clean(p) != p || strings.ContainsAny(p, "%\\;#") {
			t.Fatalf("%s %q: forwarded non-canonical %q", method, target, uri)
		}
		for _, seg := range strings.Split(p, "/")[1:] {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%s %q: forwarded %q with an empty or dot segment", method, target, uri)
			}
		}
		route, ok := fx.table.Match(method, p)
		if !ok || route.App != fx.fwd.app {
			t.Fatalf("%s %q: forwarded %q to %q, which the table does not route there", method, target, uri, fx.fwd.app)
		}
		u, err := url.ParseRequestURI(uri)
		if err != nil || u.Path != p || path.Clean(u.Path) != p {
			t.Fatalf("%s %q: a decoding parser reads %q as another path", method, target, uri)
		}
		if uri != fx.fwd.rawTarget && uri+"?" != fx.fwd.rawTarget {
			t.Fatalf("%s %q: forwarded %q, not the target it was routed on", method, target, uri)
		}
	})
}
