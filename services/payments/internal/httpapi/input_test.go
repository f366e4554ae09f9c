package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/server"
)

// Whatever a client sends gets a problem+json answer below 500 that does
// not echo it, and changes nothing.
func TestHostileInputIsRefusedCleanly(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	user := f.issuer.Token(t, uuid.NewString())
	_, payment := f.paidOrder(t)
	refunds := "/api/v1/payments/" + payment.String() + "/refunds"
	const marker = "<script>x</script>"
	keyed := http.Header{server.HeaderIdempotencyKey: {"hostile"}}
	cards := f.count(t, `SELECT count(*) FROM payment_methods`)

	tests := []struct {
		name, method, path, token string
		header                    http.Header
		contentType, body         string
		want                      int
	}{
		{"amount beyond int64", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": 1e30}`, http.StatusBadRequest},
		{"amount far beyond int64", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": 99999999999999999999999999}`, http.StatusBadRequest},
		{"the largest int64 amount", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": 9223372036854775807}`, http.StatusConflict},
		{"negative amount", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": -9223372036854775808}`, http.StatusUnprocessableEntity},
		{"float amount", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": 10.5}`, http.StatusBadRequest},
		{"string amount", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": "` + marker + `"}`, http.StatusBadRequest},
		{"Unicode digits", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": ١٠٠}`, http.StatusBadRequest},
		{"malformed JSON", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{"amount_cents": ` + marker, http.StatusBadRequest},
		{"two JSON values", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `{} {"x": "` + marker + `"}`, http.StatusBadRequest},
		{"an array", http.MethodPost, refunds, admin, keyed, fiber.MIMEApplicationJSON, `["` + marker + `"]`, http.StatusBadRequest},
		{"not JSON", http.MethodPost, refunds, admin, keyed, "text/plain", marker, http.StatusUnsupportedMediaType},
		{"payment id not a UUID", http.MethodPost, "/api/v1/payments/" + "%27%20OR%201=1/refunds", admin, keyed, "", "", http.StatusNotFound},
		{"order_id not a UUID", http.MethodGet, "/api/v1/payments?order_id=" + "%3Cscript%3E", user, nil, "", "", http.StatusUnprocessableEntity},
		{"order_id missing", http.MethodGet, "/api/v1/payments", user, nil, "", "", http.StatusUnprocessableEntity},
		{"order_id twice", http.MethodGet, "/api/v1/payments?order_id=x&order_id=" + uuid.NewString(), user, nil, "", "", http.StatusUnprocessableEntity},
		{"invoices order_id not a UUID", http.MethodGet, "/api/v1/invoices?order_id=%F0%9F%92%A5", user, nil, "", "", http.StatusUnprocessableEntity},
		{"invoice id not a UUID", http.MethodGet, "/api/v1/invoices/..%2F..%2Fetc", user, nil, "", "", http.StatusNotFound},
		{"card id not a UUID", http.MethodDelete, "/api/v1/payment-methods/%00", user, nil, "", "", http.StatusNotFound},
		{"card token a number", http.MethodPost, "/api/v1/payment-methods", user, nil, fiber.MIMEApplicationJSON, `{"payment_method": 1e30}`, http.StatusBadRequest},
		{"card token not one of ours", http.MethodPost, "/api/v1/payment-methods", user, nil, fiber.MIMEApplicationJSON, `{"payment_method": "` + marker + `"}`, http.StatusUnprocessableEntity},
		{"webhook unsigned", http.MethodPost, "/api/v1/payments/webhooks/stripe", "", nil, fiber.MIMEApplicationJSON, `{"id": "` + marker + `"}`, http.StatusBadRequest},
		{"PayPal webhook unsigned", http.MethodPost, "/api/v1/payments/webhooks/paypal", "", nil, fiber.MIMEApplicationJSON, `{"id": "` + marker + `"}`, http.StatusBadRequest},
		{"PayPal webhook with a certificate off PayPal's host", http.MethodPost, "/api/v1/payments/webhooks/paypal", "", paypalHeaders(time.Now(), "https://evil.test/v1/notifications/certs/CERT-1"),
			fiber.MIMEApplicationJSON, `{"id": "` + marker + `"}`, http.StatusBadRequest},
		{"PayPal webhook transmitted an hour ago", http.MethodPost, "/api/v1/payments/webhooks/paypal", "", paypalHeaders(time.Now().Add(-time.Hour), "https://api.paypal.com/v1/notifications/certs/CERT-1"),
			fiber.MIMEApplicationJSON, `{"id": "` + marker + `"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.send(t, tt.method, tt.path, tt.token, tt.header, tt.contentType, tt.body)
			assert.Equal(t, tt.want, resp.StatusCode, string(body))
			assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
			assert.NotContains(t, string(body), "script", "the input is not echoed")
			assert.NotContains(t, string(body), "١٠٠")
		})
	}
	assert.Zero(t, f.refunded(t, payment), "nothing refunded")
	assert.Zero(t, f.count(t, `SELECT count(*) FROM refunds`))
	assert.Equal(t, cards, f.count(t, `SELECT count(*) FROM payment_methods`))
	assert.Empty(t, f.provider.Refunds())
}

// paypalHeaders are PayPal's transmission headers, signed with nothing.
func paypalHeaders(at time.Time, certURL string) http.Header {
	return http.Header{
		"Paypal-Transmission-Id": {uuid.NewString()}, "Paypal-Transmission-Time": {at.UTC().Format(time.RFC3339)},
		"Paypal-Transmission-Sig": {"c2lnbmVk"}, "Paypal-Cert-Url": {certURL}, "Paypal-Auth-Algo": {"SHA256withRSA"},
	}
}
