// Package sender hands rendered messages to the channels' Dapr output
// bindings: email is bindings.smtp, sms and push are bindings.http to the
// providers.
package sender

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
)

// Binder invokes an output binding (the sidecar client).
type Binder interface {
	InvokeBinding(ctx context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error)
}

// Sender sends deliveries through the binding named after their channel.
type Sender struct{ binder Binder }

// New returns a Sender using binder.
func New(binder Binder) *Sender { return &Sender{binder: binder} }

// providerMessage is what the SMS and push providers receive.
type providerMessage struct {
	To       string `json:"to"`
	Subject  string `json:"subject,omitempty"`
	Text     string `json:"text"`
	Template string `json:"template"`
	ID       string `json:"id"` // the delivery id, for the provider to deduplicate on
}

// Send delivers d's message on its channel. An error means the message may
// not have gone out.
func (s *Sender) Send(ctx context.Context, d notifications.Delivery) error {
	req := &dapr.InvokeBindingRequest{Name: string(d.Channel)}
	switch d.Channel {
	case notifications.ChannelEmail:
		req.Operation = "create"
		req.Data = []byte(d.Message.HTML)
		// Every send of a delivery carries one Message-ID, so a mail that
		// reaches the recipient twice (see ErrMaybeSent) shows as one.
		req.Metadata = map[string]string{"emailTo": d.Recipient, "subject": d.Message.Subject, "messageID": d.ID.String()}
	case notifications.ChannelSMS, notifications.ChannelPush:
		body, err := json.Marshal(providerMessage{
			To: d.Recipient, Subject: d.Message.Subject, Text: d.Message.Text, Template: d.Template, ID: d.ID.String(),
		})
		if err != nil {
			return fmt.Errorf("encode %s message: %w", d.Channel, err)
		}
		req.Operation = "post"
		req.Data = body
		req.Metadata = map[string]string{"Content-Type": "application/json"}
	default:
		return fmt.Errorf("no binding for channel %q", d.Channel)
	}
	if _, err := s.binder.InvokeBinding(ctx, req); err != nil {
		if maybeSent(err) {
			return fmt.Errorf("send %s delivery %s: %w: %w", d.Channel, d.ID, notifications.ErrMaybeSent, err)
		}
		return fmt.Errorf("send %s delivery %s: %w", d.Channel, d.ID, err)
	}
	return nil
}

// maybeSent reports whether err leaves open that the message went out:
// the call to the sidecar broke (it may have handed the message on), or
// the email binding says the SMTP server may have kept it ("outcome
// unknown": the connection broke after the whole message was written).
// A refusal from the server, or a server that could not be reached, is
// not.
func maybeSent(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.Unknown:
		return true
	}
	return strings.Contains(st.Message(), "outcome unknown")
}
