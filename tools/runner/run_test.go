package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const waitFor = 30 * time.Second

// syncBuffer is the runner's stdout in tests: written by the runner while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// buildFakeChild compiles testdata/fakechild, which plays both daprd and app.
func buildFakeChild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fakechild")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/fakechild")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testApp is one app of a generated run file.
type testApp struct {
	id       string
	appPort  int
	daprPort int
	extra    string // further YAML keys for the app, one per line
}

// writeRunFile lays out a project under a temp dir, with a directory per app
// and the fake child as every command, and returns the run file's path.
func writeRunFile(t *testing.T, fake string, apps ...testApp) string {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\ncommon:\n  resourcesPaths: [./components]\n  appLogDestination: console\napps:\n")
	for _, a := range apps {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "services", a.id), 0o755))
		fmt.Fprintf(&b, "  - appID: %s\n    appDirPath: ./services/%s\n    appPort: %d\n    daprHTTPPort: %d\n    command: [%q]\n",
			a.id, a.id, a.appPort, a.daprPort, fake)
		for line := range strings.Lines(a.extra) {
			b.WriteString("    " + line)
		}
		b.WriteString("\n")
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "components"), 0o755))
	path := filepath.Join(root, "dapr.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// startRunner runs the runner in the background and returns its result channel.
func startRunner(ctx context.Context, runFile, fake string, out *syncBuffer, flags ...string) <-chan error {
	args := append([]string{"-f", runFile, "-daprd", fake, "-stop-timeout", "5s"}, flags...)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, args, out, func(string) string { return "" }) }()
	return errc
}

func waitResult(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(waitFor):
		t.Fatal("runner did not return")
		return nil
	}
}

// readPID reads the pid the fake child listening on port wrote into its
// app directory.
func readPID(t *testing.T, runFile, appID, role string, port int) int {
	t.Helper()
	path := filepath.Join(filepath.Dir(runFile), "services", appID, fmt.Sprintf("%s-%s-%d.pid", role, appID, port))
	var pid int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(data))
		return err == nil
	}, waitFor, 10*time.Millisecond, path)
	return pid
}

func listening(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestRunLifecycle(t *testing.T) {
	fake := buildFakeChild(t)
	alpha := testApp{id: "alpha", appPort: freePort(t), daprPort: freePort(t)}
	beta := testApp{id: "beta", appPort: freePort(t), daprPort: freePort(t), extra: "appLogDestination: file\n"}
	gamma := testApp{id: "gamma", appPort: freePort(t), daprPort: freePort(t)}
	runFile := writeRunFile(t, fake, alpha, beta, gamma)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	errc := startRunner(ctx, runFile, fake, out, "-ready-timeout", waitFor.String())

	require.Eventually(t, func() bool { return strings.Contains(out.String(), "[runner] ready: 3 apps (") },
		waitFor, 20*time.Millisecond, "output so far:\n%s", out)
	var pids []int
	for _, a := range []testApp{alpha, beta, gamma} {
		require.True(t, listening(a.appPort), a.id)
		require.True(t, listening(a.daprPort), a.id)
		pids = append(pids, readPID(t, runFile, a.id, roleApp, a.appPort), readPID(t, runFile, a.id, roleDaprd, a.daprPort))
	}
	require.Contains(t, out.String(), "[alpha] fake app listening on")
	require.Contains(t, out.String(), "[alpha.daprd] fake daprd listening on")
	// beta's app logs to a file only; its sidecar still logs to the console.
	require.Contains(t, out.String(), "[beta.daprd] fake daprd listening on")
	require.NotContains(t, out.String(), "[beta] ")
	logs, err := filepath.Glob(filepath.Join(filepath.Dir(runFile), "services", "beta", ".dapr", "logs", "beta_app_*.log"))
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(logs[0])
		return err == nil && strings.HasPrefix(string(data), "fake app listening on")
	}, waitFor, 10*time.Millisecond)

	// After start-up, one app going down is logged and the rest keep running.
	require.NoError(t, syscall.Kill(readPID(t, runFile, "gamma", roleApp, gamma.appPort), syscall.SIGKILL))
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), `[runner] app "gamma" (app) exited: signal: killed`)
	}, waitFor, 20*time.Millisecond)
	require.Empty(t, errc)
	require.True(t, listening(alpha.appPort))

	cancel()
	require.NoError(t, waitResult(t, errc))
	for _, a := range []testApp{alpha, beta, gamma} {
		require.False(t, listening(a.appPort), a.id)
		require.False(t, listening(a.daprPort), a.id)
	}
	for _, pid := range pids {
		require.True(t, processGone(pid), "pid %d still exists", pid)
	}
	// Children were stopped with SIGTERM, not killed.
	require.Contains(t, out.String(), "[alpha] fake app stopping")
	require.Contains(t, out.String(), "[alpha.daprd] fake daprd stopping")
}

func TestRunFailsWhenAnAppExitsDuringStart(t *testing.T) {
	fake := buildFakeChild(t)
	alpha := testApp{id: "alpha", appPort: freePort(t), daprPort: freePort(t)}
	beta := testApp{id: "beta", appPort: freePort(t), daprPort: freePort(t), extra: "env: {FAKE_EXIT_CODE: \"1\"}\n"}
	runFile := writeRunFile(t, fake, alpha, beta)
	out := &syncBuffer{}

	err := waitResult(t, startRunner(t.Context(), runFile, fake, out, "-ready-timeout", waitFor.String()))

	require.EqualError(t, err, `app "beta" (app) exited during start: exit status 1`)
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, 1, exitErr.ExitCode())
	require.Contains(t, out.String(), "[beta] fake app failing on purpose")
	require.NotContains(t, out.String(), "[runner] ready")
	// The failure may come before every child wrote its pid, so check those that did.
	pidFiles, err := filepath.Glob(filepath.Join(filepath.Dir(runFile), "services", "*", "*.pid"))
	require.NoError(t, err)
	require.NotEmpty(t, pidFiles)
	for _, f := range pidFiles {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		pid, err := strconv.Atoi(string(data))
		require.NoError(t, err)
		require.True(t, processGone(pid), "%s: pid %d still exists", f, pid)
	}
}

func TestRunFailsWhenAnAppIsNotReadyInTime(t *testing.T) {
	fake := buildFakeChild(t)
	alpha := testApp{id: "alpha", appPort: freePort(t), daprPort: freePort(t)}
	// The fake app answers 404 on any path but /healthz.
	beta := testApp{id: "beta", appPort: freePort(t), daprPort: freePort(t), extra: "appHealthCheckPath: /ready\n"}
	runFile := writeRunFile(t, fake, alpha, beta)

	err := waitResult(t, startRunner(t.Context(), runFile, fake, &syncBuffer{}, "-ready-timeout", "1s"))

	require.EqualError(t, err, "not ready after 1s: beta")
	require.False(t, listening(alpha.appPort))
	require.False(t, listening(beta.daprPort))
}

func TestRunStartsTheOthersOnceTheFirstIsReady(t *testing.T) {
	fake := buildFakeChild(t)
	// The fake app answers 404 on any path but /healthz.
	alpha := testApp{id: "alpha", appPort: freePort(t), daprPort: freePort(t), extra: "appHealthCheckPath: /ready\n"}
	beta := testApp{id: "beta", appPort: freePort(t), daprPort: freePort(t)}
	runFile := writeRunFile(t, fake, alpha, beta)

	err := waitResult(t, startRunner(t.Context(), runFile, fake, &syncBuffer{}, "-ready-timeout", "1s"))

	require.EqualError(t, err, "not ready after 1s: alpha")
	betaPIDs, err := filepath.Glob(filepath.Join(filepath.Dir(runFile), "services", "beta", "*.pid"))
	require.NoError(t, err)
	require.Empty(t, betaPIDs, "beta was started before alpha was ready")
	require.False(t, listening(alpha.appPort))
}

func TestRunRejectsBadInputBeforeStarting(t *testing.T) {
	fake := buildFakeChild(t)
	port := freePort(t)
	runFile := writeRunFile(t, fake, testApp{id: "alpha", appPort: port, daprPort: freePort(t)})

	err := run(t.Context(), []string{"-f", runFile, "-daprd", filepath.Join(t.TempDir(), "daprd")}, &syncBuffer{}, os.Getenv)
	require.ErrorContains(t, err, "daprd not found")

	err = run(t.Context(), []string{"-f", filepath.Join(t.TempDir(), "dapr.yaml"), "-daprd", fake}, &syncBuffer{}, os.Getenv)
	require.ErrorContains(t, err, "read run file")

	pidFiles, err := filepath.Glob(filepath.Join(filepath.Dir(runFile), "services", "alpha", "*.pid"))
	require.NoError(t, err)
	require.Empty(t, pidFiles, "nothing may start when the input is bad")
}

func TestRunKillsChildrenThatIgnoreSIGTERM(t *testing.T) {
	fake := buildFakeChild(t)
	alpha := testApp{id: "alpha", appPort: freePort(t), daprPort: freePort(t), extra: "env: {FAKE_IGNORE_SIGTERM: \"1\"}\n"}
	runFile := writeRunFile(t, fake, alpha)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	errc := startRunner(ctx, runFile, fake, out, "-ready-timeout", waitFor.String(), "-stop-timeout", "200ms")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "[runner] ready: 1 apps") },
		waitFor, 20*time.Millisecond, "output so far:\n%s", out)
	pid := readPID(t, runFile, "alpha", roleApp, alpha.appPort)

	cancel()
	require.NoError(t, waitResult(t, errc))
	require.True(t, processGone(pid))
	require.False(t, listening(alpha.appPort))
	require.Contains(t, out.String(), "[alpha.daprd] fake daprd stopping")
	require.NotContains(t, out.String(), "[alpha] fake app stopping")
}
