package notifications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// ErrMalformed is returned for an event that can never make a message: a
// user id that is not one, or data of the wrong shape for its template.
// Delivering it again cannot help.
var ErrMalformed = errors.New("malformed event")

// ErrUndelivered is returned for an event one of whose deliveries failed
// for good (MaxAttempts sends): the event is a dead letter, and an
// operator's replay (Resend) sends the delivery again.
var ErrUndelivered = errors.New("delivery failed for good")

// Store keeps deliveries, preferences, templates and recipients.
type Store interface {
	// Deliveries returns a page of q.UserID's deliveries, newest first,
	// and how many the user has in all.
	Deliveries(ctx context.Context, q ListQuery) ([]Delivery, int, error)
	// DeadLetters returns a page of the failed deliveries of every user
	// and how many there are.
	DeadLetters(ctx context.Context, q ListQuery) ([]Delivery, int, error)
	// Preferences returns DefaultPreferences for a user who never chose.
	Preferences(ctx context.Context, userID uuid.UUID) (Preferences, error)
	SetPreferences(ctx context.Context, p Preferences) error
	// Template and SaveTemplate return ErrTemplateNotFound for a name the
	// shop has no template for.
	Template(ctx context.Context, name string) (Template, error)
	SaveTemplate(ctx context.Context, t Template) (Template, error)
	// Queue applies event eventID once: unless its id is recorded
	// already, it records it, calls plan and inserts the deliveries plan
	// returns, all in one transaction; a delivery already recorded for
	// the event and channel is kept. plan's error is returned as is and
	// nothing is recorded.
	Queue(ctx context.Context, eventID string, plan func(ctx context.Context, in Intake) ([]Delivery, error)) error
	// SendQueued offers each queued delivery of eventID to attempt, one
	// sender at a time, saves the outcome attempt records on it and returns
	// how many of the event's deliveries are still queued and how many
	// attempt failed for good. A send is claimed before attempt runs and
	// settled after: a delivery offered again with its last claim never
	// settled (the sender died mid-send) comes with UncertainSends counting
	// that send. A known outcome is saved even across a database restart.
	SendQueued(ctx context.Context, eventID string, attempt func(ctx context.Context, d *Delivery) error) (queued, failed int, err error)
	// Requeue queues event eventID's failed deliveries again.
	Requeue(ctx context.Context, eventID string) error
}

// Intake is what planning an event's deliveries reads and writes, in the
// transaction that records the event.
type Intake interface {
	// SaveRecipient records where userID is reached by email.
	SaveRecipient(ctx context.Context, userID uuid.UUID, email, name string) error
	// CreatePreferences stores p unless the user chose already.
	CreatePreferences(ctx context.Context, p Preferences) error
	// RecipientEmail returns userID's address, or "" when none is known.
	RecipientEmail(ctx context.Context, userID uuid.UUID) (string, error)
	Preferences(ctx context.Context, userID uuid.UUID) (Preferences, error)
	Template(ctx context.Context, name string) (Template, error)
}

// Sender sends one delivery on its channel. An error means the message may
// not have gone out.
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// Options configure a Service.
type Options struct {
	// MaxAttempts bounds the sends of one delivery; keep it below the
	// number of deliveries the pub/sub inbound retry policy makes, or the
	// event is dead-lettered while its delivery is still queued.
	MaxAttempts int
	// AdminEmail receives the messages meant for the shop's admins.
	AdminEmail string
	Log        *slog.Logger
	Now        func() time.Time
}

// Service turns business events into deliveries and sends them, and keeps
// the users' preferences and the shop's templates. Each event takes effect
// once: its deliveries are queued in the transaction that records it and
// sent after commit. A send that fails leaves its delivery queued for the
// event's next delivery; after MaxAttempts the delivery is failed, which
// admins can list, and its event a dead letter they can replay.
type Service struct {
	store  Store
	sender Sender
	opts   Options
}

// NewService returns a Service over store sending through sender.
func NewService(store Store, sender Sender, opts Options) *Service {
	if opts.MaxAttempts < 1 {
		opts.MaxAttempts = 1
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, sender: sender, opts: opts}
}

var errNoUser = fmt.Errorf("%w: user_id is not a user id", ErrMalformed)

// Welcome applies user.registered: it records the new user's address,
// gives them the default preferences (unless they chose already) and
// welcomes them. It returns ErrMalformed for an invalid user id.
func (s *Service) Welcome(ctx context.Context, eventID string, u contracts.UserRegisteredV1) error {
	if u.UserID == uuid.Nil {
		return errNoUser
	}
	data := UserData{UserID: u.UserID.String(), Email: u.Email, Name: u.Name}
	return s.userMessage(ctx, eventID, "welcome", data, u.UserID, u.Email, func(ctx context.Context, in Intake) error {
		if u.Email != "" {
			if err := in.SaveRecipient(ctx, u.UserID, u.Email, u.Name); err != nil {
				return err
			}
		}
		return in.CreatePreferences(ctx, DefaultPreferences(u.UserID))
	})
}

// NotifyUser queues and sends event eventID's message from template, with
// data, to userID at email or, without one, at the address
// user.registered gave. It returns ErrMalformed for the nil user id and
// ErrTemplateNotFound when the shop has no such template.
func (s *Service) NotifyUser(ctx context.Context, eventID, template string, userID uuid.UUID, email string, data any) error {
	if userID == uuid.Nil {
		return errNoUser
	}
	return s.userMessage(ctx, eventID, template, data, userID, email, nil)
}

// NotifyAdmins queues and mails event eventID's message from template, with
// data, to the shop's admins. It returns ErrTemplateNotFound when the shop
// has no such template.
func (s *Service) NotifyAdmins(ctx context.Context, eventID, template string, data any) error {
	err := s.store.Queue(ctx, eventID, func(ctx context.Context, in Intake) ([]Delivery, error) {
		all := Preferences{Email: true}
		return plan(ctx, in, Request{EventID: eventID, Email: s.opts.AdminEmail, Data: data}, template, all)
	})
	if err != nil {
		return err
	}
	return s.Send(ctx, eventID)
}

// Request applies notification.requested: the named message to a user or,
// without user id, to the admins. It returns ErrMalformed for an invalid
// user id or data, ErrTemplateNotFound for a name no event uses.
func (s *Service) Request(ctx context.Context, eventID string, r contracts.NotificationRequestedV1) error {
	kind, ok := Kinds[r.Template]
	if !ok {
		return fmt.Errorf("template %q: %w", r.Template, ErrTemplateNotFound)
	}
	data, err := kind.DecodeData(r.Data)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if r.UserID == nil {
		return s.NotifyAdmins(ctx, eventID, r.Template, data)
	}
	return s.NotifyUser(ctx, eventID, r.Template, *r.UserID, r.Email, data)
}

// userMessage queues and sends the template's message to userID; before
// runs first, in the same transaction.
func (s *Service) userMessage(ctx context.Context, eventID, template string, data any, userID uuid.UUID, email string,
	before func(ctx context.Context, in Intake) error) error {
	err := s.store.Queue(ctx, eventID, func(ctx context.Context, in Intake) ([]Delivery, error) {
		if before != nil {
			if err := before(ctx, in); err != nil {
				return nil, err
			}
		}
		to := email
		if to == "" {
			var err error
			if to, err = in.RecipientEmail(ctx, userID); err != nil {
				return nil, err
			}
		}
		prefs, err := in.Preferences(ctx, userID)
		if err != nil {
			return nil, err
		}
		return plan(ctx, in, Request{EventID: eventID, UserID: userID, Email: to, Data: data}, template, prefs)
	})
	if err != nil {
		return err
	}
	return s.Send(ctx, eventID)
}

func plan(ctx context.Context, in Intake, r Request, template string, prefs Preferences) ([]Delivery, error) {
	t, err := in.Template(ctx, template)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", template, err)
	}
	r.Template = t
	return Plan(r, prefs, uuid.New), nil
}

// Send attempts event eventID's queued deliveries; any left queued make it
// return an error, so the event is delivered again and the sends retried,
// and any failed for good ErrUndelivered.
func (s *Service) Send(ctx context.Context, eventID string) error {
	log := s.opts.Log
	pending, failed, err := s.store.SendQueued(ctx, eventID, func(ctx context.Context, d *Delivery) error {
		sendErr := s.sender.Send(ctx, *d)
		if err := d.RecordAttempt(sendErr, s.opts.MaxAttempts, s.opts.Now()); err != nil {
			return err
		}
		switch d.Status {
		case StatusSent:
			if d.UncertainSends > 0 {
				log.WarnContext(ctx, "delivery sent; an earlier send's outcome is unknown, the recipient may hold it twice",
					"delivery_id", d.ID, "event_id", eventID, "channel", d.Channel, "uncertain_sends", d.UncertainSends)
			}
		case StatusFailed:
			log.ErrorContext(ctx, "delivery dead-lettered", "delivery_id", d.ID, "event_id", eventID,
				"channel", d.Channel, "attempts", d.Attempts, "err", sendErr)
		case StatusQueued:
			log.WarnContext(ctx, "delivery will be retried", "delivery_id", d.ID, "event_id", eventID,
				"channel", d.Channel, "attempts", d.Attempts, "err", sendErr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("event %s: %d deliveries not sent yet", eventID, pending)
	}
	if failed > 0 {
		return fmt.Errorf("event %s: %d deliveries after %d sends: %w", eventID, failed, s.opts.MaxAttempts, ErrUndelivered)
	}
	return nil
}

// Resend queues event eventID's failed deliveries again, for an
// operator's replay of the event: each gets one more send (Send), and
// fails again at once if that one fails too.
func (s *Service) Resend(ctx context.Context, eventID string) error {
	return s.store.Requeue(ctx, eventID)
}

// Deliveries returns a page of q.UserID's deliveries and their total.
func (s *Service) Deliveries(ctx context.Context, q ListQuery) ([]Delivery, int, error) {
	return s.store.Deliveries(ctx, q)
}

// DeadLetters returns a page of the failed deliveries and their total.
func (s *Service) DeadLetters(ctx context.Context, q ListQuery) ([]Delivery, int, error) {
	return s.store.DeadLetters(ctx, q)
}

// Preferences returns the channels userID accepts.
func (s *Service) Preferences(ctx context.Context, userID uuid.UUID) (Preferences, error) {
	return s.store.Preferences(ctx, userID)
}

// SetPreferences replaces the user's choice of channels with p.
func (s *Service) SetPreferences(ctx context.Context, p Preferences) error {
	return s.store.SetPreferences(ctx, p)
}

// Template returns the template called name, or ErrTemplateNotFound.
func (s *Service) Template(ctx context.Context, name string) (Template, error) {
	return s.store.Template(ctx, name)
}

// SaveTemplate replaces the template t names and returns it as stored. A
// template that does not parse or render its event's data is refused with
// the apperr.Invalid error of Template.Validate and the stored one stays;
// ErrTemplateNotFound for a name no event uses.
func (s *Service) SaveTemplate(ctx context.Context, t Template) (Template, error) {
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return s.store.SaveTemplate(ctx, t)
}
