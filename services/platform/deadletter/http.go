package deadletter

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Path is where the admin API of app's dead letters is served; the gateway
// routes it to app.
func Path(app string) string { return "/api/v1/admin/dead-letters/" + app }

// Register serves the admin API of the letters, for admins only:
//
//	GET  Path(app)?page=&page_size=  a page of letters, unresolved first
//	POST Path(app)/{event_id}/replay replays one letter, answers it
//	POST Path(app)/replay            replays up to ReplayBatch unresolved letters
func (l *Letters) Register(app fiber.Router, verifier *authn.Verifier) {
	user, admin := authn.Require(verifier), authn.RequireAdmin()
	base := Path(l.app)
	app.Get(base, user, admin, l.list)
	app.Post(base+"/replay", user, admin, l.replayAll)
	app.Post(base+"/:id/replay", user, admin, l.replayOne)
}

type letterResponse struct {
	EventID    string          `json:"event_id"`
	Topic      string          `json:"topic"`
	Payload    json.RawMessage `json:"payload"`
	LastError  string          `json:"last_error"`
	Count      int             `json:"count"`
	FirstSeen  time.Time       `json:"first_seen"`
	LastSeen   time.Time       `json:"last_seen"`
	Status     string          `json:"status"`
	ReplayedAt *time.Time      `json:"replayed_at,omitempty"`
}

// The statuses of a letter.
const (
	statusUnresolved = "unresolved"
	statusReplayed   = "replayed"
)

func newLetterResponse(l Letter) letterResponse {
	r := letterResponse{
		EventID: l.EventID, Topic: l.Topic, Payload: l.Payload, LastError: l.LastError, Count: l.Count,
		FirstSeen: l.FirstSeen.UTC(), LastSeen: l.LastSeen.UTC(), Status: statusUnresolved,
	}
	if l.ReplayedAt != nil {
		at := l.ReplayedAt.UTC()
		r.Status, r.ReplayedAt = statusReplayed, &at
	}
	return r
}

func (l *Letters) list(c *fiber.Ctx) error {
	page, err := server.ParsePage(c)
	if err != nil {
		return err
	}
	letters, total, err := l.List(c.UserContext(), page.Offset(), page.PageSize)
	if err != nil {
		return err
	}
	items := make([]letterResponse, len(letters))
	for i, letter := range letters {
		items[i] = newLetterResponse(letter)
	}
	return c.JSON(server.NewPage(page, items, total))
}

func (l *Letters) replayOne(c *fiber.Ctx) error {
	letter, err := l.Replay(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(newLetterResponse(letter))
}

type outcomeResponse struct {
	Replayed  int `json:"replayed"`
	Failed    int `json:"failed"`
	Remaining int `json:"remaining"`
}

func (l *Letters) replayAll(c *fiber.Ctx) error {
	o, err := l.ReplayAll(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(outcomeResponse{Replayed: o.Replayed, Failed: o.Failed, Remaining: o.Remaining})
}
