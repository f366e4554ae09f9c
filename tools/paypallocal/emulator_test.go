package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name  string
		in    money
		cents int64
		issue string
	}{
		{"two decimals", money{"EUR", "12.34"}, 1234, ""},
		{"one decimal", money{"USD", "12.5"}, 1250, ""},
		{"no decimals", money{"USD", "12"}, 1200, ""},
		{"yen without decimals", money{"JPY", "500"}, 500, ""},
		{"yen with decimals", money{"JPY", "500.00"}, 0, "DECIMAL_PRECISION"},
		{"three decimals", money{"EUR", "1.234"}, 0, "DECIMAL_PRECISION"},
		{"zero", money{"EUR", "0.00"}, 0, "INVALID_PARAMETER_VALUE"},
		{"negative", money{"EUR", "-1.00"}, 0, "INVALID_PARAMETER_VALUE"},
		{"not a number", money{"EUR", "1e3"}, 0, "INVALID_PARAMETER_VALUE"},
		{"lowercase currency", money{"eur", "1.00"}, 0, "INVALID_CURRENCY_CODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cents, issue := parseAmount(tt.in)
			assert.Equal(t, tt.cents, cents)
			assert.Equal(t, tt.issue, issue)
			if issue == "" {
				again, _ := parseAmount(formatAmount(cents, tt.in.CurrencyCode))
				assert.Equal(t, cents, again, "formatAmount writes what parseAmount reads")
			}
		})
	}
}

// TestRequestIDAnswersTheFirstOrderAgain: a retried create under the same
// PayPal-Request-Id is the same order; an unauthenticated call is 401.
func TestRequestIDAnswersTheFirstOrderAgain(t *testing.T) {
	s, err := loadSigner(filepath.Join(t.TempDir(), "ca.pem"))
	require.NoError(t, err)
	em := newEmulator(options{ClientID: "id", ClientSecret: "secret", WebhookID: "WH-1", BaseURL: "http://paypal.test", Signer: s})
	t.Cleanup(em.Close)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.SetBasicAuth("id", "secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	do(t, req, http.StatusOK, &tok)

	create := func(requestID string, want int) map[string]any {
		body := `{"intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "EUR", "value": "10.00"}}]}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/checkout/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("PayPal-Request-Id", requestID)
		var out map[string]any
		do(t, req, want, &out)
		return out
	}
	first, again, other := create("a", http.StatusCreated), create("a", http.StatusCreated), create("b", http.StatusCreated)
	assert.Equal(t, first["id"], again["id"], "the same request id answers the same order")
	assert.NotEqual(t, first["id"], other["id"], "another request id is another order")
	tok.AccessToken = "forged"
	create("c", http.StatusUnauthorized)
}

func do(t *testing.T, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, want, resp.StatusCode, "%s %s", req.Method, req.URL.Path)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}
