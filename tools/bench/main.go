// Command bench measures what the shop costs against the least the mesh
// can cost, in one run on one machine: it boots the system as the e2e
// suite does (every app with its sidecar, Sentry, mTLS, access policies),
// starts the floor beside it (a trivial Fiber handler behind two sidecars
// of the same daprd build and name resolver), and loads both with vegeta:
//
//   - floor: GET through the two floor sidecars
//   - product: GET /api/v1/products/{id} through the gateway
//   - list: GET /api/v1/products (the first page) through the gateway
//   - product, uncached and list, uncached: the same with Cache-Control:
//     no-cache, which the gateway's microcache of anonymous catalog reads
//     passes on: every request goes through both sidecars to products
//   - order: GET /api/v1/orders/{id}, authenticated, through the gateway
//   - checkout → paid: POST /api/v1/checkout for customers with a saved
//     card, then the saga until every order is paid; then the same at half
//     the pace reached, with the delay from each event's outbox commit to
//     each consumer
//
// The read loads alternate with the floor in rounds, so each is compared
// with a floor measured minutes apart at most. It prints one table with
// the figures and the ratios to the floor, then the CPU milliseconds each
// process spent per request (from the kernel's accounting,
// /proc/<pid>/stat) and the memory of the apps and sidecars after the
// loads.
//
// Usage (from the repository root, with nothing else on the shop's ports):
//
//	bench [-smoke] [-daprd path] [-sentry path] [-pubsub redis] [-state redis]
//	      [-duration 8s] [-rounds 2] [-workers 32] [-checkout-baseline N]
//
// It exits non-zero when a request of a load fails; missed goals are
// reported, not failed on, since absolute figures drift with the machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings are the command line.
type settings struct {
	boot             bootOptions
	smoke            bool
	duration         time.Duration
	rounds           int
	workers          int
	checkoutWorkers  int
	checkoutDuration time.Duration
	carts            int
	checkoutBaseline float64
	profileDir       string
}

func parse(args []string, stdout io.Writer, getenv func(string) string) (settings, string, error) {
	home := getenv("HOME")
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var s settings
	fs.StringVar(&s.boot.daprd, "daprd", filepath.Join(home, ".dapr", "bin", "daprd"), "daprd `binary` of the shop and the floor")
	fs.StringVar(&s.boot.sentry, "sentry", filepath.Join(home, ".dapr", "bin", "sentry"), "Dapr Sentry `binary`")
	fs.StringVar(&s.boot.pubsub, "pubsub", "redis", "pub/sub `backend` (a directory of components/pubsub)")
	fs.StringVar(&s.boot.state, "state", "redis", "state store `backend` (a directory of components/state)")
	fs.BoolVar(&s.smoke, "smoke", false, "a short run that proves the bench works (about 30 s of load): one round, 2 s per read load, 30 checkouts")
	fs.DurationVar(&s.duration, "duration", 8*time.Second, "length of each read load")
	fs.IntVar(&s.rounds, "rounds", 2, "how many times the read loads alternate with the floor")
	fs.IntVar(&s.workers, "workers", 32, "concurrent clients of the read loads")
	fs.IntVar(&s.checkoutWorkers, "checkout-workers", 16, "concurrent customers checking out")
	fs.DurationVar(&s.checkoutDuration, "checkout-duration", 10*time.Second, "longest checkout load")
	fs.IntVar(&s.carts, "carts", 1500, "carts prepared for the checkout load (its upper bound)")
	fs.Float64Var(&s.checkoutBaseline, "checkout-baseline", 0, "paid orders per second of a baseline run, for the 3× goal (0: compare with 80/s)")
	fs.StringVar(&s.profileDir, "profile", "", "write CPU profiles of every app and sidecar during each load into `directory` (the apps serve pprof: PPROF_ADDR; the sidecars daprd's profiler: runner -profile-sidecars)")
	floorApp := fs.String("floor-app", "", "serve the floor's app on `address` (the bench starts it itself)")
	if err := fs.Parse(args); err != nil {
		return s, "", err
	}
	if s.smoke {
		s.rounds, s.duration, s.carts, s.checkoutDuration = 1, 2*time.Second, 30, 5*time.Second
	}
	return s, *floorApp, nil
}

func run(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	s, floorApp, err := parse(args, stdout, getenv)
	if err != nil {
		return err
	}
	if floorApp != "" {
		return serveFloorApp(ctx, floorApp, getenv("APP_API_TOKEN"))
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	started := time.Now()
	fmt.Fprintln(stdout, "booting the shop and the floor…")
	if s.profileDir != "" {
		s.boot.env = append(s.boot.env, "PPROF_ADDR=127.0.0.1:0")
		s.boot.profileSidecars = true
	}
	sys, err := boot(root, s.boot)
	if err != nil {
		return err
	}
	defer func() {
		if err := sys.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stopping the shop:", err)
		}
	}()
	fl, err := startFloor(sys, s.boot.daprd, s.profileDir != "")
	if err != nil {
		return err
	}
	defer func() {
		if err := fl.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stopping the floor:", err)
		}
	}()
	sh, err := newShop(sys.secrets)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready in %s; preparing %d carts…\n", time.Since(started).Round(time.Second), s.carts)
	fx, err := sh.prepare(20, s.carts)
	if err != nil {
		return err
	}
	var prof *profiler
	if s.profileDir != "" {
		if err := os.MkdirAll(s.profileDir, 0o755); err != nil {
			return err
		}
		addrs, err := profileAddrs(filepath.Join(root, ".run", "bench.log"))
		if err != nil {
			return err
		}
		maps.Copy(addrs, floorProfileAddrs())
		fmt.Fprintf(stdout, "profiling %d apps and sidecars, the floor's included, into %s\n", len(addrs), s.profileDir)
		prof = &profiler{dir: s.profileDir, addrs: addrs}
	}
	rep := measure(ctx, s, sys, fl, sh, fx, prof, stdout)
	rep.print(stdout, s)
	return rep.err()
}
