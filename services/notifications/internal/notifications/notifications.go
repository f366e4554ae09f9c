// Package notifications holds the types of the messages sent to users and
// the channels they chose to receive them on.
package notifications

import (
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

// Status is where a delivery stands.
type Status string

// Delivery states.
const (
	StatusPending Status = "pending"
	StatusSent    Status = "sent"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped" // the user turned the channel off
)

// Delivery is one message to one user on one channel.
type Delivery struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Channel   Channel
	Template  string
	Status    Status
	CreatedAt time.Time
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

// ListQuery selects a page of one user's deliveries, newest first.
type ListQuery struct {
	UserID uuid.UUID
	Offset int
	Limit  int
}
