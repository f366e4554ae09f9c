package canon_test

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/canon"
)

// tricks are request-targets that some parser behind the gateway reads as
// another path than the one they spell; the fuzz corpora start from them.
var tricks = []string{
	"/api/v1/products/../../../v1.0/secrets/secretstore/bulk",
	"/api/v1/products/./x",
	"/api/v1/products/.",
	"/api/v1/products/..",
	"/api/v1/products/%2e%2e/%2e%2e/%2e%2e/v1.0/secrets/secretstore/bulk",
	"/api/v1/products/%2E%2E/x",
	"/api/v1/products/%2e%2E/x",
	"/api/v1/products/.%2e/x",
	"/api/v1/products/%252e%252e/x",
	"/api/v1/products/%25252e/x",
	"/api/v1/products//x",
	"//api/v1/products",
	"/api/v1/products/",
	"/api/v1/products/x%2f..%2f..%2fevents/order.paid",
	"/api/v1/products/x%2F..",
	"/api/v1/products/x%5c..%5cinternal",
	"/api/v1/products/x%5C",
	"/api/v1/products/x%00",
	"/api/v1/products/x%252f",
	"/api/v1/products/x%255c",
	"/api/v1/products/x%2500",
	"/api/v1/products/x\\..\\internal",
	"/api/v1/products/x\x00",
	"/api/v1/products/x\x01",
	"/api/v1/products/x\x7f",
	"/api/v1/products/x%7f",
	"/api/v1/products/x%7F",
	"/api/v1/products/x%0a",
	"/api/v1/products/x%0d%0aX-Injected:%201",
	"/api/v1/products;/../../v1.0/secrets/secretstore/bulk",
	"/api/v1/products/x;jsessionid=1",
	"/api/v1/products/%ff",
	"/api/v1/products/\xff",
	"/api/v1/products/x#frag",
	"/api/v1/products/x?q=1#frag",
	"http://127.0.0.1:3500/v1.0/secrets/secretstore/bulk",
	"HTTP://evil/api/v1/products",
	"//evil/api/v1/products",
	"*",
	"",
	"api/v1/products",
	"/api/v1/products/x y",
}

func TestParseRefusesEveryTrick(t *testing.T) {
	for _, raw := range tricks {
		t.Run(raw, func(t *testing.T) {
			_, err := canon.Parse(raw)
			assert.Error(t, err)
		})
	}
}

func TestParseKeepsCanonicalTargets(t *testing.T) {
	tests := []struct{ raw, path, query string }{
		{"/", "/", ""},
		{"/api/v1/products", "/api/v1/products", ""},
		{"/api/v1/products/0b6f0f3e-3bd7-4a43-9c43-2d0a8ee8d1a1", "/api/v1/products/0b6f0f3e-3bd7-4a43-9c43-2d0a8ee8d1a1", ""},
		{"/.well-known/jwks.json", "/.well-known/jwks.json", ""},
		{"/api/v1/admin/notification-templates/order_paid", "/api/v1/admin/notification-templates/order_paid", ""},
		{"/api/v1/products?q=blue+shoe&page=2", "/api/v1/products", "q=blue+shoe&page=2"},
		{"/api/v1/products?q=caf%C3%A9", "/api/v1/products", "q=caf%C3%A9"},
		{"/api/v1/products?", "/api/v1/products", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := canon.Parse(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, tt.path, got.Path)
			assert.Equal(t, tt.query, got.Query)
		})
	}
}

func TestParseRefusesHostileQueries(t *testing.T) {
	for _, raw := range []string{
		"/api/v1/products?q=%00", "/api/v1/products?q=a%0Ab", "/api/v1/products?q=%7f", "/api/v1/products?q=%C2%85",
		"/api/v1/products?q=\x00", "/api/v1/products?q=\x7f", "/api/v1/products?q=\xc3\xa9",
		"/api/v1/products?q=%ff", "/api/v1/products?q=%zz", "/api/v1/products?q=%", "/api/v1/products?q=a b",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := canon.Parse(raw)
			assert.ErrorIs(t, err, canon.ErrQuery)
		})
	}
}

func TestErrorsNeverEchoTheTarget(t *testing.T) {
	_, err := canon.Parse("/api/v1/products/../secret-marker")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-marker")
}

// FuzzParse checks that whatever Parse accepts is a path no cleaner or
// decoder behind the gateway could read another way, and that it splits
// the target without losing or adding a byte.
func FuzzParse(f *testing.F) {
	for _, raw := range tricks {
		f.Add(raw)
	}
	f.Add("/api/v1/products?page=1")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := canon.Parse(raw)
		if err != nil {
			return
		}
		p := got.Path
		if path.Clean(p) != p || !strings.HasPrefix(p, "/") {
			t.Fatalf("accepted %q: path %q is not clean", raw, p)
		}
		if strings.ContainsAny(p, "%\\;#?\x00") || strings.Contains(p, "//") {
			t.Fatalf("accepted %q: path %q holds a forbidden character", raw, p)
		}
		for _, seg := range strings.Split(p, "/")[1:] {
			if seg == "." || seg == ".." || (seg == "" && p != "/") {
				t.Fatalf("accepted %q: path %q holds a dot or empty segment", raw, p)
			}
		}
		if got.URI() != raw && got.URI()+"?" != raw {
			t.Fatalf("accepted %q but would forward %q", raw, got.URI())
		}
	})
}
