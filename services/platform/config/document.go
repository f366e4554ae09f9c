package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Document renders the settings of the struct s (a value or pointer) as a
// Markdown table: variable, default and meaning.
func Document(s any) string {
	t := reflect.TypeOf(s)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning |\n|---|---|---|\n")
	for f := range settings(t) {
		def := ""
		if d := f.tag.Get("default"); d != "" {
			def = "`" + d + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.name, def, cell(f.tag.Get("doc")))
	}
	return b.String()
}

// cell keeps text inside one table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
