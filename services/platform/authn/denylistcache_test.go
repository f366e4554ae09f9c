package authn_test

import (
	"context"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/clocktest"
)

func TestCacheDenylist(t *testing.T) {
	ctx := context.Background()
	const ttl = 500 * time.Millisecond

	t.Run("a token read as not revoked is not read again within the TTL", func(t *testing.T) {
		clk := clocktest.New(time.Now())
		list := &readCounter{revoked: map[string]bool{}}
		d := authn.CacheDenylist(list, ttl, clk.Now)
		for range 10 {
			revoked, err := d.Revoked(ctx, "jti-1", "session:s1")
			require.NoError(t, err)
			assert.False(t, revoked)
		}
		assert.Len(t, list.reads, 1)
		_, err := d.Revoked(ctx, "jti-2", "session:s1")
		require.NoError(t, err)
		assert.Len(t, list.reads, 2, "another token is read on its own")
	})

	t.Run("a revocation is seen once the TTL has passed", func(t *testing.T) {
		clk := clocktest.New(time.Now())
		list := &readCounter{revoked: map[string]bool{}}
		d := authn.CacheDenylist(list, ttl, clk.Now)
		revoked, err := d.Revoked(ctx, "jti-1")
		require.NoError(t, err)
		require.False(t, revoked)

		list.mu.Lock()
		list.revoked["jti-1"] = true
		list.mu.Unlock()
		clk.Advance(ttl)
		revoked, err = d.Revoked(ctx, "jti-1")
		require.NoError(t, err)
		assert.True(t, revoked)
	})

	t.Run("revoked answers and errors are read again every time", func(t *testing.T) {
		clk := clocktest.New(time.Now())
		list := &readCounter{revoked: map[string]bool{"jti-1": true}}
		d := authn.CacheDenylist(list, ttl, clk.Now)
		for range 3 {
			revoked, err := d.Revoked(ctx, "jti-1")
			require.NoError(t, err)
			assert.True(t, revoked)
		}
		assert.Len(t, list.reads, 3)

		down := authn.CacheDenylist(denylist{err: errors.New("state store down")}, ttl, clk.Now)
		for range 2 {
			_, err := down.Revoked(ctx, "jti-2")
			assert.ErrorContains(t, err, "state store down")
		}
	})

	t.Run("zero TTL reads every time", func(t *testing.T) {
		list := &readCounter{revoked: map[string]bool{}}
		d := authn.CacheDenylist(list, 0, time.Now)
		for range 3 {
			_, err := d.Revoked(ctx, "jti-1")
			require.NoError(t, err)
		}
		assert.Len(t, list.reads, 3)
	})
}

// TestVerifyRemembersVerifiedTokens: a token verified once is not
// verified again until it expires, while its expiry and the denylist are
// still checked on every request.
func TestVerifyRemembersVerifiedTokens(t *testing.T) {
	ctx := context.Background()
	iss := authntest.NewIssuer(t)
	keys := &keyServer{}
	keys.publish(iss)
	clk := clocktest.New(time.Now())
	list := &readCounter{revoked: map[string]bool{}}
	v := authn.NewVerifier(keys.fetch, clk.Now).WithDenylist(list)
	c := validClaims()
	token := iss.Sign(t, c)

	first, err := v.Verify(ctx, token)
	require.NoError(t, err)
	first.Roles = []string{authn.RoleSuperAdmin} // a caller changing its copy
	first.Email = "changed"
	second, err := v.Verify(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, uuid.MustParse(userID), second.UserID)
	assert.Equal(t, []string{authn.RoleCustomer}, second.Roles, "each caller gets its own claims")
	assert.Empty(t, second.Email)
	assert.Len(t, list.reads, 2, "the denylist is read on every request")

	tampered := token[:len(token)-4] + "AAAA"
	_, err = v.Verify(ctx, tampered)
	assert.ErrorIs(t, err, authn.ErrInvalidToken, "other bytes are verified on their own")

	list.mu.Lock()
	list.revoked[c.ID] = true
	list.mu.Unlock()
	_, err = v.Verify(ctx, token)
	assert.ErrorIs(t, err, authn.ErrInvalidToken, "revoked: refused, verified before or not")

	list.mu.Lock()
	delete(list.revoked, c.ID)
	list.mu.Unlock()
	clk.Advance(time.Minute + authn.Leeway + time.Second)
	_, err = v.Verify(ctx, token)
	assert.ErrorIs(t, err, authn.ErrInvalidToken, "expired: refused, verified before or not")
}

// TestVerifyKeepsNoAliasOfTheCallersToken: a server hands Verify tokens
// whose bytes it reuses for the next request (Fiber's c.Get aliases the
// request buffer). What a verified token is remembered by must not change
// with that buffer, or the next request's token would find the previous
// user's claims.
func TestVerifyKeepsNoAliasOfTheCallersToken(t *testing.T) {
	ctx := context.Background()
	iss := authntest.NewIssuer(t)
	v := iss.Verifier()
	first, second := validClaims(), validClaims()
	second.Subject = uuid.NewString()
	tokenA, tokenB := iss.Sign(t, first), iss.Sign(t, second)
	require.Len(t, tokenB, len(tokenA), "same-shaped claims sign to tokens of one length")

	buf := []byte(tokenA) // the server's request buffer
	claims, err := v.Verify(ctx, unsafe.String(&buf[0], len(buf)))
	require.NoError(t, err)
	require.Equal(t, userID, claims.UserID.String())

	copy(buf, tokenB) // the next request arrives in the same buffer
	claims, err = v.Verify(ctx, unsafe.String(&buf[0], len(buf)))
	require.NoError(t, err)
	assert.Equal(t, second.Subject, claims.UserID.String(), "the second request is the second user's")
	claims, err = v.Verify(ctx, tokenA)
	require.NoError(t, err)
	assert.Equal(t, userID, claims.UserID.String())
}
