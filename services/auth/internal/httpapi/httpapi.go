// Package httpapi serves the auth service's REST endpoints.
package httpapi

import (
	"math"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Handler serves the auth routes.
type Handler struct {
	keys     keys.Set
	accounts *accounts.Service
	verifier *authn.Verifier
}

// New returns a Handler publishing keys, running accounts and checking
// callers' tokens with verifier.
func New(keys keys.Set, accounts *accounts.Service, verifier *authn.Verifier) *Handler {
	return &Handler{keys: keys, accounts: accounts, verifier: verifier}
}

// Register mounts the routes on app. Middleware is attached per route, so
// metrics label every answer, 401s included, with the route it was for.
func (h *Handler) Register(app fiber.Router) {
	user := authn.Require(h.verifier)
	admin := authn.RequireAdmin()
	app.Get("/.well-known/jwks.json", h.jwks)
	app.Post("/api/v1/auth/register", h.register)
	app.Post("/api/v1/auth/login", h.login)
	app.Post("/api/v1/auth/refresh", h.refresh)
	app.Post("/api/v1/auth/logout", user, h.logout)
	app.Get("/api/v1/auth/me", user, h.me)
	app.Get("/api/v1/auth/sessions", user, h.sessions)
	app.Delete("/api/v1/auth/sessions/:id", user, h.revokeSession)
	app.Get("/api/v1/admin/users", user, admin, h.listUsers)
	app.Put("/api/v1/admin/users/:id/roles", user, admin, h.setRoles)
}

func (h *Handler) jwks(c *fiber.Ctx) error {
	// Verifiers cache keys and refetch on an unknown key id, so a short
	// max-age is enough to pick up rotations.
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(h.keys.JWKS())
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// decodeRegister reads a sign-up body. Every rule is checked by
// accounts.NewRegistration, so one 422 lists every violation of every field.
func decodeRegister(c *fiber.Ctx) (accounts.Registration, error) {
	var in registerRequest
	if err := server.Decode(c, &in); err != nil {
		return accounts.Registration{}, err
	}
	return accounts.NewRegistration(in.Email, in.Password, in.Name)
}

type userResponse struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
	Roles []string  `json:"roles"`
}

func newUserResponse(u accounts.User) userResponse {
	return userResponse{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles}
}

func (h *Handler) register(c *fiber.Ctx) error {
	reg, err := decodeRegister(c)
	if err != nil {
		return err
	}
	u, err := h.accounts.Register(c.UserContext(), reg)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newUserResponse(u))
}

type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

type tokensResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func newTokensResponse(t accounts.Tokens) tokensResponse {
	return tokensResponse{
		AccessToken: t.Access.Token, RefreshToken: t.Refresh.Plain, TokenType: "Bearer",
		ExpiresIn: int(accounts.AccessTokenTTL / time.Second),
	}
}

func (h *Handler) login(c *fiber.Ctx) error {
	var in loginRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	if fields := accounts.LoginEmailViolations(in.Email); len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	client := accounts.NewClient(c.Get(fiber.HeaderUserAgent), clientIP(c))
	tokens, err := h.accounts.Login(c.UserContext(), in.Email, in.Password, client)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(newTokensResponse(tokens))
}

// clientIP is the first X-Forwarded-For entry, which the gateway sets to
// the client's address (replacing what the client sent), or the peer.
func clientIP(c *fiber.Ctx) string {
	if xff := c.Get(fiber.HeaderXForwardedFor); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if ip := strings.TrimSpace(first); ip != "" {
			return ip
		}
	}
	return c.IP()
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=256"`
}

func (h *Handler) refresh(c *fiber.Ctx) error {
	var in refreshRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	tokens, err := h.accounts.Refresh(c.UserContext(), in.RefreshToken)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(newTokensResponse(tokens))
}

func (h *Handler) logout(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	if err := h.accounts.Logout(c.UserContext(), caller); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) me(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	u, err := h.accounts.Me(c.UserContext(), caller)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}

type sessionResponse struct {
	ID         uuid.UUID `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func (h *Handler) sessions(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	list, err := h.accounts.Sessions(c.UserContext(), caller)
	if err != nil {
		return err
	}
	out := make([]sessionResponse, len(list))
	for i, s := range list {
		out[i] = sessionResponse{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(),
			UserAgent: s.UserAgent, IP: s.IP, Current: s.ID.String() == caller.SessionID,
		}
	}
	return c.JSON(out)
}

func (h *Handler) revokeSession(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return accounts.ErrSessionNotFound
	}
	if err := h.accounts.RevokeSession(c.UserContext(), caller, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) listUsers(c *fiber.Ctx) error {
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	list, total, err := h.accounts.Users(c.UserContext(), offset(page), page.PageSize)
	if err != nil {
		return err
	}
	items := make([]userResponse, len(list))
	for i, u := range list {
		items[i] = newUserResponse(u)
	}
	return c.JSON(server.NewPage(page, items, total))
}

// offset is where page starts, saturating instead of overflowing for
// absurd page numbers: such a page is empty either way.
func offset(page server.PageRequest) int {
	if page.Page-1 > math.MaxInt/page.PageSize {
		return math.MaxInt
	}
	return page.Offset()
}

type rolesRequest struct {
	Roles []string `json:"roles"`
}

func (h *Handler) setRoles(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return accounts.ErrUserNotFound
	}
	var in rolesRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	u, err := h.accounts.SetRoles(c.UserContext(), caller, id, in.Roles)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}
