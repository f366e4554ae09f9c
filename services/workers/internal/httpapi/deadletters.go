package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/workers/internal/deadletters"
)

// DeadLetters serves the dead letters of every service to admins.
type DeadLetters struct {
	svc      *deadletters.Service
	verifier *authn.Verifier
}

// NewDeadLetters returns the handlers over svc; verifier checks every
// caller's token.
func NewDeadLetters(svc *deadletters.Service, verifier *authn.Verifier) *DeadLetters {
	return &DeadLetters{svc: svc, verifier: verifier}
}

// Register mounts the routes on app, for admins only:
//
//	GET  /api/v1/admin/dead-letters?service=&topic=&page=&page_size=
//	POST /api/v1/admin/dead-letters/{id}/replay        202, the letter
//	POST /api/v1/admin/dead-letters/replay?service=&topic=  202
func (h *DeadLetters) Register(app fiber.Router) {
	user, admin := authn.Require(h.verifier), authn.RequireAdmin()
	const base = "/api/v1/admin/dead-letters"
	app.Get(base, user, admin, h.list)
	app.Post(base+"/replay", user, admin, h.replayAll)
	app.Post(base+"/:id/replay", user, admin, h.replayOne)
}

// letterPage is the list envelope with the services that did not answer.
type letterPage struct {
	server.Page[deadletter.View]
	Unavailable []string `json:"unavailable"`
}

func (h *DeadLetters) list(c *fiber.Ctx) error {
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	got, err := h.svc.List(c.UserContext(), deadletters.Query{
		Service: c.Query("service"), Topic: c.Query("topic"), Offset: page.Offset(), Limit: page.PageSize,
	})
	if err != nil {
		return err
	}
	return c.JSON(letterPage{Page: server.NewPage(page, got.Items, got.Total), Unavailable: orEmpty(got.Unavailable)})
}

func (h *DeadLetters) replayOne(c *fiber.Ctx) error {
	id, err := deadletter.ParseID(c.Params("id"))
	if err != nil {
		return err
	}
	letter, err := h.svc.Replay(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(letter)
}

type replaysResponse struct {
	deadletter.Queued
	Unavailable []string `json:"unavailable"`
}

func (h *DeadLetters) replayAll(c *fiber.Ctx) error {
	r, err := h.svc.ReplayAll(c.UserContext(), c.Query("service"), c.Query("topic"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(replaysResponse{Queued: r.Queued, Unavailable: orEmpty(r.Unavailable)})
}

// orEmpty sends a nil list as [] rather than null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
