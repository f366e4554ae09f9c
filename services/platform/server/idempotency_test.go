package server_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/server"
)

func TestRequestHash(t *testing.T) {
	type request struct {
		AmountCents int    `json:"amount_cents"`
		Reason      string `json:"reason"`
	}
	hash := func(body string) string {
		t.Helper()
		var in request
		require.NoError(t, json.Unmarshal([]byte(body), &in))
		h, err := server.RequestHash(in)
		require.NoError(t, err)
		return h
	}

	first := hash(`{"amount_cents": 500, "reason": "damaged"}`)
	assert.Equal(t, "60e76ac831a48b8d274e0b0d8489748fc48a83cbe5cef87a98f8a5ef93c311e9", first,
		"the SHA-256 of the encoded request: hashes stored with earlier answers still match")
	assert.Equal(t, first, hash(`{ "reason":"damaged",
		"amount_cents":500 }`), "spacing and field order do not count")
	assert.NotEqual(t, first, hash(`{"amount_cents": 501, "reason": "damaged"}`))
}
