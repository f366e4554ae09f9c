package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

// The floor is the least any invocation through the mesh can cost: a
// trivial Fiber handler behind two sidecars of the same daprd build, with
// the same name resolver, mTLS identities from the same Sentry, the
// gateway's Configuration and an access policy. A read through the
// gateway pays this tax once; whatever it costs beyond, the shop adds.
const (
	floorAppPort    = 3080
	floorHTTPPort   = 3580 // the floor app's sidecar
	floorClientPort = 3581 // the calling sidecar, which has no app
	// profilePortOffset is where a sidecar's profiler listens, past its
	// HTTP port, as with the runner's -profile-sidecars.
	profilePortOffset = 400
)

func floorPorts() []int {
	return []int{floorAppPort, floorHTTPPort, floorHTTPPort + 100, floorHTTPPort + 200, floorHTTPPort + profilePortOffset,
		floorClientPort, floorClientPort + 100, floorClientPort + 200, floorClientPort + profilePortOffset}
}

// floorProfileAddrs are where the floor's sidecars serve daprd's profiler
// when started profiled.
func floorProfileAddrs() map[string]string {
	return map[string]string{
		"floor sidecar":        fmt.Sprintf("127.0.0.1:%d", floorHTTPPort+profilePortOffset),
		"floor client sidecar": fmt.Sprintf("127.0.0.1:%d", floorClientPort+profilePortOffset),
	}
}

// floorURL is what the load calls: the client sidecar invokes the floor
// app by the dapr-app-id header, as the gateway invokes services.
const floorURL = "http://127.0.0.1:3581/hello"

// serveFloorApp is the floor's app: it answers its sidecar's calls, which
// carry the app API token, as every app of the shop checks it.
func serveFloorApp(ctx context.Context, addr, appToken string) error {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusOK) })
	app.Get("/hello", func(c *fiber.Ctx) error {
		if subtle.ConstantTimeCompare(c.Request().Header.Peek("dapr-api-token"), []byte(appToken)) != 1 {
			return c.SendStatus(http.StatusUnauthorized)
		}
		return c.SendString("hello")
	})
	errc := make(chan error, 1)
	go func() { errc <- app.Listen(addr) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return app.ShutdownWithTimeout(5 * time.Second)
	}
}

// floor is the floor's three processes.
type floor struct {
	app, sidecar, client *exec.Cmd
}

// startFloor starts the floor app (this binary again), its sidecar and the
// client sidecar, and returns once a call through both answers. Profiled,
// the sidecars serve daprd's profiler at floorProfileAddrs.
func startFloor(s *system, daprd string, profiled bool) (*floor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(filepath.Join(s.root, ".run", "sentry", "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("sentry's root certificate: %w", err)
	}
	resources, err := os.MkdirTemp("", "floor-resources")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "DAPR_HOST_IP=127.0.0.1", "DAPR_TRUST_ANCHORS="+string(pem))
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	logFile, err := os.Create(filepath.Join(s.root, ".run", "floor.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	start := func(path string, args ...string) (*exec.Cmd, error) {
		cmd := exec.Command(path, args...)
		cmd.Dir = s.root
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd, cmd.Start()
	}
	sidecar := func(appID string, httpPort int, access string, withApp bool) []string {
		args := []string{"--app-id", appID,
			"--dapr-http-port", strconv.Itoa(httpPort), "--dapr-grpc-port", strconv.Itoa(httpPort + 100),
			"--dapr-internal-grpc-port", strconv.Itoa(httpPort + 200), "--metrics-port", strconv.Itoa(httpPort + 5600),
			"--dapr-listen-addresses", "127.0.0.1", "--dapr-internal-grpc-listen-address", "127.0.0.1",
			"--resources-path", resources,
			"--config", filepath.Join(s.root, "config", "gateway.yaml"),
			"--enable-mtls", "--sentry-address", "127.0.0.1:3800",
			"--config", filepath.Join(s.root, "tools", "bench", "floor", access),
			"--log-level", "warn", "--log-as-json"}
		if profiled {
			args = append(args, "--enable-profiling", "--profile-port", strconv.Itoa(httpPort+profilePortOffset))
		}
		if withApp {
			args = append(args, "--app-port", strconv.Itoa(floorAppPort), "--app-protocol", "http",
				"--app-channel-address", "127.0.0.1", "--enable-app-health-check",
				"--app-health-check-path", "/healthz", "--app-health-probe-interval", "2", "--app-health-probe-timeout", "1000")
		}
		return args
	}
	f := &floor{}
	if f.app, err = start(self, "-floor-app", fmt.Sprintf("127.0.0.1:%d", floorAppPort)); err != nil {
		return nil, err
	}
	if f.sidecar, err = start(daprd, sidecar("floor", floorHTTPPort, "access.yaml", true)...); err != nil {
		return nil, errors.Join(err, f.stop())
	}
	if f.client, err = start(daprd, sidecar("floorclient", floorClientPort, "client-access.yaml", false)...); err != nil {
		return nil, errors.Join(err, f.stop())
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	token := s.env["DAPR_API_TOKEN"]
	if err := waitFor(60*time.Second, func() bool { return floorCall(hc, token) == nil }); err != nil {
		return nil, errors.Join(fmt.Errorf("floor not answering (%v): %w\n%s", floorCall(hc, token), err,
			tail(filepath.Join(s.root, ".run", "floor.log"), 20)), f.stop())
	}
	return f, nil
}

func floorCall(hc *http.Client, token string) error {
	req, err := http.NewRequest(http.MethodGet, floorURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("dapr-app-id", "floor")
	req.Header.Set("dapr-api-token", token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("floor answered %s", resp.Status)
	}
	return nil
}

// stop ends the floor's processes, sidecars first so that they deregister.
func (f *floor) stop() error {
	var errs []error
	for _, cmd := range []*exec.Cmd{f.client, f.sidecar, f.app} {
		if cmd == nil || cmd.Process == nil {
			continue
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			errs = append(errs, err)
			continue
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	return errors.Join(errs...)
}
