package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

func (f fixture) send(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestPutPreferences(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	token := f.issuer.Token(t, user.String())
	const path = "/api/v1/notifications/preferences"

	status, body := f.send(t, http.MethodPut, path, token, `{"email": false, "sms": true, "push": false}`)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.JSONEq(t, `{"email": false, "sms": true, "push": false}`, string(body))
	var got map[string]bool
	f.get(t, path, token, &got)
	assert.Equal(t, map[string]bool{"email": false, "sms": true, "push": false}, got)

	tests := map[string]struct {
		body   string
		status int
	}{
		"missing field": {`{"email": true, "sms": true}`, http.StatusUnprocessableEntity},
		"not json":      {`{email`, http.StatusBadRequest},
		"wrong type":    {`{"email": "yes", "sms": true, "push": true}`, http.StatusBadRequest},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := f.send(t, http.MethodPut, path, token, tt.body)
			assert.Equal(t, tt.status, status, string(body))
		})
	}
	f.get(t, path, token, &got)
	assert.Equal(t, map[string]bool{"email": false, "sms": true, "push": false}, got, "bad input changed nothing")
}

func TestTemplatesAreForAdmins(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
	customer := f.issuer.Token(t, uuid.NewString())
	const path = "/api/v1/admin/notification-templates/order_paid"

	status, _ := f.send(t, http.MethodGet, path, customer, "")
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = f.send(t, http.MethodPut, path, customer, `{"subject": "s", "body": "b"}`)
	assert.Equal(t, http.StatusForbidden, status)

	status, body := f.send(t, http.MethodGet, path, admin, "")
	require.Equal(t, http.StatusOK, status, string(body))
	var seeded map[string]string
	require.NoError(t, json.Unmarshal(body, &seeded))
	assert.Equal(t, "order_paid", seeded["name"])
	assert.Contains(t, seeded["body"], "{{.InvoiceNumber}}")

	status, _ = f.send(t, http.MethodGet, "/api/v1/admin/notification-templates/nope", admin, "")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestPutTemplate(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), authn.RoleSuperAdmin)
	const path = "/api/v1/admin/notification-templates/welcome"
	_, before := f.send(t, http.MethodGet, path, admin, "")

	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"does not parse", `{"subject": "Hi", "body": "<p>{{.Name</p>"}`, http.StatusUnprocessableEntity},
		{"unknown field", `{"subject": "Hi {{.Surname}}", "body": "<p>x</p>"}`, http.StatusUnprocessableEntity},
		{"no body", `{"subject": "Hi"}`, http.StatusUnprocessableEntity},
		{"malformed", `{"subject": `, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.send(t, http.MethodPut, path, admin, tt.body)
			assert.Equal(t, tt.status, status, string(body))
			_, now := f.send(t, http.MethodGet, path, admin, "")
			assert.JSONEq(t, string(before), string(now), "the stored template stays")
		})
	}

	status, body := f.send(t, http.MethodPut, path, admin, `{"subject": "Hello {{.Name}}", "body": "<b>{{.Name}}</b>", "text": "Yo {{.Name}}"}`)
	require.Equal(t, http.StatusOK, status, string(body))
	var saved map[string]string
	require.NoError(t, json.Unmarshal(body, &saved))
	assert.Equal(t, "<b>{{.Name}}</b>", saved["body"])
	var stored string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT text FROM templates WHERE name = 'welcome'`).Scan(&stored))
	assert.Equal(t, "Yo {{.Name}}", stored)

	status, _ = f.send(t, http.MethodPut, "/api/v1/admin/notification-templates/nope", admin, `{"subject": "s", "body": "b"}`)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestDeadLettersAreForAdmins(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	f.insertDelivery(t, user, "email", "sent", 1)
	_, err := f.pool.Exec(context.Background(), `INSERT INTO deliveries
		(id, user_id, channel, template, recipient, status, error, attempts, event_id)
		VALUES ($1, $2, 'email', 'order_paid', 'a@example.com', 'failed', 'smtp down', 8, 'evt-dead')`, uuid.New(), user)
	require.NoError(t, err)
	const path = "/api/v1/notifications/dead-letters"

	status, _ := f.send(t, http.MethodGet, path, f.issuer.Token(t, user.String()), "")
	assert.Equal(t, http.StatusForbidden, status)
	var page deliveryPage
	resp := f.get(t, path, f.issuer.Token(t, uuid.NewString(), authn.RoleAdmin), &page)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, page.Total)
	assert.Equal(t, "evt-dead", page.Items[0]["event_id"])
	assert.Equal(t, "smtp down", page.Items[0]["last_error"])
	assert.Equal(t, float64(8), page.Items[0]["attempts"])
}
