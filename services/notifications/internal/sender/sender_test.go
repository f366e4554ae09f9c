package sender_test

import (
	"context"
	"errors"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/sender"
)

type binder struct {
	got []*dapr.InvokeBindingRequest
	err error
}

func (b *binder) InvokeBinding(_ context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error) {
	b.got = append(b.got, in)
	return nil, b.err
}

var receipt = notifications.Delivery{
	ID: uuid.MustParse("0d9b6c52-4a39-4a5e-9c0e-1f5f1f1f1f1f"), Channel: notifications.ChannelEmail, Recipient: "ada@example.com",
	Message: notifications.Message{Subject: "Receipt", HTML: "<p>paid</p>"},
}

// Each send of one delivery carries the same Message-ID, so a mail that
// reaches its recipient twice can be recognised as one.
func TestEmailsCarryTheirDeliveryAsMessageID(t *testing.T) {
	b := &binder{}
	s := sender.New(b)
	require.NoError(t, s.Send(context.Background(), receipt))
	require.NoError(t, s.Send(context.Background(), receipt))
	require.Len(t, b.got, 2)
	for _, req := range b.got {
		assert.Equal(t, "email", req.Name)
		assert.Equal(t, map[string]string{"emailTo": "ada@example.com", "subject": "Receipt", "messageID": receipt.ID.String()}, req.Metadata)
	}
}

func TestSendErrorsSayWhetherTheMessageMayHaveGoneOut(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		maybeSent bool
	}{
		{"SMTP server unreachable", status.Error(codes.Internal, "error invoking output binding email: dial tcp 127.0.0.1:1025: connect: connection refused"), false},
		{"SMTP server refused", status.Error(codes.Internal, "error invoking output binding email: smtp: refused: 452 mailbox full"), false},
		{"connection broke after the message", status.Error(codes.Internal, "error invoking output binding email: smtp: outcome unknown: EOF"), true},
		{"sidecar went away mid-call", status.Error(codes.Unavailable, "error reading from server: EOF"), true},
		{"not from the sidecar", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sender.New(&binder{err: tt.err}).Send(context.Background(), receipt)
			require.Error(t, err)
			assert.Equal(t, tt.maybeSent, errors.Is(err, notifications.ErrMaybeSent), "%v", err)
		})
	}
}
