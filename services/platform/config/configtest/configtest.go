// Package configtest keeps the generated configuration reference
// (docs/configuration) in step with the settings structs, and checks that
// a service refuses to start on a malformed setting.
package configtest

import (
	"context"
	"fmt"
	"io"
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

// Run starts a service as its main does, until ctx ends.
type Run func(ctx context.Context, getenv config.Getenv, logOut io.Writer) error

// Malformed is one setting with a value that cannot be read; Problem is
// what the error says of the value (such as "is not a duration").
type Malformed struct {
	Name, Value, Problem string
}

// CheckService checks a service's settings from its module root
// (services/<service>): the page of its own settings is up to date (see
// Check), and run, given only the malformed setting, fails on it.
func CheckService(t *testing.T, service string, settings any, run Run, bad Malformed) {
	t.Helper()
	t.Run("reference page", func(t *testing.T) {
		Check(t, "../../docs/configuration/"+service+".md", "Settings of "+service,
			"Read by "+service+" besides [the settings of every service](platform.md).", settings)
	})
	t.Run("malformed setting stops the start", func(t *testing.T) {
		// Before anything is opened: a start would need a sidecar and
		// create a database.
		err := run(context.Background(), func(name string) string {
			if name == bad.Name {
				return bad.Value
			}
			return ""
		}, io.Discard)
		assert.ErrorContains(t, err, fmt.Sprintf("%s: %q %s", bad.Name, bad.Value, bad.Problem))
	})
}
