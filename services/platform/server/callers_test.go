package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/server"
)

func TestOnlyCallersAndNotInvoked(t *testing.T) {
	s := newServer(t, nil)
	ok := func(c *fiber.Ctx) error { return c.SendString("ok") }
	s.App().Post("/internal/purge", server.OnlyCallers("workers"), ok)
	s.App().Post("/events/order.paid", server.NotInvoked, ok)

	tests := []struct {
		name    string
		path    string
		callers []string // values of the caller header, each under its own spelling
		status  int
	}{
		{"named caller on an internal route", "/internal/purge", []string{"workers"}, 200},
		{"another caller", "/internal/purge", []string{"gateway"}, 403},
		{"no caller (a client reaching the app)", "/internal/purge", nil, 403},
		{"a caller smuggled beside the real one", "/internal/purge", []string{"gateway", "workers"}, 403},
		{"the allowed name twice", "/internal/purge", []string{"workers", "workers"}, 403},
		{"empty caller", "/internal/purge", []string{""}, 403},
		{"a delivery from the sidecar", "/events/order.paid", nil, 200},
		{"an invocation of an event route", "/events/order.paid", []string{"gateway"}, 403},
		{"an invocation naming the app itself", "/events/order.paid", []string{"test"}, 403},
	}
	spellings := []string{"dapr-caller-app-id", "Dapr-Caller-App-Id", "DAPR-CALLER-APP-ID"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, nil)
			for i, v := range tt.callers {
				req.Header[spellings[i]] = append(req.Header[spellings[i]], v)
			}
			r := do(t, s.App(), req)
			assert.Equal(t, tt.status, r.Status, r.Raw)
			if tt.status == 403 {
				assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			}
		})
	}
}
