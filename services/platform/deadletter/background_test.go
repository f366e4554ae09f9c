package deadletter

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplaysBeyondTheSlotsWaitForOne(t *testing.T) {
	b := newBackground(context.Background(), 2)
	release, done := make(chan struct{}), make(chan struct{}, 5)
	var mu sync.Mutex
	active, most := 0, 0
	for range 5 {
		require.NoError(t, b.start(context.Background(), func(context.Context) {
			mu.Lock()
			active++
			most = max(most, active)
			mu.Unlock()
			<-release
			mu.Lock()
			active--
			mu.Unlock()
			done <- struct{}{}
		}))
	}
	close(release)
	for range 5 {
		<-done
	}
	assert.LessOrEqual(t, most, 2, "never more at once than the slots")
	b.close()
}

func TestClosingCancelsTheRunningAndDropsTheWaiting(t *testing.T) {
	b := newBackground(context.Background(), 1)
	started, cancelled, waitingRan := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	require.NoError(t, b.start(context.Background(), func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(cancelled)
	}))
	<-started
	require.NoError(t, b.start(context.Background(), func(context.Context) { waitingRan <- struct{}{} }))
	b.close()
	<-cancelled
	assert.Empty(t, waitingRan, "what waited for a slot did not run")
	assert.ErrorIs(t, b.start(context.Background(), func(context.Context) {}), errStopping)
}

func TestALetterIsClaimedOnceAtATime(t *testing.T) {
	var c claims
	id := uuid.New()
	require.True(t, c.claim(id))
	assert.False(t, c.claim(id), "a second replay of the same letter while the first runs")
	assert.True(t, c.claim(uuid.New()), "another letter")
	c.release(id)
	assert.True(t, c.claim(id), "again once the first is done")
}
