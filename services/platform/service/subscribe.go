package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Subscribe mounts the service's subscriptions subs, and its dead letters
// with them: every subscription dead-letters to the service's own topic,
// whose letters are recorded in the service's database (the table is
// created here), counted in its metrics, served to the workers at
// contracts.DeadLettersPath and kept in s.DeadLetters (see package
// deadletter); the replays under way stop when ctx ends or the service
// closes. Each delivery's outcome is counted by topic
// (events_handled_total).
func (s *Service) Subscribe(ctx context.Context, subs ...events.Subscription) error {
	if s.DB == nil {
		return errors.New("dead letters need the service's database: set Spec.Migrations")
	}
	if err := deadletter.Migrate(ctx, s.DB); err != nil {
		return err
	}
	letters := deadletter.New(ctx, s.Config.Service, deadletter.NewStore(s.DB), s.Log, time.Now, subs...)
	s.Own(letters)
	if err := s.Server.Metrics().Registry.Register(letters); err != nil {
		return fmt.Errorf("register dead-letter metrics: %w", err)
	}
	subs = letters.Subscriptions()
	handled := events.NewHandled(s.Config.Service, subs...)
	if err := s.Server.Metrics().Registry.Register(handled); err != nil {
		return fmt.Errorf("register event metrics: %w", err)
	}
	events.Mount(s.Server.App(), s.Log, handled.Count(subs...)...)
	letters.Mount(s.Server.App())
	s.DeadLetters = letters
	return nil
}
