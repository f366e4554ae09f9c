package tokens_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/auth/internal/tokens"
	"github.com/daprshop/daprshop/services/platform/authn"
)

func keySet(t *testing.T, current, previous byte) keys.Set {
	t.Helper()
	seed := func(b byte) string {
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), ed25519.SeedSize)))
	}
	secrets := map[string]string{keys.SecretCurrent: seed(current), keys.SecretCurrentID: "k-" + string(current)}
	if previous != 0 {
		secrets[keys.SecretPrevious], secrets[keys.SecretPreviousID] = seed(previous), "k-"+string(previous)
	}
	set, err := keys.FromSecrets(secrets)
	require.NoError(t, err)
	return set
}

// verifier is the platform's verifier fed with set's published keys.
func verifier(t *testing.T, set keys.Set, now time.Time) *authn.Verifier {
	t.Helper()
	doc, err := json.Marshal(set.JWKS())
	require.NoError(t, err)
	return authn.NewVerifier(func(context.Context) ([]byte, error) { return doc, nil }, func() time.Time { return now })
}

func TestAccessTokensVerifyWithThePublishedKeys(t *testing.T) {
	set := keySet(t, 'a', 0)
	now := time.Now()
	u := accounts.User{ID: uuid.New(), Email: "jane@example.com", Roles: []string{authn.RoleAdmin, authn.RoleCustomer}, RolesVersion: 3}
	sid := uuid.New()
	tok, err := tokens.NewIssuer(set).Access(u, sid, now)
	require.NoError(t, err)

	claims, err := verifier(t, set, now).Verify(context.Background(), tok.Token)
	require.NoError(t, err)
	assert.Equal(t, u.ID, claims.UserID)
	assert.Equal(t, tok.ID, claims.ID)
	assert.Equal(t, "jane@example.com", claims.Email)
	assert.Equal(t, []string{authn.RoleAdmin, authn.RoleCustomer}, claims.Roles)
	assert.Equal(t, sid.String(), claims.SessionID)
	assert.Equal(t, int64(3), claims.RolesVersion, "the version of the roles it carries")
	assert.Equal(t, tok.ExpiresAt.Unix(), claims.ExpiresAt.Unix())
	assert.InDelta(t, accounts.AccessTokenTTL.Seconds(), claims.ExpiresAt.Sub(now).Seconds(), 1)

	parsed, _, err := jwt.NewParser().ParseUnverified(tok.Token, &authn.Claims{})
	require.NoError(t, err)
	assert.Equal(t, "EdDSA", parsed.Header["alg"])
	assert.Equal(t, "k-a", parsed.Header["kid"])

	t.Run("expired after 15 minutes", func(t *testing.T) {
		_, err := verifier(t, set, now.Add(accounts.AccessTokenTTL+time.Minute)).Verify(context.Background(), tok.Token)
		assert.ErrorIs(t, err, authn.ErrInvalidToken)
	})
}

func TestRotationKeepsThePreviousKeyValid(t *testing.T) {
	now := time.Now()
	u := accounts.User{ID: uuid.New(), Roles: []string{authn.RoleCustomer}}
	before, err := tokens.NewIssuer(keySet(t, 'a', 0)).Access(u, uuid.New(), now)
	require.NoError(t, err)

	rotated := keySet(t, 'b', 'a')
	after, err := tokens.NewIssuer(rotated).Access(u, uuid.New(), now)
	require.NoError(t, err)
	v := verifier(t, rotated, now)
	for name, tok := range map[string]string{"signed before the rotation": before.Token, "signed after": after.Token} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tok)
			assert.NoError(t, err)
		})
	}
	t.Run("a key dropped after two rotations no longer verifies", func(t *testing.T) {
		_, err := verifier(t, keySet(t, 'c', 'b'), now).Verify(context.Background(), before.Token)
		assert.Error(t, err)
	})
}

func TestRefreshTokensAreRandomAndStoredHashed(t *testing.T) {
	issuer := tokens.NewIssuer(keySet(t, 'a', 0))
	now := time.Now()
	a, err := issuer.Refresh(now)
	require.NoError(t, err)
	b, err := issuer.Refresh(now)
	require.NoError(t, err)
	assert.NotEqual(t, a.Plain, b.Plain)
	raw, err := base64.RawURLEncoding.DecodeString(a.Plain)
	require.NoError(t, err)
	assert.Len(t, raw, 32)
	assert.Equal(t, accounts.HashRefreshToken(a.Plain), a.Hash)
	assert.NotContains(t, string(a.Hash), a.Plain)
	assert.Equal(t, now.Add(accounts.RefreshTokenTTL), a.ExpiresAt)
}
