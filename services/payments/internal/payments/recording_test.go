package payments

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordingWaitsForThePaymentInFlight(t *testing.T) {
	r := newRecording()
	assert.False(t, r.wait(context.Background(), "pi_1"), "nothing in flight: no wait")

	first, second := r.start("pi_1"), r.start("pi_1") // a redelivered order.created
	waited := make(chan bool)
	go func() { waited <- r.wait(context.Background(), "pi_1") }()
	first()
	select {
	case <-waited:
		t.Fatal("the webhook went on while a recording was still in flight")
	case <-time.After(50 * time.Millisecond):
	}
	second()
	require.True(t, <-waited)
	assert.False(t, r.wait(context.Background(), "pi_1"), "done: no wait")

	t.Run("the webhook's request ending stops the wait", func(t *testing.T) {
		defer r.start("pi_2")()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.False(t, r.wait(ctx, "pi_2"))
	})
}
