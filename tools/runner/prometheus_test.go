package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// promInput is a config as deploy/observability/prometheus.yml is laid out:
// an app and a sidecar target for each app of promRunFile.
const promInput = `
global:
  scrape_interval: 5s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: apps
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:3002"]
        labels: {app: products}
      - targets: ["127.0.0.1:3003"]
        labels: {app: orders}
  - job_name: daprd
    static_configs:
      - targets: ["127.0.0.1:9092"]
        labels: {app: products}
      - targets: ["127.0.0.1:9093"]
        labels: {app: orders}
      - targets: ["127.0.0.1:9190"]
`

// promRunFile is a run file of products and orders, both with the ports
// replicas need.
func promRunFile(t *testing.T) string {
	return writeRunFile(t, "true",
		testApp{id: "products", appPort: 3002, daprPort: 3502, extra: "daprGRPCPort: 3602\ndaprInternalGRPCPort: 3702\nmetricsPort: 9092\n"},
		testApp{id: "orders", appPort: 3003, daprPort: 3503, extra: "daprGRPCPort: 3603\ndaprInternalGRPCPort: 3703\nmetricsPort: 9093\n"})
}

// writePromInput writes config as obs/prometheus.yml under a temp dir and
// returns its path and where the output goes, out/prometheus.yml.
func writePromInput(t *testing.T, config string) (in, out string) {
	root := t.TempDir()
	in = filepath.Join(root, "obs", "prometheus.yml")
	out = filepath.Join(root, "out", "prometheus.yml")
	require.NoError(t, os.MkdirAll(filepath.Dir(in), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	require.NoError(t, os.WriteFile(in, []byte(config), 0o644))
	return in, out
}

func target(addr, app string) staticConfig {
	st := staticConfig{Targets: []string{addr}}
	if app != "" {
		st.Labels = map[string]string{"app": app}
	}
	return st
}

func TestPrometheusAddsFurtherInstances(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas []string
		apps     []staticConfig
		daprd    []staticConfig
	}{
		{
			name: "without replicas the targets are the input's",
			apps: []staticConfig{target("127.0.0.1:3002", "products"), target("127.0.0.1:3003", "orders")},
			daprd: []staticConfig{target("127.0.0.1:9092", "products"), target("127.0.0.1:9093", "orders"),
				target("127.0.0.1:9190", "")},
		},
		{
			name:     "a replicated app's further instances follow its first, the others stay",
			replicas: []string{"-replicas", "products=3"},
			apps: []staticConfig{target("127.0.0.1:3002", "products"), target("127.0.0.1:3012", "products"),
				target("127.0.0.1:3022", "products"), target("127.0.0.1:3003", "orders")},
			daprd: []staticConfig{target("127.0.0.1:9092", "products"), target("127.0.0.1:9102", "products"),
				target("127.0.0.1:9112", "products"), target("127.0.0.1:9093", "orders"), target("127.0.0.1:9190", "")},
		},
		{
			name:     "every replicated app",
			replicas: []string{"-replicas", "products=2,orders=2"},
			apps: []staticConfig{target("127.0.0.1:3002", "products"), target("127.0.0.1:3012", "products"),
				target("127.0.0.1:3003", "orders"), target("127.0.0.1:3013", "orders")},
			daprd: []staticConfig{target("127.0.0.1:9092", "products"), target("127.0.0.1:9102", "products"),
				target("127.0.0.1:9093", "orders"), target("127.0.0.1:9103", "orders"), target("127.0.0.1:9190", "")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, out := writePromInput(t, promInput)
			args := append([]string{"prometheus", "-f", promRunFile(t), "-o", out}, tc.replicas...)
			require.NoError(t, run(context.Background(), append(args, in), io.Discard, nil))

			data, err := os.ReadFile(out)
			require.NoError(t, err)
			var got promConfig
			require.NoError(t, yaml.Unmarshal(data, &got))
			assert.Equal(t, promConfig{
				Global:    map[string]any{"scrape_interval": "5s"},
				RuleFiles: []string{filepath.Join("..", "obs", "alerts.yml")},
				ScrapeConfigs: []scrapeConfig{
					{JobName: "apps", MetricsPath: "/metrics", StaticConfigs: tc.apps},
					{JobName: "daprd", StaticConfigs: tc.daprd},
				},
			}, got)
		})
	}
}

func TestPrometheusRefusesWhatItCannotCopy(t *testing.T) {
	for _, tc := range []struct {
		name, config, replicas, want string
	}{
		{
			name:   "a setting the copy would drop",
			config: "scrape_configs:\n  - job_name: apps\n    scrape_timeout: 2s\n",
			want:   "field scrape_timeout not found",
		},
		{
			name:   "an app label naming no app of the run file",
			config: "scrape_configs:\n  - job_name: apps\n    static_configs:\n      - targets: [\"127.0.0.1:3009\"]\n        labels: {app: cart}\n",
			want:   `job apps: label app="cart" names no app of the run file`,
		},
		{
			name:   "a target without a port",
			config: "scrape_configs:\n  - job_name: apps\n    static_configs:\n      - targets: [\"127.0.0.1\"]\n        labels: {app: orders}\n",
			want:   `job apps: target "127.0.0.1": address 127.0.0.1: missing port in address`,
		},
		{
			name:     "replicas of no app of the run file",
			config:   promInput,
			replicas: "cart=2",
			want:     `replicas: no app "cart" in the run file`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, out := writePromInput(t, tc.config)
			args := []string{"prometheus", "-f", promRunFile(t), "-o", out}
			if tc.replicas != "" {
				args = append(args, "-replicas", tc.replicas)
			}
			err := run(context.Background(), append(args, in), io.Discard, nil)
			assert.ErrorContains(t, err, tc.want)
			assert.NoFileExists(t, out)
		})
	}
}
