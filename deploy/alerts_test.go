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
// `kubectl apply -k` does and checks that its ConfigMap carries alerts.yml
// and prometheus-kubernetes.yml byte for byte: the cluster's Prometheus
// evaluates the rules that `promtool test rules` checked, nothing older.
func TestClusterGetsTheTestedAlertRules(t *testing.T) {
	var maps []*corev1.ConfigMap
	for _, d := range render(t, observeDir) {
		if cm, ok := d.Obj.(*corev1.ConfigMap); ok {
			maps = append(maps, cm)
		}
	}
	require.Len(t, maps, 1, "one ConfigMap of Prometheus' configuration")
	cm := maps[0]
	assert.Equal(t, "monitoring", cm.Namespace, "the namespace the network policies let scrape")
	for key, file := range map[string]string{
		"alerts.yml":     "alerts.yml",
		"prometheus.yml": "prometheus-kubernetes.yml",
	} {
		want, err := os.ReadFile(filepath.Join(observeDir, file))
		require.NoError(t, err)
		assert.Equal(t, string(want), cm.Data[key], "%s differs from %s", key, file)
	}
	assert.Len(t, cm.Data, 2)
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
