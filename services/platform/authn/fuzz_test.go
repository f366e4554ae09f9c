package authn_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
)

// FuzzVerify checks that Verify never panics and accepts only tokens whose
// signature the issuer's key verifies. Run it with
// go test -fuzz FuzzVerify ./authn; plain go test runs the seeds.
func FuzzVerify(f *testing.F) {
	iss := authntest.NewIssuer(f)
	kid, pub := issuerKey(f, iss)
	v := iss.Verifier()

	good := iss.Token(f, userID, authn.RoleAdmin)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims())
	none.Header["kid"] = kid
	noneToken, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		f.Fatal(err)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
	hs.Header["kid"] = kid
	hsToken, err := hs.SignedString([]byte(pub))
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		good, noneToken, hsToken,
		parts[0] + "." + parts[1] + ".", // signature stripped
		parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","roles":["SUPER_ADMIN"]}`)) + "." + parts[2],
		"", ".", "..", "a.b.c", "eyJhbGciOiJFZERTQSJ9..", strings.Repeat("A", 4096),
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err != nil {
			if claims != nil {
				t.Fatalf("claims returned with error %v", err)
			}
			return
		}
		p := strings.Split(token, ".")
		if len(p) != 3 {
			t.Fatalf("accepted a token of %d parts", len(p))
		}
		sig, err := base64.RawURLEncoding.DecodeString(p[2])
		if err != nil || !ed25519.Verify(pub, []byte(p[0]+"."+p[1]), sig) {
			t.Fatalf("accepted a token the issuer did not sign: %q", token)
		}
	})
}
