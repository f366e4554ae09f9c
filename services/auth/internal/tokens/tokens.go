// Package tokens issues the auth service's tokens: EdDSA-signed access
// tokens every service verifies with authn, and opaque refresh tokens.
package tokens

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/platform/authn"
)

// refreshTokenBytes is the entropy of a refresh token.
const refreshTokenBytes = 32

// Issuer signs with the current key of a key set.
type Issuer struct{ keys keys.Set }

// NewIssuer returns an Issuer signing with set.Current.
func NewIssuer(set keys.Set) *Issuer { return &Issuer{keys: set} }

// Access signs an access token for u in session sessionID, valid for
// accounts.AccessTokenTTL from now.
func (i *Issuer) Access(u accounts.User, sessionID uuid.UUID, now time.Time) (accounts.AccessToken, error) {
	id := uuid.NewString()
	exp := now.Add(accounts.AccessTokenTTL).Truncate(time.Second)
	claims := &authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: u.ID.String(),
			ID: id, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
		Email: u.Email, Roles: u.Roles, RolesVersion: u.RolesVersion, SessionID: sessionID.String(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = i.keys.Current.ID
	signed, err := t.SignedString(i.keys.Current.Private)
	if err != nil {
		return accounts.AccessToken{}, fmt.Errorf("sign access token: %w", err)
	}
	return accounts.AccessToken{Token: signed, ID: id, ExpiresAt: exp}, nil
}

// Refresh makes a random refresh token valid for accounts.RefreshTokenTTL.
func (i *Issuer) Refresh(now time.Time) (accounts.RefreshToken, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return accounts.RefreshToken{}, fmt.Errorf("refresh token: %w", err)
	}
	plain := base64.RawURLEncoding.EncodeToString(b)
	return accounts.RefreshToken{Plain: plain, Hash: accounts.HashRefreshToken(plain), ExpiresAt: now.Add(accounts.RefreshTokenTTL)}, nil
}
