// Package configtest keeps the generated configuration reference
// (docs/configuration) in step with the settings structs.
package configtest

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/config"
)

// Update is the command that rewrites every page of the reference.
const Update = "make config-docs"

// Page renders the reference page of settings.
func Page(title, intro string, settings any) string {
	return "# " + title + "\n\n" +
		"<!-- Generated from the settings' struct tags by `" + Update + "`: edit the tags, not this file. -->\n\n" +
		intro + "\n\n" + config.Document(settings)
}

// Check fails t when the file at path differs from the page of settings;
// with UPDATE_CONFIG_DOCS=1 in the environment it writes the page instead.
func Check(t testing.TB, path, title, intro string, settings any) {
	t.Helper()
	want := Page(title, intro, settings)
	if os.Getenv("UPDATE_CONFIG_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `%s`", err, Update)
	}
	assert.Equal(t, want, string(got), "%s is out of date with the settings: run `%s`", path, Update)
}

// CheckService is Check for the page of a service's own settings, run from
// the service's module root (services/<service>).
func CheckService(t testing.TB, service string, settings any) {
	t.Helper()
	Check(t, "../../docs/configuration/"+service+".md", "Settings of "+service,
		"Read by "+service+" besides [the settings of every service](platform.md).", settings)
}
