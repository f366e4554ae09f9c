package deadletter

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// MaxLimit is the most letters one internal list answers: the workers
// merge the first page*page_size letters of every service, up to this.
const MaxLimit = 1000

// MaxOffset is the deepest a list may start.
const MaxOffset = int(^uint32(0) >> 1)

// Mount serves the letters to the workers (contracts.DeadLettersCaller),
// who serve every service's letters to admins:
//
//	GET  DeadLettersPath?topic=&offset=&limit=  a Listing, unresolved first
//	POST DeadLettersPath/{id}/replay            202, the letter (View); StartReplay
//	POST DeadLettersPath/replay?topic=          202, Queued; StartReplayAll
func (l *Letters) Mount(app fiber.Router) {
	only := server.OnlyCallers(contracts.DeadLettersCaller)
	app.Get(contracts.DeadLettersPath, only, l.list)
	app.Post(contracts.DeadLettersPath+"/replay", only, l.replayAll)
	app.Post(contracts.DeadLettersPath+"/:id/replay", only, l.replayOne)
}

// View is a letter in the public API's shape (API.md): id, service, topic,
// event_id, error, attempts, first_seen, last_seen, then what a replay
// needs to be judged by.
type View struct {
	ID           uuid.UUID       `json:"id"`
	Service      string          `json:"service"`
	Topic        string          `json:"topic"`
	EventID      string          `json:"event_id"`
	Error        string          `json:"error"`
	Attempts     int             `json:"attempts"`
	FirstSeen    time.Time       `json:"first_seen"`
	LastSeen     time.Time       `json:"last_seen"`
	Status       string          `json:"status"`
	ReplayedAt   *time.Time      `json:"replayed_at,omitempty"`
	LastReplayAt *time.Time      `json:"last_replay_at,omitempty"`
	Payload      json.RawMessage `json:"payload"`
}

// Listing is a page of one service's letters and how many it holds.
type Listing struct {
	Items []View `json:"items"`
	Total int    `json:"total"`
}

// The statuses of a letter.
const (
	StatusUnresolved = "unresolved"
	StatusReplayed   = "replayed"
)

// NewView is app's letter l as the API shows it.
func NewView(app string, l Letter) View {
	v := View{
		ID: l.ID, Service: app, Topic: l.Topic, EventID: l.EventID, Error: l.LastError, Attempts: l.Count,
		FirstSeen: l.FirstSeen.UTC(), LastSeen: l.LastSeen.UTC(), Status: StatusUnresolved,
		LastReplayAt: utc(l.LastReplayAt), Payload: l.Payload,
	}
	if l.ReplayedAt != nil {
		v.Status, v.ReplayedAt = StatusReplayed, utc(l.ReplayedAt)
	}
	return v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Listing is List as the API shows it.
func (l *Letters) Listing(ctx context.Context, topic string, offset, limit int) (Listing, error) {
	letters, total, err := l.List(ctx, topic, offset, limit)
	if err != nil {
		return Listing{}, err
	}
	items := make([]View, len(letters))
	for i, letter := range letters {
		items[i] = NewView(l.app, letter)
	}
	return Listing{Items: items, Total: total}, nil
}

func (l *Letters) list(c *fiber.Ctx) error {
	offset, okOffset := count(c.Query("offset", "0"), 0, MaxOffset)
	limit, okLimit := count(c.Query("limit", "20"), 1, MaxLimit)
	var fields []apperr.FieldError
	if !okOffset {
		fields = append(fields, apperr.FieldError{Field: "offset", Message: "must be a whole number from 0"})
	}
	if !okLimit {
		fields = append(fields, apperr.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(MaxLimit)})
	}
	if len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	page, err := l.Listing(c.UserContext(), c.Query("topic"), offset, limit)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// count reads a whole number from lo to hi written in ASCII digits only.
func count(v string, lo, hi int) (int, bool) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= lo && n <= hi
}

// errBadID answers an id that is not a UUID.
var errBadID = apperr.Validation(apperr.FieldError{Field: "id", Message: "must be a UUID"})

// ParseID reads a letter's id, or answers 422.
func ParseID(v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		return uuid.UUID{}, errBadID
	}
	return id, nil
}

func (l *Letters) replayOne(c *fiber.Ctx) error {
	id, err := ParseID(c.Params("id"))
	if err != nil {
		return err
	}
	letter, err := l.StartReplay(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(letter)
}

func (l *Letters) replayAll(c *fiber.Ctx) error {
	q, err := l.StartReplayAll(c.UserContext(), c.Query("topic"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(q)
}
