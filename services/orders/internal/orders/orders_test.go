package orders

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

func TestParseStatus(t *testing.T) {
	for _, s := range statuses {
		got, ok := ParseStatus(string(s))
		assert.True(t, ok, s)
		assert.Equal(t, s, got)
	}
	for _, s := range []string{"", "PAID", "canceled", "paid "} {
		_, ok := ParseStatus(s)
		assert.False(t, ok, "%q", s)
	}
}

func TestListQueryFor(t *testing.T) {
	me, other := uuid.New(), uuid.New()
	tests := []struct {
		name   string
		viewer Viewer
		filter *uuid.UUID
		want   *uuid.UUID
	}{
		{"customer without filter sees own", Viewer{UserID: me}, nil, &me},
		{"customer cannot ask for another user", Viewer{UserID: me}, &other, &me},
		{"admin without filter sees all", Viewer{UserID: me, Admin: true}, nil, nil},
		{"admin filters by user", Viewer{UserID: me, Admin: true}, &other, &other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := ListQuery{UserID: tt.filter, Status: StatusPaid, Offset: 20, Limit: 10}.For(tt.viewer)
			assert.Equal(t, tt.want, q.UserID)
			assert.Equal(t, StatusPaid, q.Status)
			assert.Equal(t, 20, q.Offset)
			assert.Equal(t, 10, q.Limit)
		})
	}
}
