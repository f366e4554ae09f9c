package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// dbPrefix names the databases of a bench run, apart from a developer's
// and the e2e suite's: every run starts from empty ones.
const dbPrefix = "bench_"

const gatewayURL = "http://127.0.0.1:3000"

// system is the running shop: the runner and the dev servers it needs.
type system struct {
	root    string
	env     map[string]string // .run/dev.env: API tokens, name-resolution file
	secrets map[string]string // the dev secret store
	runner  *exec.Cmd
	exited  chan error
	devs    []*exec.Cmd // the dev servers this run started
}

// bootOptions say which binaries and backends the system runs with.
type bootOptions struct {
	daprd, sentry, pubsub, state string
	env                          []string // added to the apps' and sidecars' environment
	profileSidecars              bool     // every sidecar serves daprd's profiler
}

// boot starts the system as `make run` and the e2e suite do (Sentry, mTLS,
// access policies, one instance per app), with empty databases and the
// gateway's rate limits off (every request of a load run comes from one
// address), and returns once the runner reports every app ready.
func boot(root string, o bootOptions) (*system, error) {
	s := &system{root: root, exited: make(chan error, 1)}
	var err error
	if s.env, err = readEnvFile(filepath.Join(root, ".run", "dev.env")); err != nil {
		return nil, fmt.Errorf("%w (run `make prepare` first)", err)
	}
	b, err := os.ReadFile(filepath.Join(root, ".run", "secrets.json"))
	if err != nil {
		return nil, fmt.Errorf("%w (run `make prepare` first)", err)
	}
	if err := json.Unmarshal(b, &s.secrets); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	ports := append([]int{3000, 3001, 3002, 3003, 3004, 3005, 3006, 3500, 3501, 3502, 3503, 3504, 3505, 3506, 3800, 3801}, floorPorts()...)
	if o.profileSidecars {
		for sidecar := 3500; sidecar <= 3506; sidecar++ {
			ports = append(ports, sidecar+profilePortOffset)
		}
	}
	for _, port := range ports {
		if listening(fmt.Sprintf("127.0.0.1:%d", port)) {
			return nil, fmt.Errorf("port %d is in use: stop the running system (make run) first", port)
		}
	}
	if err := resetBackends(); err != nil {
		return nil, err
	}
	if err := s.startDevServers(); err != nil {
		return nil, errors.Join(err, s.stopDevServers())
	}

	args := []string{"-f", filepath.Join(root, "dapr.yaml"), "-daprd", o.daprd,
		"-sentry", o.sentry,
		"-sentry-config", filepath.Join(root, "config", "sentry.yaml"),
		"-sentry-credentials", filepath.Join(root, ".run", "sentry"),
		"-access-config", filepath.Join(root, "config", "access"),
		"-swap-resources", "./components/pubsub/redis=./components/pubsub/" + o.pubsub,
		"-swap-resources", "./components/state/redis=./components/state/" + o.state,
	}
	if o.profileSidecars {
		args = append(args, "-profile-sidecars")
	}
	s.runner = exec.Command(filepath.Join(root, ".bin", "runner"), args...)
	s.runner.Dir = root
	s.runner.Env = append(append(os.Environ(), "DATABASE_NAME_PREFIX="+dbPrefix, "RATE_LIMITS=off"), o.env...)
	for k, v := range s.env {
		s.runner.Env = append(s.runner.Env, k+"="+v)
	}
	// The runner writes straight to the log file: copying its output here
	// would add this process's CPU to every log line the shop writes.
	logPath := filepath.Join(root, ".run", "bench.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, errors.Join(err, s.stopDevServers())
	}
	defer logFile.Close()
	s.runner.Stdout, s.runner.Stderr = logFile, logFile
	if err := s.runner.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("start runner (run `make build`): %w", err), s.stopDevServers())
	}
	go func() { s.exited <- s.runner.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		if b, err := os.ReadFile(logPath); err == nil && strings.Contains(string(b), "\n[runner] ready:") {
			return s, nil
		}
		select {
		case err := <-s.exited:
			return nil, errors.Join(fmt.Errorf("runner exited before ready: %v\n%s", err, tail(logPath, 40)), s.stopDevServers())
		case <-deadline:
			_ = s.runner.Process.Signal(syscall.SIGTERM)
			<-s.exited
			return nil, errors.Join(fmt.Errorf("not ready after 3 minutes\n%s", tail(logPath, 40)), s.stopDevServers())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop ends the runner (which stops every app and sidecar) and the dev
// servers this run started.
func (s *system) stop() error {
	err := s.runner.Process.Signal(syscall.SIGTERM)
	if err == nil {
		select {
		case err = <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.runner.Process.Kill()
			err = errors.New("runner did not stop within 30s")
		}
	}
	return errors.Join(err, s.stopDevServers())
}

// devServer is a dev stand-in the system talks to.
type devServer struct {
	name  string
	addrs []string // every one listens once it is up
	args  []string
}

var devServers = []devServer{
	{"mailpit", []string{"127.0.0.1:1025", "127.0.0.1:8025"}, []string{"--smtp", "127.0.0.1:1025", "--listen", "127.0.0.1:8025",
		"--smtp-auth-file", ".run/smtp-auth", "--smtp-auth-allow-insecure"}},
	{"devsink", []string{"127.0.0.1:8090"}, []string{"-addr", "127.0.0.1:8090"}},
	{"stripelocal", []string{"127.0.0.1:12180"}, []string{"-addr", "127.0.0.1:12180", "-secrets", ".run/secrets.json",
		"-webhook-url", gatewayURL + "/api/v1/payments/webhooks/stripe"}},
}

// startDevServers starts each dev server that does not listen yet, from
// .bin/, and waits until it listens.
func (s *system) startDevServers() error {
	for _, d := range devServers {
		if allListening(d.addrs) {
			continue
		}
		log, err := os.Create(filepath.Join(s.root, ".run", d.name+".log"))
		if err != nil {
			return err
		}
		cmd := exec.Command(filepath.Join(s.root, ".bin", d.name), d.args...)
		cmd.Dir = s.root
		cmd.Stdout, cmd.Stderr = log, log
		err = cmd.Start()
		log.Close()
		if err != nil {
			return fmt.Errorf("start %s (run `make mailpit devsink stripelocal`): %w", d.name, err)
		}
		s.devs = append(s.devs, cmd)
		if err := waitFor(20*time.Second, func() bool { return allListening(d.addrs) }); err != nil {
			return fmt.Errorf("%s not listening on %v: %w", d.name, d.addrs, err)
		}
	}
	return nil
}

func (s *system) stopDevServers() error {
	var errs []error
	for _, cmd := range s.devs {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			errs = append(errs, err)
			continue
		}
		_ = cmd.Wait() // ended by our signal: its exit status says so
	}
	s.devs = nil
	return errors.Join(errs...)
}

// resetBackends drops the previous run's databases (services create and
// migrate theirs at start), the Redis streams (topics whose events name
// orders that no longer exist) and the gateway's rate-limit counters.
func resetBackends() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, dbPrefix)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	for _, scan := range []*redis.ScanIterator{
		rdb.ScanType(ctx, 0, "*", 1000, "stream").Iterator(),
		rdb.Scan(ctx, 0, "gateway:ratelimit:*", 1000).Iterator(),
	} {
		for scan.Next(ctx) {
			if err := rdb.Del(ctx, scan.Val()).Err(); err != nil {
				return fmt.Errorf("delete %s: %w", scan.Val(), err)
			}
		}
		if err := scan.Err(); err != nil {
			return err
		}
	}
	return nil
}

func listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func allListening(addrs []string) bool {
	for _, a := range addrs {
		if !listening(a) {
			return false
		}
	}
	return true
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env, nil
}

func tail(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
