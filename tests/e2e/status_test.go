package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStatus runs what `make status` runs against the booted system, with
// the suite's replicas and broker: every instance, its sidecar and every
// dependency must be reported up.
func TestStatus(t *testing.T) {
	args := []string{"status", "-f", filepath.Join(sys.root, "dapr.yaml"), "-replicas", replicaFlag()}
	if broker := os.Getenv("PUBSUB"); broker != "" {
		args = append(args, "-pubsub", broker)
	}
	out, err := exec.CommandContext(ctx(t), filepath.Join(sys.root, ".bin", "runner"), args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	report := string(out)
	var instances int
	for _, app := range apps {
		n := len(instancePorts(app, 0))
		for i := range n {
			// The runner's names: the app id, or <app id>-<n> when replicated.
			name := app
			if n > 1 {
				name = app + "-" + strconv.Itoa(i+1)
			}
			instances++
			t.Run(name, func(t *testing.T) {
				line := lineStarting(report, name+" ")
				require.NotEmpty(t, line, "a line for %s in\n%s", name, report)
				assert.Regexp(t, `^\S+\s+up, dapr ok.*\s+up`, line, "ready, and its sidecar healthy")
			})
		}
	}
	assert.Contains(t, report, "all up: "+strconv.Itoa(instances)+" instances")
	assert.NotContains(t, report, "DOWN")
	for _, ui := range []string{"http://127.0.0.1:3000", "http://127.0.0.1:8025", prometheusURL} {
		assert.Contains(t, report, ui)
	}
}

// lineStarting is the first line of s that starts with prefix.
func lineStarting(s, prefix string) string {
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimRight(line, "\n")
		}
	}
	return ""
}
