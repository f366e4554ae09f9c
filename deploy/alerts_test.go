package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestClusterGetsTheTestedAlertRules renders deploy/observability as
// `kubectl apply -k` does and checks that its ConfigMaps carry alerts.yml,
// prometheus-kubernetes.yml and every dashboard of dashboards/ byte for
// byte: the cluster's Prometheus evaluates the rules that `promtool test
// rules` checked, and its Grafana shows the dashboards whose every query
// the e2e suite evaluated, nothing older.
func TestClusterGetsTheTestedAlertRules(t *testing.T) {
	maps := map[string]*corev1.ConfigMap{}
	for _, d := range render(t, observeDir) {
		if cm, ok := d.Obj.(*corev1.ConfigMap); ok {
			maps[cm.Name] = cm
		}
	}
	require.Len(t, maps, 2, "Prometheus' configuration and the dashboards")
	want := map[string]map[string]string{
		"prometheus-daprshop":         {"alerts.yml": "alerts.yml", "prometheus.yml": "prometheus-kubernetes.yml"},
		"grafana-dashboards-daprshop": {},
	}
	dashboards, err := filepath.Glob(filepath.Join(observeDir, "dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, dashboards)
	for _, file := range dashboards {
		want["grafana-dashboards-daprshop"][filepath.Base(file)] = filepath.Join("dashboards", filepath.Base(file))
	}
	for name, files := range want {
		t.Run(name, func(t *testing.T) {
			cm := maps[name]
			require.NotNil(t, cm)
			assert.Equal(t, "monitoring", cm.Namespace, "the namespace the network policies let scrape")
			for key, file := range files {
				want, err := os.ReadFile(filepath.Join(observeDir, file))
				require.NoError(t, err)
				assert.Equal(t, string(want), cm.Data[key], "%s differs from %s", key, file)
			}
			assert.Len(t, cm.Data, len(files), "every file of dashboards/ listed in the kustomization, and nothing else")
		})
	}
	assert.Equal(t, "1", maps["grafana-dashboards-daprshop"].Labels["grafana_dashboard"],
		"the label Grafana's dashboard sidecar loads ConfigMaps by")
}

// TestEveryAlertRuleIsTested: promtool only runs the tests there are, so a
// rule added without one would pass unnoticed.
func TestEveryAlertRuleIsTested(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				AlertName string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	for file, v := range map[string]any{"alerts.yml": &rules, "alerts_test.yml": &tests} {
		data, err := os.ReadFile(filepath.Join(observeDir, file))
		require.NoError(t, err)
		require.NoError(t, yaml.Unmarshal(data, v), file)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			fires[a.AlertName] = fires[a.AlertName] || len(a.ExpAlerts) > 0
		}
	}
	var n int
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			assert.True(t, fires[r.Alert], "no test in alerts_test.yml expects %s to fire", r.Alert)
		}
	}
	assert.GreaterOrEqual(t, n, 8)
}
