package authn

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

type claimsKey struct{}

// FromContext returns the verified claims of the request, if any.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Caller returns the verified claims of a request behind Require, or a 401
// error when there are none.
func Caller(ctx context.Context) (*Claims, error) {
	if c, ok := FromContext(ctx); ok {
		return c, nil
	}
	return nil, errNoToken
}

// WithClaims returns ctx carrying verified claims.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

var (
	errNoToken  = apperr.New(apperr.Unauthorized, "a bearer token is required")
	errBadToken = apperr.New(apperr.Unauthorized, "the bearer token is invalid or expired")
	errNoRole   = apperr.New(apperr.Forbidden, "your role does not allow this")
	errNoKeys   = apperr.New(apperr.Unavailable, "token verification is unavailable")
)

// Require verifies the bearer token of every request and puts its claims in
// the user context; requests without a valid token get 401.
func Require(v *Verifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := BearerToken(c.Get(fiber.HeaderAuthorization))
		if !ok {
			return errNoToken
		}
		claims, err := v.Verify(c.UserContext(), token)
		switch {
		case errors.Is(err, ErrInvalidToken):
			return errBadToken
		case err != nil:
			return errors.Join(errNoKeys, err)
		}
		c.SetUserContext(WithClaims(c.UserContext(), claims))
		return c.Next()
	}
}

// RequireAdmin lets through requests whose token grants one of AdminRoles;
// it must run after Require.
func RequireAdmin() fiber.Handler {
	return func(c *fiber.Ctx) error {
		claims, ok := FromContext(c.UserContext())
		if !ok {
			return errNoToken
		}
		if !claims.IsAdmin() {
			return errNoRole
		}
		return c.Next()
	}
}

// BearerToken extracts the token of an "Authorization: Bearer …" header.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}
