package authn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/server"
)

// newApp mounts /me (any user) and /admin (administrators) behind the real server
// error handling, so statuses are the ones clients see.
func newApp(v *authn.Verifier) *fiber.App {
	s := server.New(server.Options{Config: config.Base{Service: "test"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	me := func(c *fiber.Ctx) error {
		claims, err := authn.Caller(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"user_id": claims.UserID, "roles": claims.Roles})
	}
	api := s.App().Group("/api", authn.Require(v))
	api.Get("/me", me)
	api.Get("/admin", authn.RequireAdmin(), me)
	s.App().Get("/open", me)
	return s.App()
}

func call(t *testing.T, app *fiber.App, path, authorization string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestMiddleware(t *testing.T) {
	iss := authntest.NewIssuer(t)
	app := newApp(iss.Verifier())
	customer := "Bearer " + iss.Token(t, userID)
	admin := "Bearer " + iss.Token(t, userID, authn.RoleAdmin)
	superAdmin := "Bearer " + iss.Token(t, userID, authn.RoleSuperAdmin)
	tests := []struct {
		name          string
		path          string
		authorization string
		status        int
	}{
		{"no token", "/api/me", "", 401},
		{"garbage token", "/api/me", "Bearer garbage", 401},
		{"wrong scheme", "/api/me", "Basic dXNlcjpwYXNz", 401},
		{"scheme only", "/api/me", "Bearer ", 401},
		{"other issuer", "/api/me", "Bearer " + authntest.NewIssuer(t).Token(t, userID), 401},
		{"customer", "/api/me", customer, 200},
		{"lower-case scheme", "/api/me", "bearer " + iss.Token(t, userID), 200},
		{"customer on admin route", "/api/admin", customer, 403},
		{"admin on admin route", "/api/admin", admin, 200},
		{"super admin on admin route", "/api/admin", superAdmin, 200},
		{"no claims without Require", "/open", admin, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, app, tt.path, tt.authorization)
			assert.Equal(t, tt.status, status, body)
			if status == 200 {
				assert.Contains(t, body, `"user_id":"`+userID+`"`)
			}
		})
	}
}

func TestMiddlewareAnswers503WhenKeysAreUnavailable(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := authn.NewVerifier(func(context.Context) ([]byte, error) {
		return nil, errors.New("dial auth: connection refused")
	}, time.Now)
	status, body := call(t, newApp(v), "/api/me", "Bearer "+iss.Token(t, userID))
	assert.Equal(t, 503, status)
	assert.NotContains(t, body, "connection refused")
}

func TestRequireAdminWithoutRequire(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(server.ProblemFor(err).Status).SendString(err.Error())
	}})
	app.Get("/x", authn.RequireAdmin(), func(c *fiber.Ctx) error { return c.SendStatus(200) })
	status, _ := call(t, app, "/x", "")
	assert.Equal(t, 401, status, "RequireAdmin must not let through a request nobody authenticated")
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"BEARER abc ", "abc", true},
		{"Bearer", "", false},
		{"Token abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			token, ok := authn.BearerToken(tt.header)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.token, token)
		})
	}
}
