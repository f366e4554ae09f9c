package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// sentryOptions start Dapr Sentry, the certificate authority of the local
// mesh: with it every sidecar runs with mTLS and an identity
// (spiffe://public/ns/default/<app-id>) that access control can check.
type sentryOptions struct {
	Binary      string // empty: no Sentry, no mTLS
	Config      string // Sentry's Configuration file
	Credentials string // issuer credentials directory, created with new keys when empty
	Port        int
	HealthzPort int
	// AccessConfigDir holds one extra Configuration per app
	// (<dir>/<app-id>.yaml, its accessControl); it needs mTLS, since Dapr
	// identifies callers only by their certificates.
	AccessConfigDir string
}

// mtls is what the sidecars need once Sentry runs.
type mtls struct {
	sentryAddress string
	trustAnchors  string // PEM of the root certificate
	accessDir     string
}

func (o sentryOptions) spec() procSpec {
	return procSpec{
		instance: "sentry", role: roleSentry, dir: filepath.Dir(o.Config), path: o.Binary,
		args: []string{
			"--config", o.Config,
			"--issuer-credentials", o.Credentials,
			// Sentry signs a certificate for any app id asked of it in
			// self-hosted mode: only local processes may reach it.
			"--listen-address", "127.0.0.1", "--port", strconv.Itoa(o.Port),
			"--healthz-listen-address", "127.0.0.1", "--healthz-port", strconv.Itoa(o.HealthzPort),
			"--enable-metrics=false", "--log-level", "warn", "--log-as-json",
		},
		env: os.Environ(), logTo: logToConsole,
	}
}

// waitSentry waits until Sentry answers its health check and has written
// its root certificate, and returns the settings for the sidecars.
func (o sentryOptions) wait(ctx context.Context, exited <-chan *child) (*mtls, error) {
	client := newProbeClient()
	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", o.HealthzPort)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if healthy(ctx, client, healthz) {
			pem, err := os.ReadFile(filepath.Join(o.Credentials, "ca.crt"))
			if err == nil && len(pem) > 0 {
				return &mtls{
					sentryAddress: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)),
					trustAnchors:  string(pem), accessDir: o.AccessConfigDir,
				}, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sentry not ready: %w", ctx.Err())
		case c := <-exited:
			return nil, fmt.Errorf("sentry exited during start: %w", c.exitErr())
		case <-ticker.C:
		}
	}
}

// validate checks the options, makes their paths absolute, since Sentry
// runs in its config file's directory, and writes the issuer credentials
// when there are none yet.
func (o *sentryOptions) validate() error {
	for _, p := range []*string{&o.Config, &o.Credentials, &o.AccessConfigDir} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	switch {
	case o.Binary == "" && o.AccessConfigDir != "":
		return errors.New("-access-config needs -sentry: without mTLS Dapr cannot tell callers apart, and default-deny policies would refuse every call")
	case o.Binary == "":
		return nil
	case o.Config == "" || o.Credentials == "":
		return errors.New("-sentry needs -sentry-config and -sentry-credentials")
	}
	if _, err := os.Stat(o.Config); err != nil {
		return fmt.Errorf("sentry config: %w", err)
	}
	if o.AccessConfigDir != "" {
		if info, err := os.Stat(o.AccessConfigDir); err != nil || !info.IsDir() {
			return fmt.Errorf("access config directory %s: not a directory (%v)", o.AccessConfigDir, err)
		}
	}
	if err := os.MkdirAll(o.Credentials, 0o700); err != nil {
		return err
	}
	return writeIssuerCredentials(o.Credentials, time.Now())
}

// ports are the ports Sentry listens on, by what they serve; none without
// Sentry.
func (o sentryOptions) ports() map[int]string {
	if o.Binary == "" {
		return nil
	}
	return map[int]string{o.Port: "Sentry's gRPC", o.HealthzPort: "Sentry's health"}
}
