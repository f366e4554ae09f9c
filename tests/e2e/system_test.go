// Package e2e drives the whole system as a client would: every service and
// its real Dapr sidecar are started by the local runner from dapr.yaml, and
// the tests talk to the gateway on 127.0.0.1:3000.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

const gatewayURL = "http://127.0.0.1:3000"

// sys is the running system, shared by every test of the package.
var sys *system

type system struct {
	root    string            // repository root
	env     map[string]string // dev tokens and settings from .run/dev.env
	secrets map[string]string // the dev secret store
	// restarted are apps a test killed and started again itself, outside
	// the runner, which stops only its own.
	restarted []*exec.Cmd
	// boot is what the runner, the sidecars and the apps printed until the
	// system was ready.
	boot []string
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	closeInheritedFilesOnExec()
	s, stop, err := start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start the system:", err)
		return 1
	}
	sys = s
	code := m.Run()
	if code != 0 {
		fmt.Fprint(os.Stderr, errorSummary(filepath.Join(s.root, ".run"), 150))
	}
	fmt.Fprintf(os.Stderr, "e2e: %d exchanges with the gateway checked against its OpenAPI document\n", contractChecks.Load())
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stopping the system:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// closeInheritedFilesOnExec keeps descriptors this process inherited (a
// lock held by a wrapping `flock`, say) out of the servers it starts, some
// of which may outlive it.
func closeInheritedFilesOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// start launches the runner and returns once it reports every app and
// sidecar ready. Its output goes to .run/e2e.log, whose tail is printed when
// start-up fails.
func start() (*system, func() error, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, nil, err
	}
	s := &system{root: root}
	if s.env, err = readEnvFile(filepath.Join(root, ".run", "dev.env")); err != nil {
		return nil, nil, fmt.Errorf("%w (run `make prepare` first)", err)
	}
	if s.secrets, err = readSecrets(filepath.Join(root, ".run", "secrets.json")); err != nil {
		return nil, nil, err
	}
	if err := portsFree(); err != nil {
		return nil, nil, err
	}
	if err := resetRateLimits(); err != nil {
		return nil, nil, err
	}
	if err := deleteStreams(); err != nil {
		return nil, nil, err
	}
	if err := deleteQueues(); err != nil {
		return nil, nil, err
	}
	if err := dropDatabases(); err != nil {
		return nil, nil, err
	}

	logPath := filepath.Join(root, ".run", "e2e.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	args := []string{"-f", filepath.Join(root, "dapr.yaml")}
	if daprd := os.Getenv("DAPRD"); daprd != "" {
		args = append(args, "-daprd", daprd)
	}
	// As `make run` does: Sentry gives every sidecar its mTLS identity, so
	// that each app's access-control policy applies.
	sentry := os.Getenv("SENTRY")
	if sentry == "" {
		sentry = filepath.Join(os.Getenv("HOME"), ".dapr", "bin", "sentry")
	}
	// Products runs as several instances behind its app id, as
	// `make run REPLICAS=...` runs them: every test goes through name
	// resolution's choice among them, and TestReplicas kills one.
	args = append(args, "-replicas", replicaFlag())
	args = append(args, "-sentry", sentry,
		"-sentry-config", filepath.Join(root, "config", "sentry.yaml"),
		"-sentry-credentials", filepath.Join(root, ".run", "sentry"),
		"-access-config", filepath.Join(root, "config", "access"))
	// PUBSUB and STATE pick the backends (directories under components/), as
	// `make run PUBSUB=... STATE=...` does.
	for _, kind := range []struct{ env, dir string }{{"PUBSUB", "pubsub"}, {"STATE", "state"}} {
		if name := os.Getenv(kind.env); name != "" {
			args = append(args, "-swap-resources", "./components/"+kind.dir+"/redis=./components/"+kind.dir+"/"+name)
		}
	}
	cmd := exec.Command(filepath.Join(root, ".bin", "runner"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DATABASE_NAME_PREFIX="+dbPrefix)
	// Every app and sidecar sends its spans to the suite's Jaeger, all of
	// them unless the caller chose a share (the Makefile's TRACE_SAMPLING).
	cmd.Env = append(cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+jaegerOTLPAddr)
	if os.Getenv("DAPR_TRACE_SAMPLING_RATE") == "" {
		cmd.Env = append(cmd.Env, "DAPR_TRACE_SAMPLING_RATE=1")
	}
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = cmd.Stdout
	stopDevServers, err := startDevServers(root)
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("start runner (run `make build`): %w", err), stopDevServers())
	}

	ready := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if signalled {
				continue
			}
			s.boot = append(s.boot, line)
			if strings.HasPrefix(line, "[runner] ready:") {
				signalled = true
				close(ready)
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-copied
		exited <- cmd.Wait()
		logFile.Close()
	}()

	select {
	case <-ready:
	case err := <-exited:
		return nil, nil, errors.Join(fmt.Errorf("runner exited before ready: %v\n%s", err, tail(logPath, 40)), stopDevServers())
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		return nil, nil, errors.Join(fmt.Errorf("not ready after 3 minutes\n%s", tail(logPath, 40)), stopDevServers())
	}

	stop := func() error {
		defer stopDevServers()
		for _, app := range s.restarted {
			_ = syscall.Kill(-app.Process.Pid, syscall.SIGTERM)
			_ = app.Wait()
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return errors.New("runner did not stop within 30s")
		}
	}
	return s, stop, nil
}

// portsFree fails fast when another copy of the system (make run) holds the
// fixed ports, instead of testing that copy by mistake.
func portsFree() error {
	ports := []int{3000, 3001, 3002, 3003, 3004, 3005, 3006, 3500, 3501, 3502, 3503, 3504, 3505, 3506, 3800, 3801}
	// The further products instances' apps and sidecars.
	ports = append(ports, instancePorts("products", 3002)[1:]...)
	ports = append(ports, instancePorts("products", 3502)[1:]...)
	for _, port := range ports {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return fmt.Errorf("port %d is in use: stop the running system (make run) first", port)
		}
	}
	return nil
}

// dbPrefix names the databases of a test run: every run starts from empty
// databases of its own, whatever a developer's `make run` left in theirs.
const dbPrefix = "e2e_"

// databaseURL is the URL of a service's database in this run.
func databaseURL(service string) string {
	return "postgres://postgres@127.0.0.1:5432/" + dbPrefix + service + "?sslmode=disable"
}

// dropDatabases removes the previous run's databases; services create and
// migrate theirs at start.
func dropDatabases() error {
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
	return nil
}

// resetRateLimits clears the gateway's counters, so that a run started
// within a minute of the previous one starts with full budgets.
func resetRateLimits() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, "gateway:ratelimit:*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return fmt.Errorf("reset rate limits: %w", err)
		}
	}
	return iter.Err()
}

// deleteStreams removes the Redis streams (pub/sub topics) of earlier runs,
// as dropDatabases removes their databases: their events name orders that
// no longer exist, and those a killed app left unacknowledged would be
// redelivered to this run's consumers. Sidecars recreate them at start.
func deleteStreams() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	iter := rdb.ScanType(ctx, 0, "*", 1000, "stream").Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return fmt.Errorf("delete stream %s: %w", iter.Val(), err)
		}
	}
	return iter.Err()
}

// deleteQueues removes, when the suite runs on RabbitMQ, the apps' queues of
// earlier runs, as deleteStreams does on Redis, and with them every binding
// they had: durable, a queue keeps events of orders that no longer exist,
// and a binding to another topic's exchange (Dapr 1.14's component made
// such) would outlive every run. Sidecars declare them again at start.
func deleteQueues() error {
	if os.Getenv("PUBSUB") != "rabbitmq" {
		return nil
	}
	out, err := exec.Command("rabbitmqctl", "-q", "--no-table-headers", "list_queues", "name").Output()
	if err != nil {
		return fmt.Errorf("list RabbitMQ's queues: %w", err)
	}
	for _, queue := range strings.Fields(string(out)) {
		app, _, _ := strings.Cut(queue, "-")
		if !slices.Contains(apps, app) && !strings.HasPrefix(queue, "e2e-probe-") {
			continue // not this project's
		}
		if out, err := exec.Command("rabbitmqctl", "-q", "delete_queue", queue).CombinedOutput(); err != nil {
			return fmt.Errorf("delete queue %s: %w: %s", queue, err, out)
		}
	}
	return nil
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

// ctx is a per-test context bounded by the test's deadline.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if _, ok := invalidSenders.Load(t); ok {
		c = invalidRequest(c)
	}
	return c
}
