// Package routes is the gateway's route table: path prefix → app-id.
package routes

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route sends requests under Prefix to the app App.
type Route struct {
	Prefix string `yaml:"prefix"`
	App    string `yaml:"app"`
}

// Table matches request paths to routes.
type Table struct {
	routes []Route // longest prefix first
}

// Load reads a route table file.
func Load(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open route table: %w", err)
	}
	defer f.Close()
	var doc struct {
		Routes []Route `yaml:"routes"`
	}
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode route table %s: %w", path, err)
	}
	return New(doc.Routes)
}

// New validates routes and builds a Table.
func New(routes []Route) (*Table, error) {
	seen := map[string]bool{}
	var errs []error
	for i, r := range routes {
		switch {
		case !strings.HasPrefix(r.Prefix, "/") || (len(r.Prefix) > 1 && strings.HasSuffix(r.Prefix, "/")):
			errs = append(errs, fmt.Errorf("route %d: prefix %q must start with / and not end with one", i, r.Prefix))
		case r.App == "":
			errs = append(errs, fmt.Errorf("route %d (%s): app is required", i, r.Prefix))
		case seen[r.Prefix]:
			errs = append(errs, fmt.Errorf("route %d: prefix %q is listed twice", i, r.Prefix))
		}
		seen[r.Prefix] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sorted := append([]Route(nil), routes...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i].Prefix) > len(sorted[j].Prefix) })
	return &Table{routes: sorted}, nil
}

// Match returns the route whose prefix is the longest one that path starts
// with on a segment boundary: /api/v1/orders matches /api/v1/orders/42 but
// not /api/v1/ordersx.
func (t *Table) Match(path string) (Route, bool) {
	for _, r := range t.routes {
		if rest, ok := strings.CutPrefix(path, r.Prefix); ok && (rest == "" || rest[0] == '/' || r.Prefix == "/") {
			return r, true
		}
	}
	return Route{}, false
}
