package analytics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

func TestNewRange(t *testing.T) {
	tests := []struct {
		from, to string
		days     int // 0: invalid
	}{
		{"2025-03-01", "2025-03-01", 1},
		{"2025-03-01", "2025-03-31", 31},
		{"2024-01-01", "2024-12-31", 366},
		{"2023-03-01", "2024-03-01", 0}, // 367 days: crosses 29 February
		{"2023-01-01", "2024-01-01", 366},
		{"2023-01-01", "2024-01-02", 0},
		{"2025-03-02", "2025-03-01", 0},
	}
	for _, tt := range tests {
		t.Run(tt.from+".."+tt.to, func(t *testing.T) {
			r, err := NewRange(date(t, tt.from), date(t, tt.to))
			if tt.days == 0 {
				require.Error(t, err)
				assert.Equal(t, apperr.Invalid, apperr.KindOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.days, r.Days())
		})
	}
}

func TestNewRangeTruncatesToUTCDays(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	r, err := NewRange(time.Date(2025, 3, 1, 0, 30, 0, 0, paris), time.Date(2025, 3, 2, 23, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, date(t, "2025-02-28"), r.From)
	assert.Equal(t, date(t, "2025-03-02"), r.To)
}
