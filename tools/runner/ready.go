package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

const (
	pollInterval = 100 * time.Millisecond
	probeTimeout = time.Second
)

// newProbeClient returns the HTTP client for readiness probes. Keep-alives
// are off so that no probe connection outlives the poll that made it.
func newProbeClient() *http.Client {
	return &http.Client{
		Timeout:   probeTimeout,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
}

// waitReady polls until both the app's health endpoint and its sidecar's
// /v1.0/healthz answer 2xx, or ctx ends.
func waitReady(ctx context.Context, client *http.Client, a app) error {
	path := a.HealthCheckPath
	if path == "" {
		path = "/healthz"
	}
	pending := []string{
		fmt.Sprintf("http://127.0.0.1:%d%s", a.AppPort, path),
		fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", a.HTTPPort),
	}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		// Once an endpoint has answered it is not probed again.
		for len(pending) > 0 && healthy(ctx, client, pending[0]) {
			pending = pending[1:]
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

func healthy(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
