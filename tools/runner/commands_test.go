package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDaprdArgs(t *testing.T) {
	tests := []struct {
		name string
		app  app
		want []string
	}{
		{
			name: "only what is set",
			app:  app{ID: "orders", AppPort: 8081, HTTPPort: 3501},
			want: []string{
				"--app-id", "orders", "--app-port", "8081", "--dapr-http-port", "3501",
				"--dapr-listen-addresses", "127.0.0.1",
				"--dapr-internal-grpc-listen-address", "127.0.0.1", "--log-as-json",
			},
		},
		{
			name: "everything",
			app: app{
				ID: "orders", AppPort: 8081, HTTPPort: 3501, GRPCPort: 50002, InternalGRPCPort: 50102, MetricsPort: 9091,
				AppProtocol: "http", AppChannelAddress: "127.0.0.1",
				ResourcesPaths: []string{"/r/components", "/r/resiliency"}, ConfigFile: "/r/config.yaml",
				LogLevel: "warn", HealthCheck: true, HealthCheckPath: "/healthz", ProbeInterval: 2, ProbeTimeout: 1000,
				APILogging: true, ProfilePort: 3901,
			},
			want: []string{
				"--app-id", "orders", "--app-port", "8081", "--app-protocol", "http", "--app-channel-address", "127.0.0.1",
				"--dapr-http-port", "3501", "--dapr-grpc-port", "50002", "--dapr-internal-grpc-port", "50102",
				"--metrics-port", "9091", "--dapr-listen-addresses", "127.0.0.1",
				"--dapr-internal-grpc-listen-address", "127.0.0.1",
				"--resources-path", "/r/components", "--resources-path", "/r/resiliency",
				"--config", "/r/config.yaml", "--log-level", "warn", "--log-as-json",
				"--enable-app-health-check", "--app-health-check-path", "/healthz",
				"--app-health-probe-interval", "2", "--app-health-probe-timeout", "1000",
				"--enable-api-logging", "--enable-profiling", "--profile-port", "3901",
			},
		},
		{
			name: "health check settings are dropped while the check is off",
			app:  app{ID: "a", AppPort: 1, HTTPPort: 2, HealthCheckPath: "/healthz", ProbeInterval: 2},
			want: []string{
				"--app-id", "a", "--app-port", "1", "--dapr-http-port", "2",
				"--dapr-listen-addresses", "127.0.0.1",
				"--dapr-internal-grpc-listen-address", "127.0.0.1", "--log-as-json",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, daprdArgs(tt.app, nil))
		})
	}
}

// lastValue returns the value exec would use for key: the last one in env.
func lastValue(env []string, key string) (string, bool) {
	value, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			value, found = v, true
		}
	}
	return value, found
}

func TestDaprdEnv(t *testing.T) {
	tests := []struct {
		name string
		base []string
		want string
	}{
		{"defaults to loopback", []string{"PATH=/bin"}, "127.0.0.1"},
		{"keeps the operator's value", []string{"DAPR_HOST_IP=10.0.0.5"}, "10.0.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := daprdEnv(tt.base, nil)
			got, _ := lastValue(env, "DAPR_HOST_IP")
			require.Equal(t, tt.want, got)
			require.Subset(t, env, tt.base)
		})
	}
}

func TestAppEnv(t *testing.T) {
	base := []string{"PATH=/bin", "LOG_LEVEL=debug", "APP_PORT=1"}
	full := app{
		ID: "orders", AppPort: 8081, HTTPPort: 3501, GRPCPort: 50002, MetricsPort: 9091,
		AppChannelAddress: "127.0.0.1", Env: map[string]string{"LOG_LEVEL": "info", "DB_URL": "postgres://db"},
	}
	tests := []struct {
		name   string
		app    app
		want   map[string]string
		absent []string
	}{
		{
			name: "run file and Dapr variables override the runner's",
			app:  full,
			want: map[string]string{
				"PATH": "/bin", "LOG_LEVEL": "info", "DB_URL": "postgres://db",
				"APP_ID": "orders", "APP_PORT": "8081", "APP_CHANNEL_ADDRESS": "127.0.0.1",
				"DAPR_HTTP_PORT": "3501", "DAPR_GRPC_PORT": "50002", "DAPR_METRICS_PORT": "9091",
			},
		},
		{
			name:   "unset values are left out",
			app:    app{ID: "a", AppPort: 1, HTTPPort: 2},
			want:   map[string]string{"APP_ID": "a", "APP_PORT": "1", "DAPR_HTTP_PORT": "2", "LOG_LEVEL": "debug"},
			absent: []string{"APP_CHANNEL_ADDRESS", "DAPR_GRPC_PORT", "DAPR_METRICS_PORT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := appEnv(base, tt.app)
			for k, want := range tt.want {
				got, _ := lastValue(env, k)
				require.Equal(t, want, got, k)
			}
			for _, k := range tt.absent {
				_, found := lastValue(env, k)
				require.False(t, found, k)
			}
		})
	}
}

func TestProcessSpecs(t *testing.T) {
	a := app{
		ID: "orders", Name: "orders", Dir: "/r/services/orders", Command: []string{"/r/.bin/orders", "-v"},
		AppPort: 8081, HTTPPort: 3501, AppLog: logToFile, DaprdLog: logToConsole,
	}
	second := a
	second.Name, second.Replicated, second.AppPort, second.HTTPPort = "orders-2", true, 8091, 3511
	specs := processSpecs([]app{a, second}, "/opt/daprd", []string{"PATH=/bin"}, time.Unix(1700000000, 0), nil)
	require.Len(t, specs, 4)

	require.Equal(t, procSpec{
		instance: "orders", role: roleDaprd, dir: a.Dir, path: "/opt/daprd", args: daprdArgs(a, nil),
		env: daprdEnv([]string{"PATH=/bin"}, nil), logTo: logToConsole,
		logFile: "/r/services/orders/.dapr/logs/orders_daprd_1700000000.log",
	}, specs[0])
	require.Equal(t, "orders.daprd", specs[0].label())

	require.Equal(t, procSpec{
		instance: "orders", role: roleApp, dir: a.Dir, path: "/r/.bin/orders", args: []string{"-v"},
		env: appEnv([]string{"PATH=/bin"}, a), logTo: logToFile,
		logFile: "/r/services/orders/.dapr/logs/orders_app_1700000000.log",
	}, specs[1])
	require.Equal(t, "orders", specs[1].label())

	// A replica: the same app id and directory, its own ports, labels and logs.
	require.Equal(t, procSpec{
		instance: "orders-2", role: roleDaprd, replicated: true, dir: a.Dir, path: "/opt/daprd", args: daprdArgs(second, nil),
		env: daprdEnv([]string{"PATH=/bin"}, nil), logTo: logToConsole,
		logFile: "/r/services/orders/.dapr/logs/orders-2_daprd_1700000000.log",
	}, specs[2])
	require.Equal(t, "orders-2.daprd", specs[2].label())
	require.Contains(t, strings.Join(specs[2].args, " "), "--app-id orders --app-port 8091 --dapr-http-port 3511")
	require.Equal(t, "orders-2", specs[3].label())
	appID, _ := lastValue(specs[3].env, "APP_ID")
	require.Equal(t, "orders", appID)
	port, _ := lastValue(specs[3].env, "APP_PORT")
	require.Equal(t, "8091", port)
}

func TestFindDaprd(t *testing.T) {
	dir := t.TempDir()
	flagBin := filepath.Join(dir, "flag-daprd")
	envBin := filepath.Join(dir, "env-daprd")
	homeBin := filepath.Join(dir, ".dapr", "bin", "daprd")
	writeTree(t, dir, "flag-daprd", "env-daprd", ".dapr/bin/daprd", "not-executable")
	require.NoError(t, os.Chmod(filepath.Join(dir, "not-executable"), 0o644))

	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "flag wins", flag: flagBin, env: map[string]string{"DAPRD": envBin, "HOME": dir}, want: flagBin},
		{name: "then DAPRD", env: map[string]string{"DAPRD": envBin, "HOME": dir}, want: envBin},
		{name: "then the dapr init location", env: map[string]string{"HOME": dir}, want: homeBin},
		{name: "missing", flag: filepath.Join(dir, "nope"), wantErr: "daprd not found"},
		{name: "not executable", flag: filepath.Join(dir, "not-executable"), wantErr: "daprd not found"},
		{name: "no HOME", wantErr: "HOME is unset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findDaprd(tt.flag, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSidecarsWithSentryRunMTLSAndTheirAccessPolicy(t *testing.T) {
	sec := &mtls{sentryAddress: "127.0.0.1:3800", trustAnchors: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", accessDir: "/r/access"}
	a := app{ID: "orders", AppPort: 8081, HTTPPort: 3501, ConfigFile: "/r/orders.yaml"}

	args := strings.Join(daprdArgs(a, sec), " ")
	require.Contains(t, args, "--config /r/orders.yaml --enable-mtls --sentry-address 127.0.0.1:3800 --config /r/access/orders.yaml",
		"the access policy comes after the app's own Configuration, which daprd merges in order")
	require.Contains(t, daprdEnv([]string{"PATH=/bin"}, sec), "DAPR_TRUST_ANCHORS="+sec.trustAnchors)

	plain := strings.Join(daprdArgs(a, nil), " ")
	require.NotContains(t, plain, "--enable-mtls")
	require.NotContains(t, strings.Join(daprdEnv(nil, nil), " "), "DAPR_TRUST_ANCHORS")
}

func TestAccessPoliciesNeedSentry(t *testing.T) {
	dir := t.TempDir()
	opts := sentryOptions{AccessConfigDir: dir}
	err := opts.validate()
	require.ErrorContains(t, err, "needs -sentry", "default-deny policies without mTLS would refuse every call")

	cfg := filepath.Join(dir, "sentry.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("kind: Configuration\n"), 0o600))
	opts = sentryOptions{Binary: "/bin/true", Config: cfg, Credentials: filepath.Join(dir, "creds"), AccessConfigDir: dir}
	require.NoError(t, opts.validate())
	require.DirExists(t, opts.Credentials, "the issuer credentials directory is created for Sentry to fill")
}
