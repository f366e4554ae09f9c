package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dashboard is what TestDashboards reads of a Grafana dashboard's JSON.
type dashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			AllValue string `json:"allValue"`
			Query    any    `json:"query"` // a string, or {"query": ...}
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// grafanaVariable is a $name or ${name} in a query.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// labelValues is a query variable's definition: label_values(metric, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// TestDashboards evaluates every query of every panel of the dashboards in
// deploy/observability/dashboards against the suite's Prometheus, as
// Grafana would over a range covering the whole run, and fails on an
// invalid query or one that returns nothing to draw: no panel is
// decorative.
//
// It is parallel so that it runs last: Go holds a parallel top-level test
// until every sequential one has finished, and the suite's other tests are
// sequential. By then they have driven checkouts, payments, refunds,
// cancellations, dead letters, the jobs and (with TestChaos) open circuit
// breakers through the system. Run alone, it sees what a freshly booted
// system shows.
//
// Grafana's variables are substituted as a user opening the dashboard
// with the defaults would have them: $__range and $__rate_interval are
// the time since Prometheus started (the dashboard's range is the run),
// and each query variable is its "All" value. A query variable's own
// label_values query must find values too.
func TestDashboards(t *testing.T) {
	t.Parallel()
	var runtime struct {
		Data struct {
			StartTime time.Time `json:"startTime"`
		} `json:"data"`
	}
	promGet(t, "/api/v1/status/runtimeinfo", &runtime)
	// At least two scrapes wide, as Grafana's $__rate_interval is, so that
	// rate() has two samples however short the run.
	seconds := max(int(math.Ceil(time.Since(runtime.Data.StartTime).Seconds())), 4*5)
	window := strconv.Itoa(seconds) + "s"
	builtins := map[string]string{"__range": window, "__rate_interval": window, "__interval": window}

	files, err := filepath.Glob(filepath.Join(sys.root, "deploy", "observability", "dashboards", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 5, "overview, checkout funnel, events and outbox, sidecars, jobs")
	var panels int
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var d dashboard
		require.NoError(t, json.Unmarshal(data, &d), file)
		t.Run(filepath.Base(file), func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range builtins {
				vars[k] = v
			}
			for _, v := range d.Templating.List {
				switch v.Type {
				case "datasource":
					continue // names the data source, in no query
				case "query":
					require.NotEmpty(t, v.AllValue, "variable %s: an All value", v.Name)
					vars[v.Name] = v.AllValue
					def, _ := v.Query.(map[string]any)
					m := labelValues.FindStringSubmatch(fmt.Sprint(def["query"]))
					require.NotNil(t, m, "variable %s: a label_values(metric, label) query", v.Name)
					t.Run("variable "+v.Name, func(t *testing.T) {
						assert.NotEmpty(t, promQuery(t, "count by ("+m[2]+") ("+m[1]+")"), "%s: no values to choose from", m[0])
					})
				default:
					t.Fatalf("variable %s: type %s this test cannot substitute", v.Name, v.Type)
				}
			}
			for _, p := range d.Panels {
				if p.Type == "row" {
					continue
				}
				panels++
				require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
				for _, target := range p.Targets {
					t.Run(p.Title+"/"+target.RefID, func(t *testing.T) {
						query := grafanaVariable.ReplaceAllStringFunc(target.Expr, func(ref string) string {
							name := grafanaVariable.FindStringSubmatch(ref)[1]
							v, ok := vars[name]
							require.True(t, ok, "unknown variable %s in %s", ref, target.Expr)
							return v
						})
						// An invalid query fails at once; an empty one is
						// asked again until a scrape after the last test's
						// traffic (or, run alone, the first ones after boot).
						// Nothing in the condition fails t itself: a late
						// evaluation must not fail a finished test.
						_, err := promTry(query)
						require.NoError(t, err, "panel %q", p.Title)
						assert.EventuallyWithT(t, func(c *assert.CollectT) {
							got, err := promTry(query)
							if assert.NoError(c, err) {
								assert.True(c, hasNumber(got), "%s returns %d series, none with a number: %v", query, len(got), got)
							}
						}, scrapeWait, time.Second, "panel %q", p.Title)
					})
				}
			}
		})
	}
	t.Logf("%d panels of %d dashboards evaluated over the last %s", panels, len(files), window)
}

// promTry runs an instant query like promQuery, but returns what fails
// instead of failing the test, so that it can be retried.
func promTry(query string) ([]promResult, error) {
	resp, err := http.Get(prometheusURL + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promResult `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", query, resp.Status, err)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("%s: %s", query, out.Error)
	}
	if out.Data.ResultType != "vector" {
		return nil, fmt.Errorf("%s: a %s, not a vector", query, out.Data.ResultType)
	}
	return out.Data.Result, nil
}

// hasNumber reports whether a series of rs has a sample a panel can draw:
// not NaN (a ratio or quantile of nothing), not infinite.
func hasNumber(rs []promResult) bool {
	for _, r := range rs {
		s, _ := r.Value[1].(string)
		if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return true
		}
	}
	return false
}
