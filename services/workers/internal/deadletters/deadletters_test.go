package deadletters_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/workers/internal/deadletters"
)

// letters is one service's letters held in memory, sorted as a service
// lists them; down makes it fail as a service that cannot answer.
type letters struct {
	name  string
	items []deadletter.View
	down  error

	mu       sync.Mutex
	replayed []uuid.UUID
	topics   []string // of the replays of all
}

func (l *letters) Listing(_ context.Context, topic string, offset, limit int) (deadletter.Listing, error) {
	if l.down != nil {
		return deadletter.Listing{}, l.down
	}
	var out deadletter.Listing
	for _, v := range l.items {
		if topic == "" || v.Topic == topic {
			out.Total++
			if out.Total > offset && len(out.Items) < limit {
				out.Items = append(out.Items, v)
			}
		}
	}
	return out, nil
}

func (l *letters) StartReplay(_ context.Context, id uuid.UUID) (deadletter.View, error) {
	if l.down != nil {
		return deadletter.View{}, l.down
	}
	for _, v := range l.items {
		if v.ID == id {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.replayed = append(l.replayed, id)
			return v, nil
		}
	}
	return deadletter.View{}, deadletter.ErrNotFound
}

func (l *letters) StartReplayAll(_ context.Context, topic string) (deadletter.Queued, error) {
	if l.down != nil {
		return deadletter.Queued{}, l.down
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.topics = append(l.topics, topic)
	page, _ := l.Listing(context.Background(), topic, 0, deadletter.MaxLimit)
	return deadletter.Queued{Queued: page.Total, Unresolved: page.Total}, nil
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// letter is a letter of service seen minutes after t0.
func letter(service, eventID, status string, minutes int) deadletter.View {
	return deadletter.View{ID: uuid.New(), Service: service, Topic: "order.paid", EventID: eventID, Status: status,
		FirstSeen: t0, LastSeen: t0.Add(time.Duration(minutes) * time.Minute)}
}

func newService(sources ...*letters) *deadletters.Service {
	m := map[string]deadletters.Source{}
	for _, s := range sources {
		m[s.name] = s
	}
	return deadletters.New(m, slog.New(slog.DiscardHandler))
}

func eventIDs(items []deadletter.View) []string {
	ids := make([]string, len(items))
	for i, v := range items {
		ids[i] = v.Service + "/" + v.EventID
	}
	return ids
}

func TestListMergesTheServicesInOneOrder(t *testing.T) {
	orders := &letters{name: "orders", items: []deadletter.View{
		letter("orders", "o-3", deadletter.StatusUnresolved, 3),
		letter("orders", "o-1", deadletter.StatusUnresolved, 1),
		letter("orders", "o-5", deadletter.StatusReplayed, 5),
	}}
	payments := &letters{name: "payments", items: []deadletter.View{
		letter("payments", "p-4", deadletter.StatusUnresolved, 4),
		letter("payments", "same", deadletter.StatusUnresolved, 2),
		letter("payments", "p-9", deadletter.StatusReplayed, 9),
	}}
	products := &letters{name: "products", items: []deadletter.View{
		letter("products", "same", deadletter.StatusUnresolved, 2),
	}}
	svc := newService(orders, payments, products)
	all := []string{"payments/p-4", "orders/o-3", "payments/same", "products/same", "orders/o-1", "payments/p-9", "orders/o-5"}

	for _, tt := range []struct {
		name          string
		offset, limit int
		want          []string
	}{
		{"the first page", 0, 3, all[:3]},
		{"the next", 3, 3, all[3:6]},
		{"the last, short", 6, 3, all[6:]},
		{"past the end", 9, 3, []string{}},
		{"all", 0, 100, all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.List(context.Background(), deadletters.Query{Offset: tt.offset, Limit: tt.limit})
			require.NoError(t, err)
			assert.Equal(t, tt.want, eventIDs(got.Items), "unresolved first, the most recently seen first, then event id, then service")
			assert.Equal(t, 7, got.Total)
			assert.Empty(t, got.Unavailable)
		})
	}

	t.Run("one service, paged by it", func(t *testing.T) {
		got, err := svc.List(context.Background(), deadletters.Query{Service: "orders", Offset: 1, Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, []string{"orders/o-1"}, eventIDs(got.Items))
		assert.Equal(t, 3, got.Total)
	})

	t.Run("by topic", func(t *testing.T) {
		got, err := svc.List(context.Background(), deadletters.Query{Topic: "order.shipped", Limit: 20})
		require.NoError(t, err)
		assert.Empty(t, got.Items)
		assert.Zero(t, got.Total)
	})
}

func TestListRefusesWhatItCannotServe(t *testing.T) {
	svc := newService(&letters{name: "orders"}, &letters{name: "payments"})
	for _, tt := range []struct {
		name  string
		q     deadletters.Query
		field string
	}{
		{"an unknown service", deadletters.Query{Service: "auth", Limit: 20}, "service"},
		{"a topic no topic can be", deadletters.Query{Topic: string(make([]byte, 201)), Limit: 20}, "topic"},
		{"every service past the merge window", deadletters.Query{Offset: deadletter.MaxLimit, Limit: 1}, "page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.List(context.Background(), tt.q)
			var e *apperr.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, apperr.Invalid, e.Kind)
			require.Len(t, e.Fields, 1)
			assert.Equal(t, tt.field, e.Fields[0].Field)
		})
	}
	t.Run("one service pages past the window", func(t *testing.T) {
		_, err := svc.List(context.Background(), deadletters.Query{Service: "orders", Offset: deadletter.MaxLimit, Limit: 100})
		assert.NoError(t, err)
	})
}

func TestAServiceDownIsNamed(t *testing.T) {
	down := errors.New("ERR_DIRECT_INVOKE: circuit breaker is open")
	orders := &letters{name: "orders", items: []deadletter.View{letter("orders", "o-1", deadletter.StatusUnresolved, 1)}}
	payments := &letters{name: "payments", down: down}
	svc := newService(orders, payments)

	t.Run("the list holds the others' letters and names it", func(t *testing.T) {
		got, err := svc.List(context.Background(), deadletters.Query{Limit: 20})
		require.NoError(t, err)
		assert.Equal(t, []string{"orders/o-1"}, eventIDs(got.Items))
		assert.Equal(t, 1, got.Total)
		assert.Equal(t, []string{"payments"}, got.Unavailable)
	})
	unavailable := func(t *testing.T, err error) {
		t.Helper()
		var e *apperr.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, apperr.Unavailable, e.Kind)
		assert.Equal(t, "the dead letters of payments are unavailable", e.Message)
		assert.Equal(t, []string{"payments"}, e.Extra["unavailable"])
		assert.NotContains(t, e.Message, "circuit", "the cause goes to the log")
	}
	t.Run("its own list is a 503", func(t *testing.T) {
		_, err := svc.List(context.Background(), deadletters.Query{Service: "payments", Limit: 20})
		unavailable(t, err)
	})
	t.Run("a replay of an id no service that answered holds is a 503", func(t *testing.T) {
		_, err := svc.Replay(context.Background(), uuid.New())
		unavailable(t, err)
	})
	t.Run("a replay of an id another holds is started", func(t *testing.T) {
		got, err := svc.Replay(context.Background(), orders.items[0].ID)
		require.NoError(t, err)
		assert.Equal(t, "o-1", got.EventID)
	})
	t.Run("a replay of all starts the others' and names it", func(t *testing.T) {
		got, err := svc.ReplayAll(context.Background(), "", "")
		require.NoError(t, err)
		assert.Equal(t, deadletter.Queued{Queued: 1, Unresolved: 1}, got.Queued)
		assert.Equal(t, []string{"payments"}, got.Unavailable)
	})
	t.Run("its own replay of all is a 503", func(t *testing.T) {
		_, err := svc.ReplayAll(context.Background(), "payments", "")
		unavailable(t, err)
	})
	t.Run("every service down is a 503", func(t *testing.T) {
		orders.down = down
		defer func() { orders.down = nil }()
		_, err := svc.List(context.Background(), deadletters.Query{Limit: 20})
		var e *apperr.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "the dead letters of orders, payments are unavailable", e.Message)
	})
}

func TestReplayFindsTheHolder(t *testing.T) {
	orders := &letters{name: "orders", items: []deadletter.View{letter("orders", "same", deadletter.StatusUnresolved, 1)}}
	payments := &letters{name: "payments", items: []deadletter.View{letter("payments", "same", deadletter.StatusUnresolved, 1)}}
	svc := newService(orders, payments)

	got, err := svc.Replay(context.Background(), payments.items[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "payments", got.Service)
	assert.Equal(t, []uuid.UUID{payments.items[0].ID}, payments.replayed)
	assert.Empty(t, orders.replayed, "the other letter of the event stays")

	_, err = svc.Replay(context.Background(), uuid.New())
	assert.ErrorIs(t, err, deadletter.ErrNotFound, "no service holds it")

	t.Run("a replay of all reaches every service, or the one named", func(t *testing.T) {
		got, err := svc.ReplayAll(context.Background(), "", "order.paid")
		require.NoError(t, err)
		assert.Equal(t, 2, got.Queued.Queued)
		assert.Equal(t, []string{"order.paid"}, orders.topics)
		_, err = svc.ReplayAll(context.Background(), "orders", "")
		require.NoError(t, err)
		assert.Equal(t, []string{"order.paid", ""}, orders.topics)
		assert.Equal(t, []string{"order.paid"}, payments.topics)
	})
}

// TestRemoteTellsNotFoundFromTheSidecarsErrors: the app's own 404 is a
// problem document; the sidecar's (no such app, an access policy's denial
// as 403) are not, and mean the service cannot answer.
func TestRemoteTellsNotFoundFromTheSidecarsErrors(t *testing.T) {
	id := uuid.New()
	for _, tt := range []struct {
		name        string
		status      int
		contentType string
		body        string
		notFound    bool
	}{
		{"the app's 404", http.StatusNotFound, "application/problem+json", `{"status": 404}`, true},
		{"the sidecar's 404", http.StatusNotFound, "application/json", `{"errorCode": "ERR_DIRECT_INVOKE"}`, false},
		{"an access policy's denial", http.StatusForbidden, "application/json", `{"errorCode": "ERR_DIRECT_INVOKE", "message": "access control policy has denied access"}`, false},
		{"a timeout", http.StatusInternalServerError, "application/json", `{"errorCode": "ERR_DIRECT_INVOKE"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/"+id.String()+"/replay", r.URL.Path)
				assert.Equal(t, "token", r.Header.Get("dapr-api-token"))
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			_, err := deadletters.NewRemoteWithBase(srv.URL, "token", "payments").StartReplay(context.Background(), id)
			require.Error(t, err)
			assert.Equal(t, tt.notFound, errors.Is(err, deadletter.ErrNotFound), "%v", err)
		})
	}
	t.Run("a letter accepted", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, http.MethodPost, r.Method)
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"id": %q, "service": "payments", "event_id": "e-1"}`, id)
		}))
		defer srv.Close()
		got, err := deadletters.NewRemoteWithBase(srv.URL, "", "payments").StartReplay(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, "e-1", got.EventID)
	})
	t.Run("a list asks for the window and topic", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "limit=40&offset=0&topic=order.paid", r.URL.RawQuery)
			fmt.Fprint(w, `{"items": [], "total": 7}`)
		}))
		defer srv.Close()
		got, err := deadletters.NewRemoteWithBase(srv.URL, "", "payments").Listing(context.Background(), "order.paid", 0, 40)
		require.NoError(t, err)
		assert.Equal(t, 7, got.Total)
	})
}
