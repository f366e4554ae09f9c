package httpapi_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/httpapi"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

func TestReconcileEndpoint(t *testing.T) {
	f := newFixture(t)
	httpapi.MountReconcile(f.app, f.svc, slog.New(slog.DiscardHandler), time.Hour, time.Now)
	user, order := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-order", order, user) // succeeded; its webhook never comes

	for _, tt := range []struct {
		name, query string
		status      int
		body        string
	}{
		{"younger than the configured age: left alone", "", http.StatusOK, `{"settled": 0}`},
		{"a negative age is refused", "?older_than=-1s", http.StatusUnprocessableEntity, ""},
		{"an age that is no duration is refused", "?older_than=soon", http.StatusUnprocessableEntity, ""},
		{"an explicit age takes the payment", "?older_than=0s", http.StatusOK, `{"settled": 1}`},
		{"once", "?older_than=0s", http.StatusOK, `{"settled": 0}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodPost, contracts.ReconcilePaymentsPath+tt.query, "", nil)
			require.Equal(t, tt.status, resp.StatusCode, string(body))
			if tt.body != "" {
				assert.JSONEq(t, tt.body, string(body))
			}
		})
	}
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
}
