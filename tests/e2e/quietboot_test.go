package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuietBoot: a healthy start prints no warning from Sentry, any
// sidecar or app, so that what a new user sees after `make run` is what
// matters (they log at warn level: a warning there is all they say).
func TestQuietBoot(t *testing.T) {
	var warnings []string
	for _, line := range sys.boot {
		if isWarning(line) {
			warnings = append(warnings, line)
		}
	}
	assert.Empty(t, warnings, "warnings of a healthy start (%d lines until ready)", len(sys.boot))
}

// isWarning reports whether line is a warning in the sidecars' JSON
// ("level":"warning"), the apps' JSON ("level":"WARN") or logfmt
// (level=warning).
func isWarning(line string) bool {
	l := strings.ToLower(line)
	return strings.Contains(l, `"level":"warn`) || strings.Contains(l, "level=warn")
}

// TestNoDeprecatedDaprAPI: by now every app has called another through
// its sidecar (the signing keys, the cron jobs) and no sidecar logged the
// use of a Dapr API that a later release drops.
func TestNoDeprecatedDaprAPI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sys.root, ".run", "e2e.log"))
	require.NoError(t, err)
	var notices []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "DEPRECATION") {
			notices = append(notices, line)
		}
	}
	assert.Empty(t, notices)
}
