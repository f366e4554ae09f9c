package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeTree creates empty files (and their directories) under root; paths
// ending in "/" are created as directories.
func writeTree(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, p)
		if p[len(p)-1] == '/' {
			require.NoError(t, os.MkdirAll(full, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, nil, 0o755))
	}
}

func TestLoadRunFile(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root,
		"components/", "resiliency/", "config.yaml", ".bin/orders",
		"services/orders/", "services/payments/local/", "services/payments/debug.yaml", "services/payments/run.sh",
	)
	runFile := filepath.Join(root, "dapr.yaml")
	require.NoError(t, os.WriteFile(runFile, []byte(`
version: 1
common:
  resourcesPaths: [./components, resiliency]
  configFilePath: ./config.yaml
  appProtocol: http
  appChannelAddress: 127.0.0.1
  enableAppHealthCheck: true
  appHealthCheckPath: /healthz
  appHealthProbeInterval: 2
  appHealthProbeTimeout: 1000
  logLevel: warn
  env: {LOG_LEVEL: info, SHARED: common}
  appLogDestination: file
  appHealthThreshold: 3   # unknown to the runner: ignored
apps:
  - appID: orders
    appDirPath: ./services/orders
    appPort: 8081
    daprHTTPPort: 3501
    daprGRPCPort: 50002
    daprInternalGRPCPort: 50102
    metricsPort: 9091
    command: ["../../.bin/orders", "--verbose"]
    env: {DB_URL: "postgres://db"}
  - appID: payments
    appDirPath: services/payments
    appPort: 8082
    daprHTTPPort: 3502
    command: [./run.sh]
    resourcesPaths: [./local]
    configFilePath: debug.yaml
    appProtocol: grpc
    enableAppHealthCheck: false
    appHealthCheckPath: /ready
    logLevel: debug
    enableApiLogging: true
    env: {SHARED: app}
    appLogDestination: console
    daprdLogDestination: fileAndConsole
`), 0o644))

	apps, err := loadRunFile(runFile)
	require.NoError(t, err)

	orders := filepath.Join(root, "services", "orders")
	payments := filepath.Join(root, "services", "payments")
	require.Equal(t, []app{
		{
			ID:                "orders",
			Name:              "orders",
			Dir:               orders,
			Command:           []string{filepath.Join(root, ".bin", "orders"), "--verbose"},
			AppPort:           8081,
			HTTPPort:          3501,
			GRPCPort:          50002,
			InternalGRPCPort:  50102,
			MetricsPort:       9091,
			ResourcesPaths:    []string{filepath.Join(root, "components"), filepath.Join(root, "resiliency")},
			ConfigFile:        filepath.Join(root, "config.yaml"),
			AppProtocol:       "http",
			AppChannelAddress: "127.0.0.1",
			HealthCheck:       true,
			HealthCheckPath:   "/healthz",
			ProbeInterval:     2,
			ProbeTimeout:      1000,
			LogLevel:          "warn",
			Env:               map[string]string{"LOG_LEVEL": "info", "SHARED": "common", "DB_URL": "postgres://db"},
			AppLog:            logToFile,
			DaprdLog:          logToConsole,
		},
		{
			ID:                "payments",
			Name:              "payments",
			Dir:               payments,
			Command:           []string{filepath.Join(payments, "run.sh")},
			AppPort:           8082,
			HTTPPort:          3502,
			ResourcesPaths:    []string{filepath.Join(payments, "local")},
			ConfigFile:        filepath.Join(payments, "debug.yaml"),
			AppProtocol:       "grpc",
			AppChannelAddress: "127.0.0.1",
			HealthCheck:       false,
			HealthCheckPath:   "/ready",
			ProbeInterval:     2,
			ProbeTimeout:      1000,
			LogLevel:          "debug",
			APILogging:        true,
			Env:               map[string]string{"LOG_LEVEL": "info", "SHARED": "app"},
			AppLog:            logToConsole,
			DaprdLog:          logToFileAndConsole,
		},
	}, apps)
}

func TestParseRunFileKeepsBareCommandForPathLookup(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "svc/")
	apps, err := parseRunFile([]byte(`
version: 1
apps:
  - {appID: a, appDirPath: svc, appPort: 1, daprHTTPPort: 2, command: [go, run, .]}
`), root)
	require.NoError(t, err)
	require.Equal(t, []string{"go", "run", "."}, apps[0].Command)
	require.Empty(t, apps[0].ResourcesPaths)
	require.Empty(t, apps[0].ConfigFile)
	require.Equal(t, logToConsole, apps[0].AppLog)
}

func TestParseRunFileErrors(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "svc/bin", "components/", "config.yaml", "notadir")
	// entry is a valid app whose appDirPath and command can be swapped.
	entry := func(dir, command string) string {
		return "  - {appID: a, appDirPath: " + dir + ", appPort: 1, daprHTTPPort: 2, command: [" + command + "]"
	}
	app := entry("svc", "./bin")

	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{"invalid yaml", "version: [", "parse:"},
		{"missing version", "apps:\n" + app + "}", "version must be 1, got 0"},
		{"bad version", "version: 2\napps:\n" + app + "}", "version must be 1, got 2"},
		{"no apps", "version: 1", "no apps defined"},
		{"missing appID", "version: 1\napps:\n  - {appDirPath: svc}", "apps[0]: appID is required"},
		{"missing appDirPath", "version: 1\napps:\n  - {appID: a}", `app "a": appDirPath is required`},
		{"missing ports", "version: 1\napps:\n  - {appID: a, appDirPath: svc, command: [./bin]}", "appPort and daprHTTPPort are required"},
		{"missing command", "version: 1\napps:\n  - {appID: a, appDirPath: svc, appPort: 1, daprHTTPPort: 2}", "command is required"},
		{"appDirPath does not exist", "version: 1\napps:\n" + entry("nope", "./bin") + "}", "appDirPath: stat " + filepath.Join(root, "nope")},
		{"appDirPath is a file", "version: 1\napps:\n" + entry("notadir", "./bin") + "}", "is not a directory"},
		{"common resources path missing", "version: 1\ncommon: {resourcesPaths: [./components, ./missing]}\napps:\n" + app + "}",
			"resourcesPaths: stat " + filepath.Join(root, "missing")},
		{"app resources path is relative to appDirPath", "version: 1\napps:\n" + app + ", resourcesPaths: [./components]}",
			"resourcesPaths: stat " + filepath.Join(root, "svc", "components")},
		{"config missing", "version: 1\ncommon: {configFilePath: ./nope.yaml}\napps:\n" + app + "}", "configFilePath: stat"},
		{"command missing", "version: 1\napps:\n" + entry("svc", "../nope") + "}", "command: stat " + filepath.Join(root, "nope")},
		{"duplicate appID", "version: 1\napps:\n" + app + "}\n" + app + "}", `apps[1]: duplicate appID "a"`},
		{"bad log destination", "version: 1\ncommon: {appLogDestination: syslog}\napps:\n" + app + "}", `appLogDestination: "syslog" is not one of`},
		{"health path without slash", "version: 1\napps:\n" + app + ", appHealthCheckPath: healthz}", "must start with /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRunFile([]byte(tt.yaml), root)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
