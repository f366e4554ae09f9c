// Command runner starts the apps of a Dapr Multi-App Run file (dapr.yaml),
// each with its daprd sidecar, the way `dapr run -f dapr.yaml` does. It exists
// for machines without the Dapr CLI: it only needs a daprd binary.
//
// Usage:
//
//	runner [-f dapr.yaml] [-daprd path] [-swap-resources FROM=TO]... [-ready-timeout 120s] [-stop-timeout 10s]
//	       [-sentry path -sentry-config file -sentry-credentials dir [-access-config dir]]
//	       [-replicas APP=N[,APP=N...]]
//	runner status [-f dapr.yaml] [-replicas APP=N[,APP=N...]] [-pubsub redis] [addresses...]
//	runner prometheus [-f dapr.yaml] [-replicas APP=N[,APP=N...]] -o OUT IN
//
// status probes the system a runner started (make status): each
// instance's /readyz and its sidecar's /v1.0/healthz, the dependencies and
// the dev servers, and prints the UIs' URLs; it exits 1 if any is down.
//
// prometheus writes the Prometheus config IN to OUT for the instances the
// runner starts (make run): each target labelled app=X is followed by X's
// further instances, labelled like it, and rule files are found from OUT.
//
// -replicas starts N instances of an app, all under its app id, so that
// name resolution spreads its calls over them: the n-th listens on every
// port of the app's entry plus (n-1)*10. The run file stays one entry per
// app, as the Dapr CLI reads it. A replica is its app and sidecar
// together: when one of them exits, the runner stops the other.
//
// With -sentry it also starts Dapr Sentry and runs every sidecar with mTLS,
// which the Dapr CLI 1.14 cannot do in self-hosted mode; -access-config then
// adds each app's access-control Configuration.
//
// Children run in their own process groups, so the runner is Unix-only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "[runner] %v\n", err)
		os.Exit(1)
	}
}
