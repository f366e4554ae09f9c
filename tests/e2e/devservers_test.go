package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// devServer is a dev server the system works with: mailpit (SMTP), the
// SMS/push sink, the Stripe and PayPal emulators, Prometheus and Jaeger.
type devServer struct {
	name  string
	addrs []string // every one listens once it is up
	args  []string
	// bin is the program, looked up in PATH; unset, .bin/<name>.
	bin string
	// prepare, when set, runs in the repository root before the start.
	prepare func(root string) error
	// state is the database a server keeps its data in (relative to the
	// repository root), so that a restart within a run loses none; each
	// run starts without it.
	state string
}

// up reports whether every address of s listens: mailpit opens its SMTP
// port before its API, and tests read mails through the API.
func (s devServer) up() bool {
	for _, addr := range s.addrs {
		if !listening(addr) {
			return false
		}
	}
	return true
}

var devServers = []devServer{
	// Every mail of the run is kept (no limit on their number, on disk), so
	// that tests can count the receipts of all orders, across an SMTP outage.
	// SMTP asks for the email binding's login (make prepare writes it), in
	// clear: on loopback only.
	{name: "mailpit", addrs: []string{"127.0.0.1:1025", "127.0.0.1:8025"}, state: mailpitDB,
		args: []string{"--smtp", "127.0.0.1:1025", "--listen", "127.0.0.1:8025", "--database", mailpitDB, "--max", "0",
			"--smtp-auth-file", ".run/smtp-auth", "--smtp-auth-allow-insecure"}},
	{name: "devsink", addrs: []string{"127.0.0.1:8090"}, args: []string{"-addr", "127.0.0.1:8090"}},
	// The stripe HTTPEndpoint's baseUrl; webhooks go to the gateway. Paths
	// are relative to the repository root.
	{name: "stripelocal", addrs: []string{stripeAddr}, args: []string{"-addr", stripeAddr, "-secrets", ".run/secrets.json",
		"-webhook-url", gatewayURL + "/api/v1/payments/webhooks/stripe"}},
	// The paypal HTTPEndpoint's baseUrl; its CA is the one payments trusts
	// (PAYPAL_CERT_ROOTS in dapr.yaml).
	{name: "paypallocal", addrs: []string{paypalAddr}, args: []string{"-addr", paypalAddr, "-secrets", ".run/secrets.json",
		"-ca", ".run/paypal-ca.pem", "-webhook-url", gatewayURL + "/api/v1/payments/webhooks/paypal"}},
	// As `make run` starts it, on the suite's own config and an empty
	// database: data of an earlier run cannot pass for this one's.
	{name: "prometheus", addrs: []string{prometheusAddr}, bin: "prometheus", prepare: preparePrometheus,
		args: []string{"--config.file=" + prometheusConfig, "--storage.tsdb.path=" + prometheusData,
			"--web.listen-address=" + prometheusAddr}},
	// As `make run` starts it: traces in memory, so each run starts empty;
	// the trace viewer from web/dist-traces.
	{name: "jaeger", addrs: []string{jaegerOTLPAddr, jaegerAddr}, prepare: prepareJaeger,
		args: []string{"--config", "tools/jaeger/config.yaml"}},
}

// prepareJaeger makes sure the trace viewer is built: without the
// directory its config names, Jaeger exits at start and would only be
// found not listening.
func prepareJaeger(root string) error {
	if _, err := os.Stat(filepath.Join(root, "web", "dist-traces", "index.html")); err != nil {
		return fmt.Errorf("the trace viewer Jaeger serves is not built (run `make jaeger`): %w", err)
	}
	return nil
}

const (
	// jaegerOTLPAddr receives every app's and sidecar's spans (OTLP/gRPC);
	// jaegerAddr serves Jaeger's HTTP API and the trace viewer. `make run`
	// uses both too.
	jaegerOTLPAddr = "127.0.0.1:4317"
	jaegerAddr     = "127.0.0.1:16686"
	stripeAddr     = "127.0.0.1:12180"
	paypalAddr     = "127.0.0.1:12181"
	mailpitDB      = ".run/mailpit.db"
)

func listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// startDevServers starts each dev server that is not already listening,
// from .bin/, logging to .run/<name>.log, and waits until it listens. The
// returned stop ends only the ones it started.
func startDevServers(root string) (stop func() error, err error) {
	stop = func() error {
		var errs []error
		for name, cmd := range ownedServers {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				errs = append(errs, err)
				continue
			}
			_ = cmd.Wait() // killed by our signal: its exit status says so
			delete(ownedServers, name)
		}
		return errors.Join(errs...)
	}
	for _, s := range devServers {
		if s.up() {
			continue
		}
		if s.state != "" {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(filepath.Join(root, s.state+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, errors.Join(err, stop())
				}
			}
		}
		cmd, err := launch(root, s)
		if err != nil {
			return nil, errors.Join(err, stop())
		}
		ownedServers[s.name] = cmd
	}
	return stop, nil
}

func launch(root string, s devServer) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(root, ".run", s.name+".log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	if s.prepare != nil {
		if err := s.prepare(root); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", s.name, err)
		}
	}
	bin := s.bin
	if bin == "" {
		bin = filepath.Join(root, ".bin", s.name)
	}
	cmd := exec.Command(bin, s.args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (run `make mailpit jaeger devsink stripelocal paypallocal infra`): %w", s.name, err)
	}
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !s.up() {
		select {
		case <-deadline:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("%s not listening on %v after 20s", s.name, s.addrs)
		case <-tick.C:
		}
	}
	return cmd, nil
}

// ownedServers are the dev servers the suite started, by name (those
// already running are not in it); tests that restart one replace its entry,
// so that the suite stops the process that is running at its end.
var ownedServers = map[string]*exec.Cmd{}
