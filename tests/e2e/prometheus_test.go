package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

const (
	// prometheusAddr is where `make run` starts Prometheus too: its default
	// port, 9090, is the gateway sidecar's metrics port.
	prometheusAddr = "127.0.0.1:9190"
	prometheusURL  = "http://" + prometheusAddr
	// prometheusConfig and prometheusData are relative to the repository
	// root, where the suite starts Prometheus.
	prometheusConfig = ".run/prometheus-e2e.yml"
	prometheusData   = ".run/prometheus-e2e"
)

// preparePrometheus writes the suite's Prometheus config and empties its
// database. The config is the one `make run` writes, with the runner's
// prometheus command: deploy/observability/prometheus.yml with each further
// instance of the apps the suite replicates as a target of its own.
func preparePrometheus(root string) error {
	if err := os.RemoveAll(filepath.Join(root, prometheusData)); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(root, ".bin", "runner"), "prometheus", "-f", "dapr.yaml",
		"-replicas", replicaFlag(), "-o", prometheusConfig, filepath.Join("deploy", "observability", "prometheus.yml"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("write the Prometheus config (run `make build`): %w\n%s", err, out)
	}
	return nil
}

// promResult is one series of a Prometheus instant query.
type promResult struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

// value is the series' sample.
func (r promResult) value(t *testing.T) float64 {
	t.Helper()
	s, ok := r.Value[1].(string)
	require.True(t, ok, "sample value %v", r.Value)
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

// promQuery runs an instant query and returns its series; an invalid query
// fails the test.
func promQuery(t *testing.T, query string) []promResult {
	t.Helper()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promResult `json:"result"`
		} `json:"data"`
	}
	promGet(t, "/api/v1/query?query="+url.QueryEscape(query), &out)
	require.Equal(t, "success", out.Status, "%s: %s", query, out.Error)
	require.Equal(t, "vector", out.Data.ResultType, query)
	return out.Data.Result
}

// promGet decodes the answer of Prometheus' API at path into v.
func promGet(t *testing.T, path string, v any) {
	t.Helper()
	resp := call(t, http.MethodGet, prometheusURL+path, nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s: %s", path, resp.Body)
	require.NoError(t, json.Unmarshal([]byte(resp.Body), v), path)
}

// scrapeWait bounds the wait for a change to show in Prometheus: a few of
// prometheus.yml's 5-second scrape intervals.
const scrapeWait = 30 * time.Second

// apps are the app ids of dapr.yaml.
var apps = []string{"gateway", "auth", "products", "orders", "payments", "notifications", "workers"}

// sum is the sum of query's series, 0 when it has none.
func sum(t *testing.T, query string) float64 {
	t.Helper()
	var total float64
	for _, r := range promQuery(t, query) {
		total += r.value(t)
	}
	return total
}

// TestMetrics drives one checkout with a saved card until the order is paid
// and its stock committed, then reads Prometheus as an operator would:
// every app and every sidecar is a target that is up, the alert rules
// evaluate without error, and the business and reliability metrics count
// this checkout.
func TestMetrics(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}

	// Counters the checkout must move, read before it (0 when Prometheus
	// has not seen the series yet).
	counters := []struct{ name, query string }{
		{"orders published order.created", `sum(outbox_events_published_total{service="orders", topic="order.created"})`},
		{"payments by outcome: succeeded", `sum(outbox_events_published_total{service="payments", topic="payment.succeeded"})`},
		{"payments processed order.created", `sum(events_handled_total{service="payments", topic="order.created", outcome="processed"})`},
		{"orders processed payment.succeeded", `sum(events_handled_total{service="orders", topic="payment.succeeded", outcome="processed"})`},
		{"products processed order.paid", `sum(events_handled_total{service="products", topic="order.paid", outcome="processed"})`},
		{"checkout requests served by orders", `sum(http_request_duration_seconds_count{service="orders", method="POST"})`},
		{"payments' sidecar called stripe through its circuit breaker", `sum(dapr_resiliency_count{app_id="payments", policy="circuitbreaker", target="app_stripe"})`},
		{"the purge job ran", `sum(workers_job_runs_total{job_name="cron-purge"})`},
	}
	before := make([]float64, len(counters))
	for i, c := range counters {
		before[i] = sum(t, c.query)
	}

	productID := s.newProduct(t, 990, 5)
	customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
	s.saveCard(t, customer, "pm_card_visa")
	require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)
	resp := s.checkout(t, customer, uuid.NewString(), shipTo)
	require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
	var o orderJSON
	resp.JSON(t, &o)
	s.waitStatus(t, customer, o.ID, "paid")
	s.waitInventory(t, productID, inventory{OnHand: 4, Available: 4})
	runJob(t, "cron-purge")

	t.Run("every app and every sidecar is a target that is up", func(t *testing.T) {
		want := map[string]int{}
		for _, app := range apps {
			n := len(instancePorts(app, 0))
			want["daprshop-apps/"+app] = n
			want["daprd/"+app] = n
		}
		var got map[string]int
		var down []string
		require.Eventually(t, func() bool {
			var out struct {
				Data struct {
					ActiveTargets []struct {
						Labels    map[string]string `json:"labels"`
						ScrapeURL string            `json:"scrapeUrl"`
						Health    string            `json:"health"`
						LastError string            `json:"lastError"`
					} `json:"activeTargets"`
				} `json:"data"`
			}
			promGet(t, "/api/v1/targets?state=active", &out)
			got, down = map[string]int{}, nil
			for _, target := range out.Data.ActiveTargets {
				if target.Health != "up" {
					down = append(down, fmt.Sprintf("%s %s: %s %s", target.Labels["job"], target.ScrapeURL, target.Health, target.LastError))
					continue
				}
				got[target.Labels["job"]+"/"+target.Labels["app"]]++
			}
			return len(down) == 0 && maps.Equal(want, got)
		}, scrapeWait, time.Second, "targets up by job/app: want %v", want)
		assert.Empty(t, down)
		assert.Equal(t, want, got)
	})

	t.Run("the alert rules load and evaluate", func(t *testing.T) {
		var rules []string
		require.Eventually(t, func() bool {
			var out struct {
				Data struct {
					Groups []struct {
						Rules []struct {
							Name      string `json:"name"`
							Health    string `json:"health"`
							LastError string `json:"lastError"`
						} `json:"rules"`
					} `json:"groups"`
				} `json:"data"`
			}
			promGet(t, "/api/v1/rules?type=alert", &out)
			rules = nil
			ok := true
			for _, g := range out.Data.Groups {
				for _, r := range g.Rules {
					rules = append(rules, r.Name+": "+r.Health+" "+r.LastError)
					ok = ok && r.Health == "ok"
				}
			}
			return ok && len(rules) > 0
		}, scrapeWait, time.Second, "every rule evaluated once")
		assert.Len(t, rules, 8, "%v", rules)
	})

	t.Run("the checkout shows in the counters", func(t *testing.T) {
		for i, c := range counters {
			t.Run(c.name, func(t *testing.T) {
				var now float64
				require.Eventually(t, func() bool {
					now = sum(t, c.query)
					return now > before[i]
				}, scrapeWait, time.Second, "%s: was %v", c.query, before[i])
			})
		}
	})

	// Gauges read from the databases at each scrape: every producing
	// service's outbox, the reservations, the dead letters; present for
	// every instance.
	t.Run("the gauges report", func(t *testing.T) {
		for _, g := range []struct{ query, by string }{
			{`outbox_backlog`, "service"},
			{`outbox_lag_seconds`, "service"},
			{`stock_reservations_held`, "instance"},
			{`stock_units_reserved`, "instance"},
			{`dead_letters_unresolved`, "service"},
		} {
			t.Run(g.query, func(t *testing.T) {
				var got []string
				require.Eventually(t, func() bool {
					got = nil
					for _, r := range promQuery(t, g.query) {
						got = append(got, r.Metric[g.by])
					}
					return len(got) > 0
				}, scrapeWait, time.Second)
				if g.by == "instance" {
					assert.Len(t, got, len(instancePorts("products", 0)), "each products instance: %v", got)
				}
			})
		}
		outboxes := map[string]bool{}
		for _, r := range promQuery(t, `outbox_backlog`) {
			outboxes[r.Metric["service"]] = true
		}
		for _, producer := range []string{"auth", "products", "orders", "payments"} {
			assert.True(t, outboxes[producer], "%s's outbox backlog in %v", producer, outboxes)
		}
	})
}
