package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSinkRecordsAndLists(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(newSink(func() time.Time { return at }).routes())
	t.Cleanup(srv.Close)

	post := func(path, ctype, body string) {
		resp, err := http.Post(srv.URL+path, ctype, strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	post("/sms", "application/json", `{"to": "u1", "text": "hi"}`)
	post("/push", "text/plain", `plain words`)

	list := func(query string) []message {
		resp, err := http.Get(srv.URL + "/messages" + query)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out []message
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{`{"to":"u1","text":"hi"}`, `"plain words"`}},
		{"?path=/sms", []string{`{"to":"u1","text":"hi"}`}},
		{"?path=/push", []string{`"plain words"`}},
		{"?path=/other", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := list(tt.query)
			bodies := make([]string, len(got))
			for i, m := range got {
				bodies[i] = string(m.Body)
				assert.Equal(t, at, m.ReceivedAt)
			}
			assert.Equal(t, tt.want, bodies)
		})
	}

	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/messages", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, list(""))
}
