package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// replicas is how many instances of an app the suite starts (the runner's
// -replicas); the apps it leaves out start once.
var replicas = map[string]int{"products": 2}

// replicaPortStep: the runner starts the n-th instance of an app on each of
// the app's ports in dapr.yaml plus (n-1)*replicaPortStep.
const replicaPortStep = 10

// staleWindow is how long the name resolver still hands out an instance
// that died without deregistering: updateInterval plus lookupCacheTTL in
// config/<app-id>.yaml.
const staleWindow = 6*time.Second + 1*time.Second

func replicaFlag() string {
	var pairs []string
	for app, n := range replicas {
		pairs = append(pairs, app+"="+strconv.Itoa(n))
	}
	return strings.Join(pairs, ",")
}

// instancePorts lists what port, one of app's ports in dapr.yaml, is in
// each of app's instances, the first instance first.
func instancePorts(app string, port int) []int {
	ports := []int{port}
	for i := 1; i < replicas[app]; i++ {
		ports = append(ports, port+i*replicaPortStep)
	}
	return ports
}

// servedCount is methodCount summed over the instances of app, whose
// first instance listens on port.
func servedCount(t *testing.T, app string, port int, method, route string, status int) int {
	t.Helper()
	n := 0
	for _, p := range instancePorts(app, port) {
		n += methodCount(t, p, method, route, status)
	}
	return n
}

// TestReplicas shows what two instances of products behind its one app id
// give: the gateway's calls spread over both, and when one dies without a
// chance to deregister (its sidecar and app killed), calls fail only until
// name resolution finds its registration stale, after which the survivor
// serves them all. The killed instance is started again at the end, and
// rejoins.
func TestReplicas(t *testing.T) {
	const route = "/api/v1/products"
	ports := instancePorts("products", 3002)
	require.Len(t, ports, 2, "the suite starts products twice")
	first, second := ports[0], ports[1]
	served := func(port int) int { return requestCount(t, port, route, http.StatusOK) }
	// No-cache: each call must reach an instance, not the gateway's
	// microcache of anonymous catalog reads.
	list := func() response { return call(t, http.MethodGet, gatewayURL+route, nil, "Cache-Control", "no-cache") }
	// listMany lists the products n times, each call succeeding, and
	// returns how many calls each instance served meanwhile, from their
	// own metrics.
	listMany := func(n int, ports ...int) []int {
		before := make([]int, len(ports))
		for i, p := range ports {
			before[i] = served(p)
		}
		for range n {
			resp := list()
			require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
		}
		counts := make([]int, len(ports))
		for i, p := range ports {
			counts[i] = served(p) - before[i]
		}
		return counts
	}
	const calls = 40

	t.Run("calls through the gateway spread over both instances", func(t *testing.T) {
		counts := listMany(calls, first, second)
		t.Logf("%d calls: products-1 served %d, products-2 served %d", calls, counts[0], counts[1])
		assert.Equal(t, calls, counts[0]+counts[1], "every call was served by one of them")
		assert.Positive(t, counts[0], "products-1 served some")
		assert.Positive(t, counts[1], "products-2 served some")
	})

	t.Run("with one instance killed the survivor serves every call", func(t *testing.T) {
		exe := filepath.Join(sys.root, ".bin", "products")
		app := findProcess(t, "no products app on port "+strconv.Itoa(second), func(p proc) bool {
			return p.exe == exe && has(p.environ, "APP_PORT="+strconv.Itoa(second))
		})
		sidecar := findProcess(t, "no products sidecar for app port "+strconv.Itoa(second), func(p proc) bool {
			return strings.Contains(filepath.Base(p.exe), "daprd") &&
				has(p.cmdline, "--app-id", "products") && has(p.cmdline, "--app-port", strconv.Itoa(second))
		})
		daprd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(sidecar), "exe"))
		require.NoError(t, err)
		restartSidecar, restartApp := restartable(t, daprd, sidecar), restartable(t, exe, app)

		// The sidecar first, so that it cannot deregister: the runner
		// stops what is left of a replica, and a stopped sidecar would.
		killed := time.Now()
		require.NoError(t, syscall.Kill(sidecar, syscall.SIGKILL))
		require.NoError(t, syscall.Kill(app, syscall.SIGKILL))

		// Until the registration is stale, a call sent to the dead
		// instance fails; the gateway has no retries (a replayed client
		// call could be a replayed 4xx), so its client sees a 503.
		const streak = 20 // calls in a row that succeed: the dead one is no longer chosen
		failed, sent := map[int]int{}, 0
		var recovered time.Time
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for run := 0; run < streak; {
			require.Less(t, time.Since(killed), staleWindow+30*time.Second,
				"calls still fail: %v failures so far", failed)
			resp := list()
			sent++
			switch {
			case resp.Status == http.StatusOK:
				if run == 0 {
					recovered = time.Now()
				}
				run++
			default:
				run = 0
				failed[resp.Status]++
				assert.Equal(t, http.StatusServiceUnavailable, resp.Status, "body: %s", resp.Body)
				assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			}
			<-tick.C
		}
		// How long it took is reported, not asserted: on a busy machine the
		// registrations' renewals lag, and the wait above bounds it.
		t.Logf("after the kill: %d calls, failures by status %v; every call succeeds %s after it (stale window %s)",
			sent, failed, recovered.Sub(killed).Round(time.Millisecond), staleWindow)

		counts := listMany(calls, first)
		t.Logf("%d calls after recovery: products-1 served %d", calls, counts[0])
		assert.Equal(t, calls, counts[0], "the survivor served them all")

		// The app first: the sidecar registers with name resolution as it
		// starts, and would draw calls before a later app listened.
		restarted := time.Now()
		restartApp()
		require.Eventually(t, func() bool { return listening("127.0.0.1:" + strconv.Itoa(second)) },
			time.Minute, 100*time.Millisecond, "the restarted app listens")
		restartSidecar()
		require.Eventually(t, func() bool {
			before := served(second)
			for range 10 {
				list()
			}
			return served(second) > before
		}, time.Minute, 500*time.Millisecond, "the restarted instance serves again")
		t.Logf("the restarted instance serves again %s after its start", time.Since(restarted).Round(time.Millisecond))

		// Other apps' sidecars reach it again too, each on its own
		// connection (orders reads the product when an item is added to a
		// cart), before the next test counts on them.
		s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
		productID := s.newProduct(t, 100, 100000)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		const productRoute = "/api/v1/products/:id"
		require.Eventually(t, func() bool {
			before := requestCount(t, second, productRoute, http.StatusOK)
			for range 10 {
				if s.addToCart(t, customer, productID, 1).Status != http.StatusOK {
					return false
				}
			}
			return requestCount(t, second, productRoute, http.StatusOK) > before
		}, time.Minute, 500*time.Millisecond, "orders' calls reach the restarted instance")
	})
}
