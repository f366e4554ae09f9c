package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// run starts every app of the run file with its sidecar and supervises them
// until ctx ends. getenv serves the runner's own settings; children inherit
// the process environment, as they would under the Dapr CLI.
func run(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return runStatus(ctx, args[1:], stdout)
		case "prometheus":
			return runPrometheus(args[1:], stdout)
		}
	}
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.SetOutput(stdout)
	runFilePath := fs.String("f", "dapr.yaml", "Multi-App Run `file` to start")
	daprdFlag := fs.String("daprd", "", "daprd `binary` (default $DAPRD, else $HOME/.dapr/bin/daprd)")
	readyTimeout := fs.Duration("ready-timeout", 120*time.Second, "how long every app may take to become ready")
	stopTimeout := fs.Duration("stop-timeout", 10*time.Second, "how long children may take to stop before they are killed")
	var swaps swapList
	fs.Var(&swaps, "swap-resources", "replace the resources path `FROM=TO` (relative to the run file; repeatable), e.g. to pick a pub/sub backend")
	var sentry sentryOptions
	fs.StringVar(&sentry.Binary, "sentry", "", "Dapr Sentry `binary`: start it first and run every sidecar with mTLS")
	fs.StringVar(&sentry.Config, "sentry-config", "", "Sentry's Configuration `file`")
	fs.StringVar(&sentry.Credentials, "sentry-credentials", "", "`directory` of Sentry's issuer credentials (generated when empty)")
	fs.IntVar(&sentry.Port, "sentry-port", 3800, "Sentry's gRPC `port` on 127.0.0.1")
	fs.IntVar(&sentry.HealthzPort, "sentry-healthz-port", 3801, "Sentry's health `port` on 127.0.0.1")
	fs.StringVar(&sentry.AccessConfigDir, "access-config", "", "`directory` with each app's access-control Configuration (<app-id>.yaml), added after its own; needs -sentry")
	profileSidecars := fs.Bool("profile-sidecars", false, fmt.Sprintf("serve daprd's Go profiler (/debug/pprof/) on every sidecar, on 127.0.0.1 at its HTTP port plus %d", sidecarProfilePortOffset))
	replicas := replicaCounts{}
	fs.Var(replicas, "replicas", "start several instances of these apps, `APP=N[,APP=N...]` (repeatable), each further one on the app's ports plus 10, 20...")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	apps, err := loadRunFile(*runFilePath)
	if err != nil {
		return err
	}
	baseDir, err := runFileDir(*runFilePath)
	if err != nil {
		return err
	}
	if err := applySwaps(apps, baseDir, swaps); err != nil {
		return err
	}
	daprd, err := findDaprd(*daprdFlag, getenv)
	if err != nil {
		return err
	}
	if err := sentry.validate(); err != nil {
		return err
	}
	if sentry.AccessConfigDir != "" {
		for _, a := range apps {
			if _, err := os.Stat(accessConfig(sentry.AccessConfigDir, a.ID)); err != nil {
				return fmt.Errorf("app %q has no access-control Configuration: %w", a.ID, err)
			}
		}
	}
	if *profileSidecars {
		for i := range apps {
			apps[i].ProfilePort = apps[i].HTTPPort + sidecarProfilePortOffset
		}
	}
	instances, err := expandReplicas(apps, replicas, sentry.ports())
	if err != nil {
		return err
	}

	start := time.Now()
	console := &lineSink{w: stdout}
	for _, inst := range instances {
		console.logf("%s", inst.describe())
	}
	// Buffered so that a child's exit never blocks once nobody listens.
	exited := make(chan *child, 2*len(instances)+1)
	var children []*child
	// Every way out of run, a panic included, stops the children: none may
	// outlive the runner.
	defer func() { stopAll(children, *stopTimeout) }()
	var sec *mtls
	if sentry.Binary != "" {
		c, err := startChild(sentry.spec(), console, exited)
		if err != nil {
			return err
		}
		children = append(children, c)
		waitCtx, cancel := context.WithTimeout(ctx, *readyTimeout)
		sec, err = sentry.wait(waitCtx, exited)
		cancel()
		if err != nil {
			return err
		}
	}
	specs := processSpecs(instances, daprd, os.Environ(), start, sec)
	// The first instance starts alone and the others once it is ready:
	// sidecars share state they create on first start (SQLite name
	// resolution's database), and SQLite refuses at once, rather than
	// waits, a second sidecar while the first switches a new database to
	// WAL. A refused sidecar does not stop; it runs on unable to invoke.
	first, others := specs[:2], specs[2:]
	for i, group := range [][]procSpec{first, others} {
		for _, spec := range group {
			c, err := startChild(spec, console, exited)
			if err != nil {
				return err
			}
			children = append(children, c)
		}
		if i == 0 && len(others) > 0 {
			if err := waitAlone(ctx, instances[0], exited, *readyTimeout); err != nil || ctx.Err() != nil {
				return err
			}
		}
	}
	return supervise(ctx, console, instances, children, exited, start, *readyTimeout)
}

// waitAlone waits for the one instance started so far to become ready. It
// returns nil when ctx ends first.
func waitAlone(ctx context.Context, inst app, exited <-chan *child, readyTimeout time.Duration) error {
	waitCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- waitReady(waitCtx, newProbeClient(), inst) }()
	select {
	case err := <-ready:
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("not ready after %s: %s", readyTimeout, inst.Name)
		}
		return nil
	case c := <-exited:
		return fmt.Errorf("app %q (%s) exited during start: %w", c.instance, c.role, c.exitErr())
	}
}

// supervise waits for every instance to become ready, then keeps the
// runner alive while children come and go. It returns nil when ctx ends,
// and an error when start-up fails or no child is left.
func supervise(ctx context.Context, console *lineSink, instances []app, children []*child,
	exited <-chan *child, start time.Time, readyTimeout time.Duration) error {
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	client := newProbeClient()
	readyInstances := make(chan string, len(instances))
	for _, inst := range instances {
		go func() {
			if waitReady(pollCtx, client, inst) == nil {
				readyInstances <- inst.Name
			}
		}()
	}

	pending := make(map[string]bool, len(instances))
	appIDs := make(map[string]bool)
	for _, inst := range instances {
		pending[inst.Name] = true
		appIDs[inst.ID] = true
	}
	running := len(children)
	readyDeadline := time.NewTimer(readyTimeout)
	defer readyDeadline.Stop()

	for {
		select {
		case <-ctx.Done():
			console.logf("stopping")
			return nil
		case name := <-readyInstances:
			delete(pending, name)
			if len(pending) == 0 {
				readyDeadline.Stop()
				took := time.Since(start).Round(time.Millisecond)
				if len(instances) > len(appIDs) {
					console.logf("ready: %d apps in %d instances (%s)", len(appIDs), len(instances), took)
				} else {
					console.logf("ready: %d apps (%s)", len(appIDs), took)
				}
			}
		case <-readyDeadline.C:
			var names []string
			for _, inst := range instances {
				if pending[inst.Name] {
					names = append(names, inst.Name)
				}
			}
			return fmt.Errorf("not ready after %s: %s", readyTimeout, strings.Join(names, ", "))
		case c := <-exited:
			running--
			if len(pending) > 0 {
				return fmt.Errorf("app %q (%s) exited during start: %w", c.instance, c.role, c.exitErr())
			}
			// After start-up an exit is tolerated: operators stop single
			// apps on purpose to exercise fault handling.
			console.logf("app %q (%s) exited: %v", c.instance, c.role, c.exitErr())
			if c.replicated {
				stopInstance(console, children, c.instance)
			}
			if running == 0 {
				return errors.New("all processes have exited")
			}
		}
	}
}

// stopInstance stops what is left of a replica one of whose processes
// exited. Its sidecar would otherwise stay registered with name resolution
// and take its share of the app's calls only to fail them, as nothing
// restarts the app; stopped, it deregisters, and the other replicas serve.
// (A single instance keeps its sidecar, which finds the app again when an
// operator restarts it.)
func stopInstance(console *lineSink, children []*child, instance string) {
	var rest []*child
	for _, c := range children {
		if c.instance == instance && c.running() {
			rest = append(rest, c)
		}
	}
	if len(rest) > 0 {
		console.logf("stopping the rest of replica %q", instance)
		signalRunning(rest, syscall.SIGTERM)
	}
}
