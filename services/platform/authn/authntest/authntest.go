// Package authntest issues access tokens in tests, so services can exercise
// their protected routes through the real authn middleware instead of faking
// the verification they are meant to prove.
package authntest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// TokenTTL is how long tokens from Token stay valid: long enough for any
// test, short like real access tokens.
const TokenTTL = 15 * time.Minute

// Issuer plays the auth service: it holds a fresh Ed25519 key, publishes
// its JWKS and signs tokens the way auth does.
type Issuer struct {
	kid  string
	key  ed25519.PrivateKey
	jwks []byte
}

// NewIssuer returns an Issuer with a key generated for this test.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err, "generate signing key")
	kid := "test-" + uuid.NewString()
	jwks, err := json.Marshal(authn.JWKS{Keys: []authn.JWK{authn.PublicJWK(kid, pub)}})
	require.NoError(tb, err, "encode jwks")
	return &Issuer{kid: kid, key: priv, jwks: jwks}
}

// JWKS is the issuer's public key set, as auth serves it.
func (i *Issuer) JWKS() []byte { return i.jwks }

// Verifier returns a real authn.Verifier that trusts this issuer's key and
// reads the wall clock, like the one service.Start builds.
func (i *Issuer) Verifier() *authn.Verifier {
	return authn.NewVerifier(func(context.Context) ([]byte, error) { return i.jwks, nil }, time.Now)
}

// Token signs a valid access token for userID with roles; without roles the
// token grants CUSTOMER, the role every registered user has. userID is not
// checked, so tests can send malformed subjects.
func (i *Issuer) Token(tb testing.TB, userID string, roles ...string) string {
	tb.Helper()
	if len(roles) == 0 {
		roles = []string{authn.RoleCustomer}
	}
	now := time.Now()
	return i.Sign(tb, &authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    authn.Issuer,
			Audience:  jwt.ClaimStrings{authn.Audience},
			Subject:   userID,
			ID:        uuid.NewString(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
		},
		Roles: roles,
	})
}

// Sign signs claims as they are, for tests of tokens that must be refused
// (expired, wrong audience, ...).
func (i *Issuer) Sign(tb testing.TB, claims *authn.Claims) string {
	tb.Helper()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = i.kid
	signed, err := t.SignedString(i.key)
	require.NoError(tb, err, "sign token")
	return signed
}
