package main

import (
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

const (
	roleApp    = "app"
	roleDaprd  = "daprd"
	roleSentry = "sentry"
)

// findDaprd picks the daprd binary: the -daprd flag, else $DAPRD, else the
// place `dapr init` installs it.
func findDaprd(flagValue string, getenv func(string) string) (string, error) {
	path := flagValue
	if path == "" {
		path = getenv("DAPRD")
	}
	if path == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("daprd not found: pass -daprd or set DAPRD (HOME is unset)")
		}
		path = filepath.Join(home, ".dapr", "bin", "daprd")
	}
	resolved, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("daprd not found (pass -daprd or set DAPRD): %w", err)
	}
	return resolved, nil
}

// daprdArgs builds the sidecar's flags for a, omitting unset values so that
// daprd's own defaults apply. With sec, the sidecar runs with mTLS and its
// access-control Configuration after its own.
func daprdArgs(a app, sec *mtls) []string {
	args := []string{"--app-id", a.ID}
	addString := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	addInt := func(flag string, v int) {
		if v != 0 {
			args = append(args, flag, strconv.Itoa(v))
		}
	}
	addInt("--app-port", a.AppPort)
	addString("--app-protocol", a.AppProtocol)
	addString("--app-channel-address", a.AppChannelAddress)
	addInt("--dapr-http-port", a.HTTPPort)
	addInt("--dapr-grpc-port", a.GRPCPort)
	addInt("--dapr-internal-grpc-port", a.InternalGRPCPort)
	addInt("--metrics-port", a.MetricsPort)
	// Local development: the sidecar APIs, internal (sidecar-to-sidecar)
	// server included, listen on loopback only. (daprd 1.14 ignores
	// --metrics-listen-address, so its metrics port still binds all
	// interfaces.)
	args = append(args, "--dapr-listen-addresses", "127.0.0.1", "--dapr-internal-grpc-listen-address", "127.0.0.1")
	for _, p := range a.ResourcesPaths {
		args = append(args, "--resources-path", p)
	}
	addString("--config", a.ConfigFile)
	if sec != nil {
		args = append(args, "--enable-mtls", "--sentry-address", sec.sentryAddress)
		if sec.accessDir != "" {
			args = append(args, "--config", accessConfig(sec.accessDir, a.ID))
		}
	}
	addString("--log-level", a.LogLevel)
	args = append(args, "--log-as-json")
	if a.HealthCheck {
		args = append(args, "--enable-app-health-check")
		addString("--app-health-check-path", a.HealthCheckPath)
		addInt("--app-health-probe-interval", a.ProbeInterval)
		addInt("--app-health-probe-timeout", a.ProbeTimeout)
	}
	if a.APILogging {
		args = append(args, "--enable-api-logging")
	}
	if a.ProfilePort != 0 {
		// Served on the API listen addresses: loopback, as above.
		args = append(args, "--enable-profiling", "--profile-port", strconv.Itoa(a.ProfilePort))
	}
	return args
}

// daprdEnv is the runner's environment plus a loopback DAPR_HOST_IP. The
// default comes first because exec keeps the last value of a duplicated key,
// so a DAPR_HOST_IP the operator exported wins. With sec, the sidecar trusts
// Sentry's root certificate, and nothing else.
func daprdEnv(base []string, sec *mtls) []string {
	env := append([]string{"DAPR_HOST_IP=127.0.0.1"}, base...)
	if sec != nil {
		env = append(env, "DAPR_TRUST_ANCHORS="+sec.trustAnchors)
	}
	return env
}

// accessConfig is the access-control Configuration of app in dir.
func accessConfig(dir, appID string) string { return filepath.Join(dir, appID+".yaml") }

// appEnv is the runner's environment, then the run file's env, then the
// variables the Dapr CLI gives every app; later entries win.
func appEnv(base []string, a app) []string {
	env := slices.Clone(base)
	for _, k := range slices.Sorted(maps.Keys(a.Env)) {
		env = append(env, k+"="+a.Env[k])
	}
	add := func(k, v string) {
		if v != "" && v != "0" {
			env = append(env, k+"="+v)
		}
	}
	add("APP_ID", a.ID)
	add("APP_PORT", strconv.Itoa(a.AppPort))
	add("APP_CHANNEL_ADDRESS", a.AppChannelAddress)
	add("DAPR_HTTP_PORT", strconv.Itoa(a.HTTPPort))
	add("DAPR_GRPC_PORT", strconv.Itoa(a.GRPCPort))
	add("DAPR_METRICS_PORT", strconv.Itoa(a.MetricsPort))
	return env
}

// processSpecs lists the two processes of every app instance, sidecar
// first. startedAt names the log files, as the Dapr CLI does.
func processSpecs(instances []app, daprd string, base []string, startedAt time.Time, sec *mtls) []procSpec {
	specs := make([]procSpec, 0, 2*len(instances))
	for _, a := range instances {
		logFile := func(role string) string {
			name := fmt.Sprintf("%s_%s_%d.log", a.Name, role, startedAt.Unix())
			return filepath.Join(a.Dir, ".dapr", "logs", name)
		}
		specs = append(specs,
			procSpec{
				instance: a.Name, role: roleDaprd, replicated: a.Replicated, dir: a.Dir,
				path: daprd, args: daprdArgs(a, sec), env: daprdEnv(base, sec),
				logTo: a.DaprdLog, logFile: logFile(roleDaprd),
			},
			procSpec{
				instance: a.Name, role: roleApp, replicated: a.Replicated, dir: a.Dir,
				path: a.Command[0], args: a.Command[1:], env: appEnv(base, a),
				logTo: a.AppLog, logFile: logFile(roleApp),
			},
		)
	}
	return specs
}
