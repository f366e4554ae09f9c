package e2e

import (
	"bytes"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkLogin measures logins through the gateway (gateway, two
// sidecars, auth, one argon2id verification, Postgres) with parallel
// clients: run it alone, with the gateway's rate limits off (they would
// answer 429 long before auth is busy), from tests/:
// `RATE_LIMITS=off go test -run '^$' -bench BenchmarkLogin -benchtime 400x -cpu 1,2,8 ./e2e`.
// It reports p50/p99 latency and requests per second.
func BenchmarkLogin(b *testing.B) {
	email := uniqueEmail("bench")
	body := []byte(`{"email":"` + email + `","password":"` + authPassword + `","name":"Bench"}`)
	resp, err := client.Post(gatewayURL+"/api/v1/auth/register", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("register: %v %v", err, resp)
	}
	resp.Body.Close()
	creds := []byte(`{"email":"` + email + `","password":"` + authPassword + `"}`)

	var mu sync.Mutex
	var latencies []time.Duration
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Post(gatewayURL+"/api/v1/auth/login", "application/json", bytes.NewReader(creds))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("login: status %d", resp.StatusCode)
				return
			}
			mu.Lock()
			latencies = append(latencies, time.Since(t0))
			mu.Unlock()
		}
	})
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "logins/s")
}
