package routes

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzMatch checks Match on the shipped table against its contract, spelt
// out naively here: the route is the longest prefix that the path holds on
// a segment boundary and that allows the method (method-specific routes
// first among equal prefixes), and no route means no such prefix exists.
func FuzzMatch(f *testing.F) {
	cfg, table, err := Load(filepath.Join("..", "..", "routes.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"/api/v1/products", "/api/v1/products/42", "/api/v1/productsx", "/api/v1/products/../../v1.0/secrets",
		"/api/v1/auth/login", "/api/v1/auth/loginx", "/api/v1/auth/login/x", "/api/v1/auth", "/api/v1/admin/users/1/roles",
		"/api/v1/admin/usersx", "/api/v1/payments/webhooks/stripe", "/api/v1/payments/webhooks/stripe2", "/.well-known/jwks.json",
		"/", "", "/api/v1/products/", "/api/v1/orders%2f..", "api/v1/products",
	} {
		f.Add("GET", seed)
		f.Add("POST", seed)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		var want *Route
		for i, r := range cfg.Routes {
			rest, ok := strings.CutPrefix(path, r.Prefix)
			onBoundary := ok && (rest == "" || rest[0] == '/' || r.Prefix == "/")
			allows := len(r.Methods) == 0 || slices.Contains(r.Methods, method)
			if !onBoundary || !allows {
				continue
			}
			if want == nil || len(r.Prefix) > len(want.Prefix) || (len(r.Prefix) == len(want.Prefix) && len(r.Methods) > 0) {
				want = &cfg.Routes[i]
			}
		}
		got, ok := table.Match(method, path)
		switch {
		case want == nil && ok:
			t.Fatalf("%s %q matched %s %v although no prefix holds on a segment boundary", method, path, got.Prefix, got.Methods)
		case want != nil && !ok:
			t.Fatalf("%s %q matched nothing; want %s %v", method, path, want.Prefix, want.Methods)
		case want != nil && (got.Prefix != want.Prefix || got.App != want.App || !slices.Equal(got.Methods, want.Methods)):
			t.Fatalf("%s %q matched %s %v; want %s %v", method, path, got.Prefix, got.Methods, want.Prefix, want.Methods)
		}
	})
}
