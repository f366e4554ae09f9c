package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
