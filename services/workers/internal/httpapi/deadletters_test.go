package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
	"github.com/daprshop/daprshop/services/workers/internal/deadletters"
	"github.com/daprshop/daprshop/services/workers/internal/httpapi"
	"github.com/daprshop/daprshop/services/workers/internal/postgres/migrations"
)

const deadLettersPath = "/api/v1/admin/dead-letters"

// newDeadLetters serves the workers' own letters, in a fresh database,
// holding one unresolved letter of order.paid, whose consumer succeeds.
func newDeadLetters(t *testing.T) (*servertest.API, deadletter.View) {
	t.Helper()
	api := servertest.NewAPI(t, "workers", migrations.FS)
	ctx := context.Background()
	require.NoError(t, deadletter.Migrate(ctx, api.DB))
	log := slog.New(slog.DiscardHandler)
	store := deadletter.NewStore(api.DB)
	letters := deadletter.New(ctx, "workers", store, log, time.Now,
		events.Subscription{Topic: "order.paid", Route: "/events/order.paid", Handler: func(context.Context, events.Event) error { return nil }})
	t.Cleanup(func() { require.NoError(t, letters.Close()) })
	require.NoError(t, store.Record(ctx, events.Event{ID: "e-1", Topic: "order.paid",
		Raw: json.RawMessage(`{"id": "e-1", "topic": "order.paid", "data": {}}`)}, "boom", time.Now()))
	svc := deadletters.New(map[string]deadletters.Source{"workers": letters}, log)
	httpapi.NewDeadLetters(svc, api.Issuer.Verifier()).Register(api.App())
	page, err := letters.Listing(ctx, "", 0, 1)
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	return api, page.Items[0]
}

func TestDeadLettersAreForAdmins(t *testing.T) {
	f, letter := newDeadLetters(t)
	admin, customer := f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin), f.Issuer.Token(t, uuid.NewString())
	one := deadLettersPath + "/" + letter.ID.String() + "/replay"
	for _, tt := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token lists", http.MethodGet, deadLettersPath, "", http.StatusUnauthorized},
		{"no token replays one", http.MethodPost, one, "", http.StatusUnauthorized},
		{"a customer lists", http.MethodGet, deadLettersPath, customer, http.StatusForbidden},
		{"a customer replays one", http.MethodPost, one, customer, http.StatusForbidden},
		{"a customer replays all", http.MethodPost, deadLettersPath + "/replay", customer, http.StatusForbidden},
		{"an unknown id", http.MethodPost, deadLettersPath + "/" + uuid.NewString() + "/replay", admin, http.StatusNotFound},
		{"an event id for an id", http.MethodPost, deadLettersPath + "/e-1/replay", admin, http.StatusUnprocessableEntity},
		{"an id without its dashes", http.MethodPost, deadLettersPath + "/" + uuid.New().String()[:8] + "/replay", admin, http.StatusUnprocessableEntity},
		{"an unknown service", http.MethodGet, deadLettersPath + "?service=auth", admin, http.StatusUnprocessableEntity},
		{"replay all of an unknown service", http.MethodPost, deadLettersPath + "/replay?service=gateway", admin, http.StatusUnprocessableEntity},
		{"page 0", http.MethodGet, deadLettersPath + "?page=0", admin, http.StatusUnprocessableEntity},
		{"page_size 101", http.MethodGet, deadLettersPath + "?page_size=101", admin, http.StatusUnprocessableEntity},
		{"a page past what a service lists", http.MethodGet, deadLettersPath + "?service=orders&page=21474838&page_size=100", admin, http.StatusUnprocessableEntity},
		{"a page past what the workers list", http.MethodGet, deadLettersPath + "?service=workers&page=21474838&page_size=100", admin, http.StatusUnprocessableEntity},
		{"the last page there is", http.MethodGet, deadLettersPath + "?service=workers&page=" + strconv.Itoa(math.MaxInt), admin, http.StatusUnprocessableEntity},
		{"deleting them", http.MethodDelete, deadLettersPath, admin, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.Send(t, tt.method, tt.path, tt.token, "")
			assert.Equal(t, tt.status, r.Status, "%s", r.Body)
			assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
		})
	}
}

func TestAnAdminListsAndReplays(t *testing.T) {
	f, letter := newDeadLetters(t)
	admin := f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin)

	r := f.Get(t, deadLettersPath+"?service=workers&topic=order.paid", admin)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var page struct {
		Items       []deadletter.View `json:"items"`
		Total       int               `json:"total"`
		Page        int               `json:"page"`
		PageSize    int               `json:"page_size"`
		Unavailable []string          `json:"unavailable"`
	}
	r.JSON(t, &page)
	assert.Equal(t, 1, page.Total)
	assert.Equal(t, 1, page.Page)
	assert.Equal(t, server.DefaultPageSize, page.PageSize)
	assert.NotNil(t, page.Unavailable, "[] rather than null")
	require.Len(t, page.Items, 1)
	assert.Equal(t, letter.ID, page.Items[0].ID)
	assert.Equal(t, "workers", page.Items[0].Service)

	r = f.Send(t, http.MethodPost, deadLettersPath+"/"+letter.ID.String()+"/replay", admin, "")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var accepted deadletter.View
	r.JSON(t, &accepted)
	assert.Equal(t, letter.ID, accepted.ID)
	require.Eventually(t, func() bool {
		r := f.Get(t, deadLettersPath, admin)
		r.JSON(t, &page)
		return page.Items[0].Status == deadletter.StatusReplayed
	}, 10*time.Second, 10*time.Millisecond, "the replay runs after the answer")

	r = f.Send(t, http.MethodPost, deadLettersPath+"/replay", admin, "")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	assert.JSONEq(t, `{"queued": 0, "unresolved": 0, "unavailable": []}`, string(r.Body))
}
