package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// BenchmarkGetProduct is a bounded load run on GET /api/v1/products/{id}
// through the gateway: 16 clients for 10s, reporting rps, p50 and p99.
// Run it with the cache off (the default), then on (CACHE_STORE reaches the
// products app through the runner's environment):
//
//	go test -run '^$' -bench GetProduct -benchtime 1x ./e2e
//	CACHE_STORE=cache go test -run '^$' -bench GetProduct -benchtime 1x ./e2e
func BenchmarkGetProduct(b *testing.B) {
	const (
		clients  = 16
		duration = 10 * time.Second
	)
	admin := "Bearer " + token(b, uuid.New(), authn.RoleAdmin)
	sku := "LOAD-" + uuid.NewString()[:8]
	req, err := http.NewRequest(http.MethodPost, gatewayURL+"/api/v1/products",
		strings.NewReader(`{"sku": "`+sku+`", "name": "Load Test Mug", "price_cents": 1000, "initial_stock": 5}`))
	require.NoError(b, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", admin)
	resp, err := client.Do(req)
	require.NoError(b, err)
	var p struct{ ID string }
	require.NoError(b, json.NewDecoder(resp.Body).Decode(&p))
	resp.Body.Close()
	require.Equal(b, http.StatusCreated, resp.StatusCode)
	url := gatewayURL + "/api/v1/products/" + p.ID
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	hc := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	for b.Loop() {
		took, failed := loadRun(clients, duration, func() (time.Duration, bool) {
			start := time.Now()
			r, err := hc.Get(url)
			if err != nil {
				return time.Since(start), false
			}
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			return time.Since(start), r.StatusCode == http.StatusOK
		})
		b.ReportMetric(float64(len(took))/duration.Seconds(), "rps")
		reportLatencies(b, "GET product", took)
		b.ReportMetric(float64(failed), "errors")
		b.Logf("cache=%q requests=%d", os.Getenv("CACHE_STORE"), len(took))
	}
}
