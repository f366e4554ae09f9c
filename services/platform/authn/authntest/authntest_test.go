package authntest_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
)

// userID is any well-formed subject: Verify requires a UUID.
const userID = "6f1c2a4e-8d3b-4f7a-9c1e-2b5d7e9f0a13"

func TestTokenVerifies(t *testing.T) {
	iss := authntest.NewIssuer(t)
	claims, err := iss.Verifier().Verify(context.Background(), iss.Token(t, userID, authn.RoleAdmin))
	require.NoError(t, err)
	assert.Equal(t, userID, claims.Subject)
	assert.Equal(t, []string{authn.RoleAdmin}, claims.Roles)
	assert.NotEmpty(t, claims.ID)
}

func TestTokenDefaultsToCustomer(t *testing.T) {
	iss := authntest.NewIssuer(t)
	claims, err := iss.Verifier().Verify(context.Background(), iss.Token(t, userID))
	require.NoError(t, err)
	assert.Equal(t, []string{authn.RoleCustomer}, claims.Roles)
}

func TestOtherIssuersTokensAreRefused(t *testing.T) {
	_, err := authntest.NewIssuer(t).Verifier().Verify(context.Background(), authntest.NewIssuer(t).Token(t, userID))
	assert.Error(t, err)
}

func TestSignedExpiredTokenIsRefused(t *testing.T) {
	iss := authntest.NewIssuer(t)
	past := time.Now().Add(-time.Hour)
	token := iss.Sign(t, &authn.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: userID, ID: "j1",
		IssuedAt: jwt.NewNumericDate(past), ExpiresAt: jwt.NewNumericDate(past.Add(time.Minute)),
	}})
	_, err := iss.Verifier().Verify(context.Background(), token)
	assert.ErrorIs(t, err, authn.ErrInvalidToken)
}
