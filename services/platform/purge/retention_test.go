package purge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/purge"
)

func TestRetentionSettings(t *testing.T) {
	var unset purge.Retention
	require.NoError(t, config.Parse(func(string) string { return "" }, &unset))
	assert.Equal(t, purge.Retention{ProcessedEvents: 30 * 24 * time.Hour, PublishedOutbox: 7 * 24 * time.Hour}, unset)

	vars := map[string]string{"PROCESSED_EVENTS_RETENTION": "48h", "OUTBOX_RETENTION": "1h"}
	var set purge.Retention
	require.NoError(t, config.Parse(func(k string) string { return vars[k] }, &set))
	assert.Equal(t, purge.Retention{ProcessedEvents: 48 * time.Hour, PublishedOutbox: time.Hour}, set)
}
