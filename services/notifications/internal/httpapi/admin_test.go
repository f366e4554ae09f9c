package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

func TestPutPreferences(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	token := f.Issuer.Token(t, user.String())
	const path = "/api/v1/notifications/preferences"

	r := f.Send(t, http.MethodPut, path, token, `{"email": false, "sms": true, "push": false}`)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.JSONEq(t, `{"email": false, "sms": true, "push": false}`, string(r.Body))
	var got map[string]bool
	f.Get(t, path, token).JSON(t, &got)
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
			r := f.Send(t, http.MethodPut, path, token, tt.body)
			assert.Equal(t, tt.status, r.Status, string(r.Body))
		})
	}
	f.Get(t, path, token).JSON(t, &got)
	assert.Equal(t, map[string]bool{"email": false, "sms": true, "push": false}, got, "bad input changed nothing")
}

func TestTemplatesAreForAdmins(t *testing.T) {
	f := newFixture(t)
	admin := f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
	customer := f.Issuer.Token(t, uuid.NewString())
	const path = "/api/v1/admin/notification-templates/order_paid"

	assert.Equal(t, http.StatusForbidden, f.Get(t, path, customer).Status)
	assert.Equal(t, http.StatusForbidden, f.Send(t, http.MethodPut, path, customer, `{"subject": "s", "body": "b"}`).Status)

	r := f.Get(t, path, admin)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var seeded map[string]string
	r.JSON(t, &seeded)
	assert.Equal(t, "order_paid", seeded["name"])
	assert.Contains(t, seeded["body"], "{{.InvoiceNumber}}")

	assert.Equal(t, http.StatusNotFound, f.Get(t, "/api/v1/admin/notification-templates/nope", admin).Status)
}

func TestPutTemplate(t *testing.T) {
	f := newFixture(t)
	admin := f.Issuer.Token(t, uuid.NewString(), authn.RoleSuperAdmin)
	const path = "/api/v1/admin/notification-templates/welcome"
	before := f.Get(t, path, admin).Body

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
			r := f.Send(t, http.MethodPut, path, admin, tt.body)
			assert.Equal(t, tt.status, r.Status, string(r.Body))
			now := f.Get(t, path, admin).Body
			assert.JSONEq(t, string(before), string(now), "the stored template stays")
		})
	}

	r := f.Send(t, http.MethodPut, path, admin, `{"subject": "Hello {{.Name}}", "body": "<b>{{.Name}}</b>", "text": "Yo {{.Name}}"}`)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var saved map[string]string
	r.JSON(t, &saved)
	assert.Equal(t, "<b>{{.Name}}</b>", saved["body"])
	var stored string
	require.NoError(t, f.DB.QueryRow(context.Background(), `SELECT text FROM templates WHERE name = 'welcome'`).Scan(&stored))
	assert.Equal(t, "Yo {{.Name}}", stored)

	assert.Equal(t, http.StatusNotFound, f.Send(t, http.MethodPut, "/api/v1/admin/notification-templates/nope", admin, `{"subject": "s", "body": "b"}`).Status)
}

func TestDeadLettersAreForAdmins(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	f.insertDelivery(t, user, "email", "sent", 1)
	_, err := f.DB.Exec(context.Background(), `INSERT INTO deliveries
		(id, user_id, channel, template, recipient, status, error, attempts, event_id)
		VALUES ($1, $2, 'email', 'order_paid', 'a@example.com', 'failed', 'smtp down', 8, 'evt-dead')`, uuid.New(), user)
	require.NoError(t, err)
	const path = "/api/v1/notifications/dead-letters"

	assert.Equal(t, http.StatusForbidden, f.Get(t, path, f.Issuer.Token(t, user.String())).Status)
	r := f.Get(t, path, f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin))
	require.Equal(t, http.StatusOK, r.Status)
	var page deliveryPage
	r.JSON(t, &page)
	require.Equal(t, 1, page.Total)
	assert.Equal(t, "evt-dead", page.Items[0]["event_id"])
	assert.Equal(t, "smtp down", page.Items[0]["last_error"])
	assert.Equal(t, float64(8), page.Items[0]["attempts"])
}
