// Package service wires what every service starts with, in order: config,
// logger, its own database (created and migrated), its sidecar, the HTTP
// server, the token verifier for services with protected routes and the
// outbox relay for services that produce events. A service's main declares
// a Program: that Spec and the wiring of its own parts.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/logging"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/sidecar"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// Spec describes a service.
type Spec struct {
	Name string
	Port int
	// Database names the service's database when it differs from Name.
	Database string
	// Migrations are the service's goose files; nil for a service without
	// a database.
	Migrations fs.FS
	// Public marks the edge (see server.Options.Public); its metrics are on
	// MetricsPort (APP_METRICS_PORT overrides it).
	Public      bool
	MetricsPort int
	// StreamRequestBody and BodyLimit: see server.Options.
	StreamRequestBody bool
	BodyLimit         int
	// Outbox runs the outbox relay beside the server: set it for services
	// that produce events with outbox.Add.
	Outbox bool
}

// Service holds a started service's dependencies. Close releases them.
type Service struct {
	Config   config.Base
	Log      *slog.Logger
	DB       *pgxpool.Pool // nil without migrations
	Sidecar  *sidecar.Sidecar
	Server   *server.Server
	Verifier *authn.Verifier
	Relay    *outbox.Relay // nil unless Spec.Outbox
	// DeadLetters are the dead letters of the service's subscriptions;
	// nil until Subscribe.
	DeadLetters *deadletter.Letters
	owned       []io.Closer
	flushLog    func() error
	// stopTracing exports the spans still queued.
	stopTracing func(context.Context) error
}

// Program is a service's main: the dependencies it starts with (Spec) and
// what it builds on them (Wire), with its own settings S, read by
// config.Parse before anything is opened.
type Program[S any] struct {
	Spec Spec
	// Wire builds the service's own parts on svc and mounts their routes;
	// the service serves once it returns. What it opens beyond svc, it
	// hands to svc.Own.
	Wire func(ctx context.Context, svc *Service, settings S) error
}

// Main runs p until SIGINT or SIGTERM with the process's environment,
// logging to stdout; a run that fails is logged and exits with status 1.
func (p Program[S]) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

// Run reads the service's settings, starts it, wires it and serves until
// ctx ends (see Service.Run); then it closes what it opened. A malformed
// setting fails it before anything is opened.
func (p Program[S]) Run(ctx context.Context, getenv config.Getenv, logOut io.Writer) error {
	var settings S
	if err := config.Parse(getenv, &settings); err != nil {
		return err
	}
	svc, err := Start(ctx, p.Spec, getenv, logOut)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := p.Wire(ctx, svc, settings); err != nil {
		return err
	}
	return svc.Run(ctx)
}

// Start reads the base settings and opens the service's dependencies.
func Start(ctx context.Context, spec Spec, getenv config.Getenv, logOut io.Writer) (*Service, error) {
	cfg, err := config.Load(getenv, config.Defaults{Service: spec.Name, Database: spec.Database, Port: spec.Port, MetricsPort: spec.MetricsPort})
	if err != nil {
		return nil, err
	}
	s := &Service{Config: cfg}
	// Held up to 50 ms and written in one go: a line per request, written
	// one by one, cost a system call each (warnings and errors go at once).
	s.Log, s.flushLog = logging.NewWithBuffer(logOut, spec.Name, cfg.LogLevel, 50*time.Millisecond)
	if s.stopTracing, err = telemetry.Setup(telemetry.Options{Service: spec.Name, Endpoint: cfg.TraceEndpoint, Sampling: cfg.TraceSampling}); err != nil {
		return nil, err
	}
	if s.Sidecar, err = sidecar.New(cfg); err != nil {
		return nil, err
	}
	checks := map[string]server.Check{"dapr": s.Sidecar.Healthy}
	if spec.Migrations != nil {
		if s.DB, err = postgres.Open(ctx, cfg.DatabaseURL, spec.Migrations); err != nil {
			s.Close()
			return nil, err
		}
		checks["postgres"] = s.DB.Ping
	}
	s.Server = server.New(server.Options{
		Config: cfg, Logger: s.Log, Checks: checks, Public: spec.Public, StreamRequestBody: spec.StreamRequestBody, BodyLimit: spec.BodyLimit,
		MetricsPort: cfg.MetricsPort,
	})
	s.Verifier = authn.NewVerifier(s.fetchSigningKeys, time.Now)
	// The edge's sidecar may only invoke (its Configuration allows no state
	// API, and the denylist is not scoped to it): the services behind it
	// check revocations on every request, each token's answer kept for at
	// most DenylistCacheTTL.
	if !spec.Public {
		s.Verifier = s.Verifier.WithDenylist(authn.CacheDenylist(s.Sidecar.Denylist(cfg.DenylistStore), cfg.DenylistCacheTTL, time.Now))
	}
	if spec.Outbox {
		if s.DB == nil {
			s.Close()
			return nil, errors.New("the outbox relay needs the service's database: set Spec.Migrations")
		}
		s.Relay = outbox.NewRelay(s.DB, s.Sidecar, s.Log, outbox.Options{Source: cfg.Service, Topics: contracts.Published[spec.Name]})
		if err := s.Server.Metrics().Registry.Register(s.Relay); err != nil {
			s.Close()
			return nil, fmt.Errorf("register outbox metrics: %w", err)
		}
	}
	return s, nil
}

// fetchSigningKeys asks the auth service, through the sidecar, for its
// public keys.
func (s *Service) fetchSigningKeys(ctx context.Context) ([]byte, error) {
	return s.Sidecar.InvokeMethod(ctx, "auth", ".well-known/jwks.json", "get")
}

// Run serves, and relays the outbox when the service has one, until ctx
// ends; then it drains the server and stops the relay. It returns once
// both have stopped. A relay that cannot run (no outbox table) stops the
// server too, and its error is returned.
func (s *Service) Run(ctx context.Context) error {
	if s.Relay == nil {
		return s.Server.Run(ctx)
	}
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	// The relay outlives the drain: requests finishing during it may still
	// commit events.
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	relayDone := make(chan error, 1)
	go func() {
		err := s.Relay.Run(relayCtx)
		if err != nil {
			stopServing()
		}
		relayDone <- err
	}()
	serveErr := s.Server.Run(serveCtx)
	stopRelay()
	return errors.Join(serveErr, <-relayDone)
}

// Own hands c to the service: Close closes it, before what Start opened.
func (s *Service) Own(c io.Closer) { s.owned = append(s.owned, c) }

// Close releases what the service owns, then the sidecar client and the
// database pool, in reverse order of start.
func (s *Service) Close() {
	for i := len(s.owned) - 1; i >= 0; i-- {
		if err := s.owned[i].Close(); err != nil {
			s.Log.Warn("close", "err", err)
		}
	}
	if s.DB != nil {
		s.DB.Close()
	}
	if s.Sidecar != nil {
		s.Sidecar.Close()
	}
	if s.stopTracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.stopTracing(ctx); err != nil {
			s.Log.Warn("export the last spans", "err", err)
		}
		cancel()
	}
	_ = s.flushLog() // nowhere left to report a failing log output
}

// WaitFor retries op until it succeeds or ctx ends: settings read from the
// sidecar at start (secrets) wait for it to come up, since app and sidecar
// start together.
func WaitFor(ctx context.Context, what string, op func(ctx context.Context) error) error {
	const maxWait = 60 * time.Second
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, errors.Join(err, ctx.Err()))
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}
