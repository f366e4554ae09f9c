package authn_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/clocktest"
)

const userID = "6f1c2a4e-8d3b-4f7a-9c1e-2b5d7e9f0a13"

// issuerKey reads the key id and public key an issuer publishes.
func issuerKey(t testing.TB, iss *authntest.Issuer) (string, ed25519.PublicKey) {
	t.Helper()
	var set authn.JWKS
	require.NoError(t, json.Unmarshal(iss.JWKS(), &set))
	require.Len(t, set.Keys, 1)
	keys, err := authn.ParseJWKS(iss.JWKS())
	require.NoError(t, err)
	return set.Keys[0].KeyID, keys[set.Keys[0].KeyID]
}

func validClaims() *authn.Claims {
	now := time.Now()
	return &authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: userID, ID: uuid.NewString(),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		},
		Roles: []string{authn.RoleCustomer}, SessionID: uuid.NewString(),
	}
}

func TestVerifyAcceptsIssuedToken(t *testing.T) {
	iss := authntest.NewIssuer(t)
	claims, err := iss.Verifier().Verify(context.Background(), iss.Token(t, userID, authn.RoleAdmin))
	require.NoError(t, err)
	assert.Equal(t, uuid.MustParse(userID), claims.UserID)
	assert.Equal(t, []string{authn.RoleAdmin}, claims.Roles)
	assert.True(t, claims.HasRole(authn.RoleSuperAdmin, authn.RoleAdmin))
	assert.False(t, claims.HasRole(authn.RoleSuperAdmin))
}

func TestIsAdmin(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
		admin bool
	}{
		{"no role", nil, false},
		{"customer", []string{authn.RoleCustomer}, false},
		{"admin", []string{authn.RoleAdmin}, true},
		{"super admin", []string{authn.RoleSuperAdmin}, true},
		{"customer and admin", []string{authn.RoleCustomer, authn.RoleAdmin}, true},
		{"unknown role", []string{"admin"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.admin, (&authn.Claims{Roles: tt.roles}).IsAdmin())
		})
	}
}

func TestAdminRolesCannotBeChangedByACaller(t *testing.T) {
	roles := authn.AdminRoles()
	roles[0] = authn.RoleCustomer
	assert.False(t, (&authn.Claims{Roles: []string{authn.RoleCustomer}}).IsAdmin())
	assert.Equal(t, []string{authn.RoleAdmin, authn.RoleSuperAdmin}, authn.AdminRoles())
}

func TestVerifyRefusesForgedTokens(t *testing.T) {
	iss := authntest.NewIssuer(t)
	kid, pub := issuerKey(t, iss)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	signWith := func(method jwt.SigningMethod, key any, claims *authn.Claims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	withClaims := func(change func(c *authn.Claims)) string {
		c := validClaims()
		change(c)
		return iss.Sign(t, c)
	}
	tamperedRole := func() string {
		parts := strings.Split(iss.Token(t, userID), ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		payload = []byte(strings.Replace(string(payload), authn.RoleCustomer, authn.RoleSuperAdmin, 1))
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}

	tests := []struct {
		name  string
		token string
	}{
		{"signed by another key under the issuer's kid", signWith(jwt.SigningMethodEdDSA, otherKey, validClaims())},
		{"alg none", signWith(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims())},
		{"HS256 keyed with the public key", signWith(jwt.SigningMethodHS256, []byte(pub), validClaims())},
		{"HS256 keyed with the JWKS x value", signWith(jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(pub)), validClaims())},
		{"expired", withClaims(func(c *authn.Claims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		})},
		{"no expiry", withClaims(func(c *authn.Claims) { c.ExpiresAt = nil })},
		{"issued in the future", withClaims(func(c *authn.Claims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) })},
		{"wrong issuer", withClaims(func(c *authn.Claims) { c.Issuer = "someone-else" })},
		{"wrong audience", withClaims(func(c *authn.Claims) { c.Audience = jwt.ClaimStrings{"other-app"} })},
		{"missing jti", withClaims(func(c *authn.Claims) { c.ID = "" })},
		{"subject not a UUID", withClaims(func(c *authn.Claims) { c.Subject = "admin" })},
		{"tampered role claim", tamperedRole()},
		{"garbage", "not.a.token"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := iss.Verifier().Verify(context.Background(), tt.token)
			assert.ErrorIs(t, err, authn.ErrInvalidToken)
			assert.Nil(t, claims)
		})
	}
	t.Run("signed by an unknown key id", func(t *testing.T) {
		claims, err := iss.Verifier().Verify(context.Background(), authntest.NewIssuer(t).Token(t, userID))
		assert.Error(t, err)
		assert.Nil(t, claims)
	})
}

// keyServer is an issuer's JWKS endpoint that counts fetches and can rotate.
type keyServer struct {
	mu      sync.Mutex
	doc     []byte
	err     error
	fetches int
}

func (k *keyServer) fetch(context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fetches++
	return k.doc, k.err
}

func (k *keyServer) publish(issuers ...*authntest.Issuer) {
	var set authn.JWKS
	for _, iss := range issuers {
		var one authn.JWKS
		if err := json.Unmarshal(iss.JWKS(), &one); err != nil {
			panic(err)
		}
		set.Keys = append(set.Keys, one.Keys...)
	}
	doc, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.doc = doc
}

func (k *keyServer) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}

func TestVerifyFetchesKeysAfterRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey, stranger := authntest.NewIssuer(t), authntest.NewIssuer(t), authntest.NewIssuer(t)
	keys := &keyServer{}
	keys.publish(oldKey)
	// Near the wall clock, so tokens signed now stay valid while the test
	// moves it past the refetch interval.
	clk := clocktest.New(time.Now())
	v := authn.NewVerifier(keys.fetch, clk.Now)

	_, err := v.Verify(ctx, oldKey.Token(t, userID))
	require.NoError(t, err)
	_, err = v.Verify(ctx, oldKey.Token(t, userID))
	require.NoError(t, err)
	assert.Equal(t, 1, keys.count(), "keys are cached")

	keys.publish(oldKey, newKey) // rotation
	clk.Advance(11 * time.Second)
	_, err = v.Verify(ctx, newKey.Token(t, userID))
	require.NoError(t, err, "an unknown kid refetches and finds the new key")
	assert.Equal(t, 2, keys.count())
	_, err = v.Verify(ctx, newKey.Token(t, userID))
	require.NoError(t, err)
	assert.Equal(t, 2, keys.count(), "the new key is cached")

	for range 5 {
		_, err = v.Verify(ctx, stranger.Token(t, userID))
		require.Error(t, err)
	}
	assert.Equal(t, 2, keys.count(), "unknown kids within the refetch interval do not refetch")

	clk.Advance(11 * time.Second)
	for range 5 {
		_, err = v.Verify(ctx, stranger.Token(t, userID))
		require.Error(t, err)
	}
	assert.Equal(t, 3, keys.count(), "one refetch per interval")
}

func TestVerifyReportsFetchError(t *testing.T) {
	iss := authntest.NewIssuer(t)
	errDown := errors.New("auth service unreachable")
	keys := &keyServer{err: errDown}
	v := authn.NewVerifier(keys.fetch, time.Now)
	_, err := v.Verify(context.Background(), iss.Token(t, userID))
	assert.ErrorIs(t, err, errDown)
	assert.NotErrorIs(t, err, authn.ErrInvalidToken, "a token is not invalid because keys are unavailable")

	keys.mu.Lock()
	keys.err = nil
	keys.mu.Unlock()
	keys.publish(iss)
	_, err = v.Verify(context.Background(), iss.Token(t, userID))
	assert.NoError(t, err, "a failed fetch is not cached")
}

type denylist struct {
	revoked map[string]bool
	err     error
}

func (d denylist) Revoked(_ context.Context, ids ...string) (bool, error) {
	for _, id := range ids {
		if d.revoked[id] {
			return true, d.err
		}
	}
	return false, d.err
}

func TestVerifyChecksDenylist(t *testing.T) {
	iss := authntest.NewIssuer(t)
	c := validClaims()
	token := iss.Sign(t, c)
	tests := []struct {
		name    string
		list    denylist
		wantErr error
	}{
		{"not revoked", denylist{revoked: map[string]bool{"other": true}}, nil},
		{"revoked", denylist{revoked: map[string]bool{c.ID: true}}, authn.ErrInvalidToken},
		{"its session revoked", denylist{revoked: map[string]bool{authn.SessionRevocation(c.SessionID): true}}, authn.ErrInvalidToken},
		{"its user's roles changed since it was issued", denylist{revoked: map[string]bool{authn.RolesRevocation(uuid.MustParse(userID), 0): true}}, authn.ErrInvalidToken},
		{"another user's roles changed", denylist{revoked: map[string]bool{authn.RolesRevocation(uuid.New(), 0): true}}, nil},
		{"denylist down", denylist{err: errors.New("state store down")}, errors.New("state store down")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iss.Verifier().WithDenylist(tt.list).Verify(context.Background(), token)
			switch {
			case tt.wantErr == nil:
				assert.NoError(t, err)
			case errors.Is(tt.wantErr, authn.ErrInvalidToken):
				assert.ErrorIs(t, err, authn.ErrInvalidToken)
			default:
				assert.ErrorContains(t, err, tt.wantErr.Error())
				assert.NotErrorIs(t, err, authn.ErrInvalidToken)
			}
		})
	}
}

// readCounter records each denylist read.
type readCounter struct {
	mu      sync.Mutex
	reads   [][]string
	revoked map[string]bool
}

func (r *readCounter) Revoked(_ context.Context, ids ...string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads = append(r.reads, ids)
	for _, id := range ids {
		if r.revoked[id] {
			return true, nil
		}
	}
	return false, nil
}

func TestVerifyRefusesTokensCarryingRevokedRoles(t *testing.T) {
	iss := authntest.NewIssuer(t)
	user := uuid.MustParse(userID)
	withVersion := func(v int64) (*authn.Claims, string) {
		c := validClaims()
		c.Roles, c.RolesVersion = []string{authn.RoleAdmin}, v
		return c, iss.Sign(t, c)
	}
	before, oldToken := withVersion(3)
	_, newToken := withVersion(4)
	list := &readCounter{revoked: map[string]bool{authn.RolesRevocation(user, 3): true}}
	v := iss.Verifier().WithDenylist(list)

	_, err := v.Verify(context.Background(), oldToken)
	assert.ErrorIs(t, err, authn.ErrInvalidToken, "the token from before the change")
	claims, err := v.Verify(context.Background(), newToken)
	require.NoError(t, err, "the token issued with the new roles")
	assert.Equal(t, int64(4), claims.RolesVersion)

	require.Len(t, list.reads, 2, "one denylist read per verification")
	assert.ElementsMatch(t, []string{before.ID, authn.SessionRevocation(before.SessionID), authn.RolesRevocation(user, 3)}, list.reads[0],
		"token, session and roles are checked in the same read")
}

func TestRolesRevocationKeepsItsOwnKeySpace(t *testing.T) {
	user := uuid.MustParse(userID)
	key := authn.RolesRevocation(user, 7)
	assert.Equal(t, "roles:"+userID+":7", key)
	assert.NotEqual(t, authn.SessionRevocation(userID), key, "a session id equal to a user id names another entry")
	assert.NotEqual(t, authn.RolesRevocation(user, 70), authn.RolesRevocation(user, 7))
}

func TestParseJWKS(t *testing.T) {
	iss := authntest.NewIssuer(t)
	kid, pub := issuerKey(t, iss)
	tests := []struct {
		name    string
		doc     string
		keys    int
		wantErr bool
	}{
		{"issuer's set", string(iss.JWKS()), 1, false},
		{"other key types ignored", `{"keys":[{"kty":"RSA","kid":"r","n":"x","e":"AQAB"},{"kty":"OKP","crv":"X25519","kid":"x","x":"AA"}]}`, 0, false},
		{"short key", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"AAAA"}]}`, 0, true},
		{"not json", `{`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := authn.ParseJWKS([]byte(tt.doc))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, keys, tt.keys)
		})
	}
	keys, err := authn.ParseJWKS(iss.JWKS())
	require.NoError(t, err)
	assert.Equal(t, pub, keys[kid])
}
