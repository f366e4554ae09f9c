// Package routes is the gateway's configuration file: the route table (path
// prefix and methods → app-id, who may call it, which rate limit applies),
// CORS and rate limits.
package routes

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Access levels of a route.
const (
	Public = "public" // anyone; a valid bearer token, if sent, picks the rate-limit bucket unless the route names a limit
	User   = "user"   // a valid access token
	Admin  = "admin"  // a valid access token granting an admin role (authn.AdminRoles)
)

// Route sends requests under Prefix (and, when listed, only those Methods)
// to the app App.
type Route struct {
	Prefix  string   `yaml:"prefix"`
	Methods []string `yaml:"methods"`
	App     string   `yaml:"app"`
	// Access is Public, User or Admin.
	Access    string `yaml:"access"`
	RateLimit string `yaml:"rateLimit"`
	// Cache lets the gateway answer anonymous GETs of a public route from
	// its microcache (at most a second old).
	Cache bool `yaml:"cache"`
}

// Pattern names the route as matched by path, in few names: its prefix,
// with "/*" when path goes past it.
func (r Route) Pattern(path string) string {
	if len(path) == len(r.Prefix) {
		return r.Prefix
	}
	return strings.TrimSuffix(r.Prefix, "/") + "/*"
}

// Authenticated reports whether the route needs a valid token.
func (r Route) Authenticated() bool { return r.Access == User || r.Access == Admin }

// Limit allows Requests per Window for one client.
type Limit struct {
	Requests int           `yaml:"requests"`
	Window   time.Duration `yaml:"window"`
}

// CORS lists the browser origins allowed to call the API.
type CORS struct {
	AllowOrigins []string `yaml:"allowOrigins"`
}

// Config is the gateway's configuration file.
type Config struct {
	CORS CORS `yaml:"cors"`
	// RateLimits by name; "default" applies to routes that name none.
	RateLimits map[string]Limit `yaml:"rateLimits"`
	Routes     []Route          `yaml:"routes"`
}

// Load reads and validates a configuration file; unknown keys are errors.
func Load(path string) (*Config, *Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open gateway config: %w", err)
	}
	defer f.Close()
	var cfg Config
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, nil, fmt.Errorf("decode gateway config %s: %w", path, err)
	}
	table, err := New(cfg.Routes, cfg.RateLimits)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway config %s: %w", path, err)
	}
	return &cfg, table, nil
}

// Table matches requests to routes.
type Table struct {
	routes []Route // longest prefix first; among equal prefixes, method-specific first
	cached map[string]bool
}

// New validates routes against the named limits and builds a Table.
func New(routes []Route, limits map[string]Limit) (*Table, error) {
	if _, ok := limits["default"]; !ok {
		return nil, errors.New(`rateLimits needs a "default" limit`)
	}
	var errs []error
	for name, l := range limits {
		if l.Requests < 1 || l.Window <= 0 {
			errs = append(errs, fmt.Errorf("rate limit %q: requests and window must be positive", name))
		}
	}
	seen := map[string]bool{}
	for i, r := range routes {
		key := r.Prefix + " " + strings.Join(r.Methods, ",")
		switch {
		case !strings.HasPrefix(r.Prefix, "/") || (len(r.Prefix) > 1 && strings.HasSuffix(r.Prefix, "/")):
			errs = append(errs, fmt.Errorf("route %d: prefix %q must start with / and not end with one", i, r.Prefix))
		case r.App == "":
			errs = append(errs, fmt.Errorf("route %d (%s): app is required", i, r.Prefix))
		case r.Access != Public && r.Access != User && r.Access != Admin:
			errs = append(errs, fmt.Errorf("route %d (%s): access must be %q, %q or %q", i, r.Prefix, Public, User, Admin))
		case r.Cache && (r.Access != Public || len(r.Methods) == 0 || slices.ContainsFunc(r.Methods, func(m string) bool { return m != "GET" && m != "HEAD" })):
			errs = append(errs, fmt.Errorf("route %d (%s): only public GET and HEAD routes may be cached", i, r.Prefix))
		case seen[key]:
			errs = append(errs, fmt.Errorf("route %d: prefix %q with methods %v is listed twice", i, r.Prefix, r.Methods))
		}
		if _, ok := limits[r.RateLimit]; r.RateLimit != "" && !ok {
			errs = append(errs, fmt.Errorf("route %d (%s): unknown rate limit %q", i, r.Prefix, r.RateLimit))
		}
		for _, m := range r.Methods {
			if m != strings.ToUpper(m) {
				errs = append(errs, fmt.Errorf("route %d (%s): method %q must be upper case", i, r.Prefix, m))
			}
		}
		seen[key] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sorted := append([]Route(nil), routes...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if len(sorted[i].Prefix) != len(sorted[j].Prefix) {
			return len(sorted[i].Prefix) > len(sorted[j].Prefix)
		}
		return len(sorted[i].Methods) > 0 && len(sorted[j].Methods) == 0
	})
	cached := map[string]bool{}
	for _, r := range routes {
		if r.Cache {
			cached[r.App] = true
		}
	}
	return &Table{routes: sorted, cached: cached}, nil
}

// Cached reports whether some route caches answers of app.
func (t *Table) Cached(app string) bool { return t.cached[app] }

// Match returns the route for a request: the longest prefix that path
// starts with on a segment boundary (/api/v1/orders matches
// /api/v1/orders/42 but not /api/v1/ordersx) and that allows method.
func (t *Table) Match(method, path string) (Route, bool) {
	for _, r := range t.routes {
		rest, ok := strings.CutPrefix(path, r.Prefix)
		if !ok || (rest != "" && rest[0] != '/' && r.Prefix != "/") {
			continue
		}
		if len(r.Methods) == 0 || slices.Contains(r.Methods, method) {
			return r, true
		}
	}
	return Route{}, false
}
