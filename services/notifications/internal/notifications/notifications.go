// Package notifications holds the messages sent to users, the channels they
// chose to receive them on, the templates that word them and the life of a
// delivery from queued to sent or failed.
package notifications

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// Channel is a way to reach a user.
type Channel string

// Channels, one output binding each.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelPush  Channel = "push"
)

// Channels lists every channel, in the order messages go out.
var Channels = []Channel{ChannelEmail, ChannelSMS, ChannelPush}

// Status is where a delivery stands.
type Status string

// Delivery states: queued → sent | failed; skipped is final from the start.
const (
	StatusQueued  Status = "queued"
	StatusSent    Status = "sent"
	StatusFailed  Status = "failed"  // attempts spent: a dead letter
	StatusSkipped Status = "skipped" // the user turned the channel off, or it has no address
)

// ErrNotQueued is returned when an attempt is recorded on a delivery that
// is no longer queued.
var ErrNotQueued = errors.New("delivery is not queued")

// ErrMaybeSent marks a send error after which the message may have gone
// out all the same: the channel broke after the provider could have kept
// it. The delivery is retried like any failed send, and the attempt is
// counted in Delivery.UncertainSends.
var ErrMaybeSent = errors.New("the message may have been sent")

// Delivery is one message to one user on one channel.
type Delivery struct {
	ID        uuid.UUID
	UserID    uuid.UUID // uuid.Nil for messages to the shop's admins
	EventID   string
	Channel   Channel
	Template  string
	Recipient string
	Message   Message
	Status    Status
	Attempts  int
	// UncertainSends counts the attempts whose outcome is unknown (their
	// sender died mid-send, or failed with ErrMaybeSent): the recipient
	// may hold the message once more than it was sent. Each send of a
	// delivery carries one Message-ID, so mail clients can tell.
	UncertainSends int
	LastError      string
	CreatedAt      time.Time
	SentAt         time.Time
}

// RecordAttempt applies the outcome of one send: sent when sendErr is nil;
// otherwise still queued for another attempt, or failed once maxAttempts
// attempts are spent. It returns ErrNotQueued unless d is queued.
func (d *Delivery) RecordAttempt(sendErr error, maxAttempts int, now time.Time) error {
	if d.Status != StatusQueued {
		return ErrNotQueued
	}
	d.Attempts++
	if errors.Is(sendErr, ErrMaybeSent) {
		d.UncertainSends++
	}
	if sendErr == nil {
		d.Status, d.SentAt = StatusSent, now
		return nil
	}
	d.LastError = sendErr.Error()
	if d.Attempts >= maxAttempts {
		d.Status = StatusFailed
	}
	return nil
}

// Preferences are the channels a user accepts messages on.
type Preferences struct {
	UserID uuid.UUID
	Email  bool
	SMS    bool
	Push   bool
}

// DefaultPreferences are the preferences of a user who has not chosen:
// email only, since every account has an email address and SMS and push
// need an explicit opt-in.
func DefaultPreferences(userID uuid.UUID) Preferences {
	return Preferences{UserID: userID, Email: true}
}

// Accepts reports whether the user wants messages on ch.
func (p Preferences) Accepts(ch Channel) bool {
	switch ch {
	case ChannelEmail:
		return p.Email
	case ChannelSMS:
		return p.SMS
	case ChannelPush:
		return p.Push
	}
	return false
}

// ListQuery selects a page of deliveries, newest first.
type ListQuery struct {
	UserID uuid.UUID
	Offset int
	Limit  int
}
