package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// pipeDrainDelay bounds how long a child's output is still read after it
// exits: a grandchild that left the process group could hold the pipes open
// forever.
const pipeDrainDelay = 2 * time.Second

// procSpec describes one child process: an app or its sidecar.
type procSpec struct {
	instance string // the app instance's name (app.Name)
	role     string // roleApp or roleDaprd
	// replicated: the instance is one of several of its app, so the
	// runner stops its other process once one exits.
	replicated bool
	path       string
	args       []string
	dir        string
	env        []string
	logTo      logDestination
	logFile    string // used when logTo includes a file
}

// label is the console prefix of the child's lines: "orders" for the app,
// "orders.daprd" for its sidecar ("orders-2", "orders-2.daprd" for a
// second replica).
func (s procSpec) label() string {
	if s.role == roleDaprd {
		return s.instance + ".daprd"
	}
	return s.instance
}

// child is a started process. err is valid once done is closed.
type child struct {
	procSpec
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startChild starts spec in its own process group and reports on exited
// when it ends.
func startChild(spec procSpec, console *lineSink, exited chan<- *child) (*child, error) {
	var targets []lineTarget
	if spec.logTo.console() {
		targets = append(targets, lineTarget{sink: console, prefix: "[" + spec.label() + "] "})
	}
	var logFile *os.File
	if spec.logTo.file() {
		f, err := openLogFile(spec.logFile)
		if err != nil {
			return nil, fmt.Errorf("app %q (%s): %w", spec.instance, spec.role, err)
		}
		logFile = f
		targets = append(targets, lineTarget{sink: &lineSink{w: f}})
	}
	// Separate writers keep a partial stdout line from being glued to stderr.
	stdout := &lineWriter{targets: targets}
	stderr := &lineWriter{targets: targets}

	cmd := exec.Command(spec.path, spec.args...)
	cmd.Dir = spec.dir
	cmd.Env = spec.env
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// Its own process group lets a signal reach the child's own children
	// (e.g. a shell wrapper's), and keeps the terminal's Ctrl-C away from
	// children so the runner decides how they stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeDrainDelay
	if err := cmd.Start(); err != nil {
		if logFile != nil {
			logFile.Close()
		}
		return nil, fmt.Errorf("start app %q (%s): %w", spec.instance, spec.role, err)
	}

	c := &child{procSpec: spec, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		stdout.flush()
		stderr.flush()
		if logFile != nil {
			err = errors.Join(err, logFile.Close())
		}
		c.err = err
		close(c.done)
		exited <- c
	}()
	return c, nil
}

func openLogFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	return f, nil
}

func (c *child) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// exitErr describes how the child ended; a clean exit is still an error to
// the runner, since children are expected to run until stopped.
func (c *child) exitErr() error {
	if c.err == nil {
		return errors.New("exit status 0")
	}
	return c.err
}

// stopAll sends SIGTERM to every running child's process group, waits up to
// timeout, then kills whatever is left. It returns once every child is reaped.
func stopAll(children []*child, timeout time.Duration) {
	signalRunning(children, syscall.SIGTERM)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
wait:
	for _, c := range children {
		select {
		case <-c.done:
		case <-timer.C:
			signalRunning(children, syscall.SIGKILL)
			break wait
		}
	}
	for _, c := range children {
		<-c.done
	}
}

func signalRunning(children []*child, sig syscall.Signal) {
	for _, c := range children {
		if c.running() {
			// A negative pid addresses the whole process group. ESRCH only
			// means the group is already gone.
			_ = syscall.Kill(-c.cmd.Process.Pid, sig)
		}
	}
}
