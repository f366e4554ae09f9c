// Package httpapi serves the notifications service's REST endpoints.
package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Handler serves the notification routes.
type Handler struct {
	svc      *notifications.Service
	verifier *authn.Verifier
}

// New returns a Handler over svc; verifier checks every caller's token.
func New(svc *notifications.Service, verifier *authn.Verifier) *Handler {
	return &Handler{svc: svc, verifier: verifier}
}

// Register mounts the routes on app, each behind token verification.
// Middleware is attached per route, so metrics label every answer, 401s
// included, with the route it was for.
func (h *Handler) Register(app fiber.Router) {
	user, admin := authn.Require(h.verifier), authn.RequireAdmin()
	app.Get("/api/v1/notifications", user, h.listDeliveries)
	app.Get("/api/v1/notifications/preferences", user, h.getPreferences)
	app.Put("/api/v1/notifications/preferences", user, h.putPreferences)
	// Under the notifications prefix, which the gateway routes here.
	app.Get("/api/v1/notifications/dead-letters", user, admin, h.listDeadLetters)
	app.Get("/api/v1/admin/notification-templates/:name", user, admin, h.getTemplate)
	app.Put("/api/v1/admin/notification-templates/:name", user, admin, h.putTemplate)
}

type deliveryResponse struct {
	ID        uuid.UUID `json:"id"`
	Channel   string    `json:"channel"`
	Template  string    `json:"template"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

type deadLetterResponse struct {
	ID        uuid.UUID `json:"id"`
	UserID    uuid.UUID `json:"user_id"` // the nil uuid for messages to admins
	EventID   string    `json:"event_id"`
	Channel   string    `json:"channel"`
	Template  string    `json:"template"`
	Recipient string    `json:"recipient"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	CreatedAt time.Time `json:"created_at"`
}

type preferencesRequest struct {
	Email *bool `json:"email" validate:"required"`
	SMS   *bool `json:"sms" validate:"required"`
	Push  *bool `json:"push" validate:"required"`
}

type templateRequest struct {
	Subject string `json:"subject" validate:"required,max=1000"`
	Body    string `json:"body" validate:"required,max=100000"`
	Text    string `json:"text" validate:"max=10000"`
}

type templateResponse struct {
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newTemplateResponse(t notifications.Template) templateResponse {
	return templateResponse{Name: t.Name, Subject: t.Subject, Body: t.HTML, Text: t.Text, UpdatedAt: t.UpdatedAt.UTC()}
}

type preferencesResponse struct {
	Email bool `json:"email"`
	SMS   bool `json:"sms"`
	Push  bool `json:"push"`
}

func (h *Handler) listDeliveries(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	userID := caller.UserID
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Deliveries(c.UserContext(),
		notifications.ListQuery{UserID: userID, Offset: page.Offset(), Limit: page.PageSize})
	if err != nil {
		return err
	}
	items := make([]deliveryResponse, len(list))
	for i, d := range list {
		items[i] = deliveryResponse{
			ID: d.ID, Channel: string(d.Channel), Template: d.Template, Status: string(d.Status), CreatedAt: d.CreatedAt.UTC(),
		}
	}
	return c.JSON(server.NewPage(page, items, total))
}

func (h *Handler) getPreferences(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	userID := caller.UserID
	p, err := h.svc.Preferences(c.UserContext(), userID)
	if err != nil {
		return err
	}
	return c.JSON(preferencesResponse{Email: p.Email, SMS: p.SMS, Push: p.Push})
}

func (h *Handler) putPreferences(c *fiber.Ctx) error {
	caller, err := authn.Caller(c.UserContext())
	if err != nil {
		return err
	}
	var in preferencesRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	p := notifications.Preferences{UserID: caller.UserID, Email: *in.Email, SMS: *in.SMS, Push: *in.Push}
	if err := h.svc.SetPreferences(c.UserContext(), p); err != nil {
		return err
	}
	return c.JSON(preferencesResponse{Email: p.Email, SMS: p.SMS, Push: p.Push})
}

func (h *Handler) listDeadLetters(c *fiber.Ctx) error {
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	list, total, err := h.svc.DeadLetters(c.UserContext(), notifications.ListQuery{Offset: page.Offset(), Limit: page.PageSize})
	if err != nil {
		return err
	}
	items := make([]deadLetterResponse, len(list))
	for i, d := range list {
		items[i] = deadLetterResponse{
			ID: d.ID, UserID: d.UserID, EventID: d.EventID, Channel: string(d.Channel), Template: d.Template,
			Recipient: d.Recipient, Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(),
		}
	}
	return c.JSON(server.NewPage(page, items, total))
}

func (h *Handler) getTemplate(c *fiber.Ctx) error {
	t, err := h.svc.Template(c.UserContext(), c.Params("name"))
	if err != nil {
		return err
	}
	return c.JSON(newTemplateResponse(t))
}

// putTemplate replaces a template; one that does not parse, or does not
// render its event's data, is refused with 422 and the stored one stays.
func (h *Handler) putTemplate(c *fiber.Ctx) error {
	var in templateRequest
	if err := server.Decode(c, &in); err != nil {
		return err
	}
	t := notifications.Template{Name: c.Params("name"), Subject: in.Subject, HTML: in.Body, Text: in.Text}
	saved, err := h.svc.SaveTemplate(c.UserContext(), t)
	if err != nil {
		return err
	}
	return c.JSON(newTemplateResponse(saved))
}
