// Package deadletters serves the dead letters of every service to admins.
// Each service keeps the letters of its own subscriptions in its own
// database and serves them to the workers (platform/deadletter,
// contracts.DeadLettersPath); the workers merge them into one list and
// find, for a replay, the service holding a letter's id by asking each:
// ids are random, so only the holder knows it.
package deadletters

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/deadletter"
)

// Source is one service's dead letters: the workers' own in process
// (*deadletter.Letters), another service's through its sidecar (Remote).
// An unknown id is deadletter.ErrNotFound; any other error means the
// service could not answer.
type Source interface {
	Listing(ctx context.Context, topic string, offset, limit int) (deadletter.Listing, error)
	StartReplay(ctx context.Context, id uuid.UUID) (deadletter.View, error)
	StartReplayAll(ctx context.Context, topic string) (deadletter.Queued, error)
}

// Service merges the dead letters of several services.
type Service struct {
	names   []string // sorted
	sources map[string]Source
	log     *slog.Logger
}

// New returns the Service over sources, by service name.
func New(sources map[string]Source, log *slog.Logger) *Service {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	slices.Sort(names)
	return &Service{names: names, sources: sources, log: log}
}

// Services are the names of the services whose letters s serves, sorted.
func (s *Service) Services() []string { return slices.Clone(s.names) }

// Query selects letters: of one service and one topic when set, from
// Offset, at most Limit.
type Query struct {
	Service, Topic string
	Offset, Limit  int
}

// Listing is a page of letters of several services. Unavailable names the
// services that did not answer: their letters are neither in Items nor in
// Total.
type Listing struct {
	Items       []deadletter.View
	Total       int
	Unavailable []string
}

// Replays is what a replay of all set off, summed over the services.
type Replays struct {
	deadletter.Queued
	Unavailable []string
}

// maxTopicLen bounds a topic filter; no topic is that long.
const maxTopicLen = 200

// check refuses a query naming a service s does not serve, or a topic
// no topic can be, and returns the services to ask.
func (s *Service) check(service, topic string) ([]string, error) {
	var fields []apperr.FieldError
	if len(topic) > maxTopicLen {
		fields = append(fields, apperr.FieldError{Field: "topic", Message: fmt.Sprintf("must be at most %d characters", maxTopicLen)})
	}
	names := s.names
	if service != "" {
		if _, ok := s.sources[service]; !ok {
			fields = append(fields, apperr.FieldError{Field: "service", Message: "must be one of " + strings.Join(s.names, ", ")})
		}
		names = []string{service}
	}
	if len(fields) > 0 {
		return nil, apperr.Validation(fields...)
	}
	return names, nil
}

// unavailable is the answer when services could not answer; causes go to
// the log, not to the client.
func unavailable(services []string, causes []error) error {
	e := &apperr.Error{
		Kind:    apperr.Unavailable,
		Message: "the dead letters of " + strings.Join(services, ", ") + " are unavailable",
		Extra:   map[string]any{"unavailable": services},
	}
	return errors.Join(append([]error{e}, causes...)...)
}

// each calls f on the source of every name at once. It returns the
// answers of the services that answered, in the order of names, and the
// names of those that did not (whose causes it logs, as what failed);
// when none answered, a 503 error naming them.
func each[T any](ctx context.Context, s *Service, names []string, what string, f func(ctx context.Context, src Source) (T, error)) ([]T, []string, error) {
	out, errs := make([]T, len(names)), make([]error, len(names))
	done := make(chan struct{}, len(names))
	for i, name := range names {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i], errs[i] = f(ctx, s.sources[name])
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", name, errs[i])
			}
		}()
	}
	for range names {
		<-done
	}
	var answers []T
	var down []string
	var causes []error
	for i, name := range names {
		if errs[i] != nil {
			down, causes = append(down, name), append(causes, errs[i])
			continue
		}
		answers = append(answers, out[i])
	}
	switch {
	case len(down) == len(names):
		s.log.WarnContext(ctx, what+": no service answered", "unavailable", down, "err", errors.Join(causes...))
		return nil, down, unavailable(down, causes)
	case len(down) > 0:
		s.log.WarnContext(ctx, what+" without some services", "unavailable", down, "err", errors.Join(causes...))
	}
	return answers, down, nil
}

// List returns the letters q selects, unresolved first, then the most
// recently seen first, and how many there are. One service's letters are
// paged by that service. Those of several are merged from the first
// Offset+Limit of each, at most deadletter.MaxLimit: a page past that
// wants a service filter (422). Services that do not answer are named in
// Unavailable; when none answers, or the one asked for does not, List
// returns a 503 error naming them.
func (s *Service) List(ctx context.Context, q Query) (Listing, error) {
	names, err := s.check(q.Service, q.Topic)
	if err != nil {
		return Listing{}, err
	}
	offset, limit := q.Offset, q.Limit
	if offset > deadletter.MaxOffset {
		// The services would refuse it, which would read as their being down.
		return Listing{}, apperr.Validation(apperr.FieldError{Field: "page", Message: "is past the last letter any service can list"})
	}
	if len(names) > 1 {
		if q.Offset > deadletter.MaxLimit-q.Limit {
			return Listing{}, apperr.Validation(apperr.FieldError{Field: "page",
				Message: fmt.Sprintf("the letters of every service are listed %d deep: filter by service to go further", deadletter.MaxLimit)})
		}
		offset, limit = 0, q.Offset+q.Limit
	}
	pages, down, err := each(ctx, s, names, "dead letters listed", func(ctx context.Context, src Source) (deadletter.Listing, error) {
		return src.Listing(ctx, q.Topic, offset, limit)
	})
	if err != nil {
		return Listing{}, err
	}
	out := Listing{Unavailable: down}
	for _, p := range pages {
		out.Items, out.Total = append(out.Items, p.Items...), out.Total+p.Total
	}
	if len(names) > 1 {
		slices.SortFunc(out.Items, before)
		out.Items = out.Items[min(q.Offset, len(out.Items)):min(q.Offset+q.Limit, len(out.Items))]
	}
	return out, nil
}

// before orders letters as each service lists its own (unresolved first,
// the most recently seen first, then by event id), then by service.
func before(a, b deadletter.View) int {
	resolved := func(v deadletter.View) int {
		if v.Status == deadletter.StatusReplayed {
			return 1
		}
		return 0
	}
	return cmp.Or(
		cmp.Compare(resolved(a), resolved(b)),
		b.LastSeen.Compare(a.LastSeen),
		strings.Compare(a.EventID, b.EventID),
		strings.Compare(a.Service, b.Service))
}

// Replay starts the replay of the letter named id in the service holding
// it and returns the letter as it stands. It returns deadletter.ErrNotFound
// when every service answered that it holds no such letter, and a 503
// error naming those that did not answer when none of those that did
// holds it.
func (s *Service) Replay(ctx context.Context, id uuid.UUID) (deadletter.View, error) {
	// Every service is asked at once; the holder's answer ends the wait.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		name   string
		letter deadletter.View
		err    error
	}
	answers := make(chan answer, len(s.names))
	for _, name := range s.names {
		go func() {
			letter, err := s.sources[name].StartReplay(ctx, id)
			answers <- answer{name, letter, err}
		}()
	}
	var down []string
	var causes []error
	for range s.names {
		a := <-answers
		switch {
		case a.err == nil:
			return a.letter, nil
		case !errors.Is(a.err, deadletter.ErrNotFound):
			down, causes = append(down, a.name), append(causes, fmt.Errorf("%s: %w", a.name, a.err))
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		s.log.WarnContext(ctx, "dead letter not replayed: services did not answer", "unavailable", down, "err", errors.Join(causes...))
		return deadletter.View{}, unavailable(down, causes)
	}
	return deadletter.View{}, deadletter.ErrNotFound
}

// ReplayAll starts the replay of a batch of unresolved letters of topic
// (every topic when empty) in service (every service when empty). The
// services that do not answer are named in Unavailable; when none
// answers, or the one asked for does not, it returns a 503 error.
func (s *Service) ReplayAll(ctx context.Context, service, topic string) (Replays, error) {
	names, err := s.check(service, topic)
	if err != nil {
		return Replays{}, err
	}
	queued, down, err := each(ctx, s, names, "dead letters replayed", func(ctx context.Context, src Source) (deadletter.Queued, error) {
		return src.StartReplayAll(ctx, topic)
	})
	if err != nil {
		return Replays{}, err
	}
	out := Replays{Unavailable: down}
	for _, q := range queued {
		out.Queued.Queued += q.Queued
		out.Unresolved += q.Unresolved
	}
	return out, nil
}
