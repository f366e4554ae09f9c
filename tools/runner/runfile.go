package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// runFile mirrors the Multi-App Run file read by `dapr run -f`. Keys the
// runner does not use are ignored, as yaml.v3 does by default.
type runFile struct {
	Version int        `yaml:"version"`
	Common  options    `yaml:"common"`
	Apps    []appEntry `yaml:"apps"`
}

// options are the keys allowed both under `common` and per app; a value set
// on the app wins. Booleans are pointers so that an app can turn off what
// `common` turns on.
type options struct {
	ResourcesPaths         []string          `yaml:"resourcesPaths"`
	ConfigFilePath         string            `yaml:"configFilePath"`
	AppProtocol            string            `yaml:"appProtocol"`
	AppChannelAddress      string            `yaml:"appChannelAddress"`
	EnableAppHealthCheck   *bool             `yaml:"enableAppHealthCheck"`
	AppHealthCheckPath     string            `yaml:"appHealthCheckPath"`
	AppHealthProbeInterval int               `yaml:"appHealthProbeInterval"`
	AppHealthProbeTimeout  int               `yaml:"appHealthProbeTimeout"`
	LogLevel               string            `yaml:"logLevel"`
	EnableAPILogging       *bool             `yaml:"enableApiLogging"`
	Env                    map[string]string `yaml:"env"`
	AppLogDestination      string            `yaml:"appLogDestination"`
	DaprdLogDestination    string            `yaml:"daprdLogDestination"`
}

type appEntry struct {
	options              `yaml:",inline"`
	AppID                string   `yaml:"appID"`
	AppDirPath           string   `yaml:"appDirPath"`
	AppPort              int      `yaml:"appPort"`
	DaprHTTPPort         int      `yaml:"daprHTTPPort"`
	DaprGRPCPort         int      `yaml:"daprGRPCPort"`
	DaprInternalGRPCPort int      `yaml:"daprInternalGRPCPort"`
	MetricsPort          int      `yaml:"metricsPort"`
	Command              []string `yaml:"command"`
}

// logDestination says where a child's output goes.
type logDestination string

const (
	logToConsole        logDestination = "console"
	logToFile           logDestination = "file"
	logToFileAndConsole logDestination = "fileAndConsole"
)

func (d logDestination) console() bool { return d != logToFile }
func (d logDestination) file() bool    { return d != logToConsole }

// app is one entry of the run file with `common` merged in and every path
// made absolute and checked; expandReplicas turns it into the instances
// to start.
type app struct {
	ID string
	// Name tells the instances of one app apart: the app id, or
	// <app id>-<n> for the n-th of several replicas.
	Name              string
	Replicated        bool
	Dir               string
	Command           []string
	AppPort           int
	HTTPPort          int
	GRPCPort          int
	InternalGRPCPort  int
	MetricsPort       int
	ProfilePort       int // daprd's Go profiler; 0: not served
	ResourcesPaths    []string
	ConfigFile        string
	AppProtocol       string
	AppChannelAddress string
	HealthCheck       bool
	HealthCheckPath   string
	ProbeInterval     int // seconds
	ProbeTimeout      int // milliseconds
	LogLevel          string
	APILogging        bool
	Env               map[string]string
	AppLog            logDestination
	DaprdLog          logDestination
}

// loadRunFile reads and resolves the run file at path. It fails before
// anything is started if a referenced path is missing.
func loadRunFile(path string) ([]app, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read run file: %w", err)
	}
	// Relative paths in the file are relative to its directory, not to the
	// runner's working directory.
	dir, err := runFileDir(path)
	if err != nil {
		return nil, err
	}
	apps, err := parseRunFile(data, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return apps, nil
}

// parseRunFile parses a run file whose relative paths are based at baseDir.
func parseRunFile(data []byte, baseDir string) ([]app, error) {
	var rf runFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if rf.Version != 1 {
		return nil, fmt.Errorf("version must be 1, got %d", rf.Version)
	}
	if len(rf.Apps) == 0 {
		return nil, errors.New("no apps defined")
	}
	apps := make([]app, 0, len(rf.Apps))
	seen := make(map[string]bool)
	for i, e := range rf.Apps {
		a, err := resolveApp(e, rf.Common, baseDir)
		if err != nil {
			return nil, fmt.Errorf("apps[%d]: %w", i, err)
		}
		if seen[a.ID] {
			return nil, fmt.Errorf("apps[%d]: duplicate appID %q", i, a.ID)
		}
		seen[a.ID] = true
		apps = append(apps, a)
	}
	return apps, nil
}

func resolveApp(e appEntry, common options, baseDir string) (app, error) {
	if e.AppID == "" {
		return app{}, errors.New("appID is required")
	}
	if e.AppDirPath == "" {
		return app{}, fmt.Errorf("app %q: appDirPath is required", e.AppID)
	}
	// Readiness is probed on these two ports, so they cannot be left to daprd's defaults.
	if e.AppPort == 0 || e.DaprHTTPPort == 0 {
		return app{}, fmt.Errorf("app %q: appPort and daprHTTPPort are required", e.AppID)
	}
	if len(e.Command) == 0 {
		return app{}, fmt.Errorf("app %q: command is required", e.AppID)
	}
	a, err := mergeOptions(e, common, baseDir)
	if err != nil {
		return app{}, fmt.Errorf("app %q: %w", e.AppID, err)
	}
	return a, nil
}

// mergeOptions applies `common` under the app's own keys. Paths from common
// are relative to baseDir; the app's own are relative to its appDirPath.
func mergeOptions(e appEntry, common options, baseDir string) (app, error) {
	dir := absPath(baseDir, e.AppDirPath)
	if info, err := os.Stat(dir); err != nil {
		return app{}, fmt.Errorf("appDirPath: %w", err)
	} else if !info.IsDir() {
		return app{}, fmt.Errorf("appDirPath: %s is not a directory", dir)
	}

	resources := absPaths(dir, e.ResourcesPaths)
	if len(resources) == 0 {
		resources = absPaths(baseDir, common.ResourcesPaths)
	}
	for _, p := range resources {
		if _, err := os.Stat(p); err != nil {
			return app{}, fmt.Errorf("resourcesPaths: %w", err)
		}
	}

	config := absPath(dir, e.ConfigFilePath)
	if e.ConfigFilePath == "" {
		config = absPath(baseDir, common.ConfigFilePath)
	}
	if config != "" {
		if _, err := os.Stat(config); err != nil {
			return app{}, fmt.Errorf("configFilePath: %w", err)
		}
	}

	// A command with a slash names a file relative to appDirPath, as it would
	// in a shell started there; a bare name is looked up in PATH.
	command := append([]string(nil), e.Command...)
	if strings.ContainsRune(command[0], '/') {
		command[0] = absPath(dir, command[0])
		if _, err := os.Stat(command[0]); err != nil {
			return app{}, fmt.Errorf("command: %w", err)
		}
	}

	healthPath := cmp.Or(e.AppHealthCheckPath, common.AppHealthCheckPath)
	if healthPath != "" && !strings.HasPrefix(healthPath, "/") {
		return app{}, fmt.Errorf("appHealthCheckPath: %q must start with /", healthPath)
	}

	appLog, err := parseLogDestination(cmp.Or(e.AppLogDestination, common.AppLogDestination))
	if err != nil {
		return app{}, fmt.Errorf("appLogDestination: %w", err)
	}
	daprdLog, err := parseLogDestination(cmp.Or(e.DaprdLogDestination, common.DaprdLogDestination))
	if err != nil {
		return app{}, fmt.Errorf("daprdLogDestination: %w", err)
	}

	env := make(map[string]string, len(common.Env)+len(e.Env))
	maps.Copy(env, common.Env)
	maps.Copy(env, e.Env)

	return app{
		ID:                e.AppID,
		Name:              e.AppID,
		Dir:               dir,
		Command:           command,
		AppPort:           e.AppPort,
		HTTPPort:          e.DaprHTTPPort,
		GRPCPort:          e.DaprGRPCPort,
		InternalGRPCPort:  e.DaprInternalGRPCPort,
		MetricsPort:       e.MetricsPort,
		ResourcesPaths:    resources,
		ConfigFile:        config,
		AppProtocol:       cmp.Or(e.AppProtocol, common.AppProtocol),
		AppChannelAddress: cmp.Or(e.AppChannelAddress, common.AppChannelAddress),
		HealthCheck:       isTrue(cmp.Or(e.EnableAppHealthCheck, common.EnableAppHealthCheck)),
		HealthCheckPath:   healthPath,
		ProbeInterval:     cmp.Or(e.AppHealthProbeInterval, common.AppHealthProbeInterval),
		ProbeTimeout:      cmp.Or(e.AppHealthProbeTimeout, common.AppHealthProbeTimeout),
		LogLevel:          cmp.Or(e.LogLevel, common.LogLevel),
		APILogging:        isTrue(cmp.Or(e.EnableAPILogging, common.EnableAPILogging)),
		Env:               env,
		AppLog:            appLog,
		DaprdLog:          daprdLog,
	}, nil
}

func parseLogDestination(s string) (logDestination, error) {
	switch d := logDestination(s); d {
	case "":
		return logToConsole, nil
	case logToConsole, logToFile, logToFileAndConsole:
		return d, nil
	default:
		return "", fmt.Errorf("%q is not one of file, console, fileAndConsole", s)
	}
}

// absPath resolves p against base; an empty p stays empty (unset).
func absPath(base, p string) string {
	switch {
	case p == "":
		return ""
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	default:
		return filepath.Join(base, p)
	}
}

func absPaths(base string, ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, absPath(base, p))
	}
	return out
}

func isTrue(b *bool) bool { return b != nil && *b }
