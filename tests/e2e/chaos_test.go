package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// The chaos suite's settings.
const (
	// chaosClients place orders at once, each about once per chaosPace.
	chaosClients = 4
	chaosPace    = 500 * time.Millisecond
	// chaosCustomersPerClient are the customers each client orders for,
	// in turn.
	chaosCustomersPerClient = 6
	// deliveryBudget is how long the sidecars retry one event delivery
	// (resiliency pubsubDelivery: 10 retries, exponential from 0.5 s by
	// 1.5 with ±50 % jitter, at most 85 s) before they dead-letter it.
	deliveryBudget = 85 * time.Second
	// sendBudget is how long notifications retries one mail: its 8 sends
	// (NOTIFY_MAX_ATTEMPTS) ride on the first 7 redeliveries, at most 25 s.
	sendBudget = 25 * time.Second
	// downtime is how long a killed process stays down before it is
	// started again, as a supervisor would take: long enough for the
	// load to meet the fault.
	downtime = 3 * time.Second
	// recoveryLimit bounds the wait for a checkout to succeed again.
	recoveryLimit = 3 * time.Minute
)

// chaosFault is one fault the suite injects while the load runs.
type chaosFault struct {
	name string
	// inject breaks something, keeps it broken as long as the fault
	// lasts, repairs it and returns when the repair began (the time the
	// recovery is measured from).
	inject func(t *testing.T) time.Time
	// restore brings back, once checkouts succeed again, what the system
	// recovers without (a killed replica).
	restore func(t *testing.T)
}

// faultRow is a line of the fault table.
type faultRow struct {
	fault                string
	start                time.Time
	end                  time.Time // the system whole again: the next fault may start
	requests, errors     int
	recovery             time.Duration
	serverErrorsAfterEnd int
}

// TestChaos runs a checkout load with saved cards (some declined, some
// settling asynchronously, some orders cancelled and refunded) while it
// injects one fault at a time: kill -9 of each app and each sidecar (then
// started again), restarts of Redis, PostgreSQL and the broker, the Stripe
// API and the SMTP server down for longer than the retry budgets, and one
// of two products replicas killed. Clients see errors during a fault; a
// checkout must succeed again after it, and no 5xx may follow. Once the
// load has stopped, the dead letters the outages left are replayed through
// the admin API, as an operator would, and when the system is quiet the
// invariants are read from the databases and the emulators (see
// chaosInvariants). It prints the fault table.
//
// CHAOS_DURATION (a Go duration) repeats the faults until it is spent;
// unset, every fault is injected once.
func TestChaos(t *testing.T) {
	var duration time.Duration
	if v := os.Getenv("CHAOS_DURATION"); v != "" {
		var err error
		duration, err = time.ParseDuration(v)
		require.NoError(t, err, "CHAOS_DURATION")
	}
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	c := &chaos{unreplayable: map[string]bool{}, replayedAt: map[string]time.Time{}}
	c.products = []string{s.newProduct(t, 1250, chaosStock), s.newProduct(t, 999, chaosStock), s.newProduct(t, 4500, chaosStock)}
	c.customers = newChaosCustomers(t, s, chaosClients*chaosCustomersPerClient)
	c.probes = newChaosCustomers(t, s, 1) // the first card of chaosCards pays
	c.salesBefore = c.dailySales(t)
	c.waitHealthy(t)

	faults := chaosFaults()
	began := time.Now()
	load := startChaosLoad(c.customers, c.products, chaosClients, chaosPace)
	t.Cleanup(load.Stop) // a failing fault ends the test: not the load
	var rows []faultRow
	for pass := 1; ; pass++ {
		for _, f := range faults {
			rows = append(rows, c.run(t, f))
		}
		if time.Since(began) >= duration {
			break
		}
		t.Logf("pass %d done after %s; %s left", pass, time.Since(began).Round(time.Second), (duration - time.Since(began)).Round(time.Second))
	}
	stopped := time.Now()
	load.Stop()
	for i := range rows {
		next := stopped
		if i+1 < len(rows) {
			next = rows[i+1].start
		}
		rows[i].requests, rows[i].errors = load.window(rows[i].start, rows[i].end)
		rows[i].serverErrorsAfterEnd = load.serverErrors(rows[i].end, next)
	}
	total, failed := load.window(began, stopped)
	t.Logf("load: %d requests in %s, %d not answered as expected", total, stopped.Sub(began).Round(time.Second), failed)

	replayed := c.settle(t)
	t.Logf("replayed %d dead letters through the admin API, as an operator would, before checking", replayed)
	violations := chaosInvariants(t, c)
	t.Log("\n" + faultTable(rows, violations, stopped))
	for _, r := range rows {
		if r.serverErrorsAfterEnd > 0 {
			t.Errorf("%d requests answered 5xx (or not at all) after the system recovered from %q", r.serverErrorsAfterEnd, r.fault)
		}
	}
	for _, v := range violations {
		t.Errorf("invariant %q broken: %s", v.invariant, v.detail)
	}
	if os.Getenv("PUBSUB") == "rabbitmq" {
		for _, b := range crossedBindings(t) {
			t.Errorf("after the broker restart and the reconnects, queue %s is bound to exchange %s: it gets another topic's events", b[1], b[0])
		}
	}
}

// chaosStock is each chaos product's initial stock: more than any run sells.
const chaosStock = 1_000_000

// chaos is the state of one chaos run.
type chaos struct {
	products  []string
	customers []chaosCustomer
	// probes are the customers whose checkouts tell that the system has
	// recovered.
	probes      []chaosCustomer
	probeTurn   int
	salesBefore map[string]daySales
	conns       map[string]*pgx.Conn
	// unreplayable are the dead letters whose replay failed, logged once.
	unreplayable map[string]bool
	// replayedAt is when each dead letter was last replayed.
	replayedAt map[string]time.Time
}

// run injects f, waits until a checkout succeeds again and the system is
// whole, and returns f's row of the table.
func (c *chaos) run(t *testing.T, f chaosFault) faultRow {
	t.Helper()
	row := faultRow{fault: f.name, start: time.Now()}
	repaired := f.inject(t)
	row.recovery = c.waitCheckout(t, f.name).Sub(repaired)
	if f.restore != nil {
		f.restore(t)
	}
	c.waitHealthy(t)
	row.end = time.Now()
	t.Logf("%s: checkouts succeed again %s after the repair", f.name, row.recovery.Round(time.Millisecond))
	return row
}

// waitCheckout polls checkouts through the gateway until three in a row
// succeed, and returns when the first of them began.
func (c *chaos) waitCheckout(t *testing.T, fault string) time.Time {
	t.Helper()
	deadline := time.Now().Add(recoveryLimit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var first time.Time
	for streak := 0; streak < 3; <-tick.C {
		require.True(t, time.Now().Before(deadline), "no checkout succeeded within %s after %s", recoveryLimit, fault)
		began := time.Now()
		if c.probe(t) {
			if streak == 0 {
				first = began
			}
			streak++
		} else {
			streak = 0
		}
	}
	return first
}

// probe places one order as a probe customer: whether the cart took the
// item and the checkout answered 201.
func (c *chaos) probe(t *testing.T) bool {
	t.Helper()
	customer := c.probes[c.probeTurn%len(c.probes)]
	c.probeTurn++
	auth := "Bearer " + token(t, customer.id, authn.RoleCustomer)
	add := fmt.Sprintf(`{"product_id": %q, "quantity": 1}`, c.products[0])
	hc := &http.Client{Timeout: 15 * time.Second}
	if status, _ := doRequest(ctx(t), hc, http.MethodPost, "/api/v1/cart/items", auth, "", add); status != http.StatusOK {
		return false
	}
	status, _ := doRequest(ctx(t), hc, http.MethodPost, "/api/v1/checkout", auth, uuid.NewString(), address)
	return status == http.StatusCreated
}

// appInstance is one running instance of an app: its app port and its
// sidecar's HTTP port.
type appInstance struct {
	app           string
	port, sidecar int
}

func (i appInstance) String() string {
	if replicas[i.app] > 1 {
		return fmt.Sprintf("%s (instance on :%d)", i.app, i.port)
	}
	return i.app
}

// chaosApps are the instances the suite kills. Of products, which runs
// twice, it kills the second instance: the runner stops the rest of a
// replica one of whose processes died, and were every process it started
// gone, it would stop (Sentry with it).
var chaosApps = []appInstance{
	{"gateway", 3000, 3500}, {"auth", 3001, 3501}, {"products", 3012, 3512}, {"orders", 3003, 3503},
	{"payments", 3004, 3504}, {"notifications", 3005, 3505}, {"workers", 3006, 3506},
}

// allInstances are every instance the system runs.
func allInstances() []appInstance {
	out := []appInstance{{"products", 3002, 3502}}
	return append(out, chaosApps...)
}

// waitHealthy waits until every app answers /readyz (its database and
// sidecar answer) and every sidecar /healthz.
func (c *chaos) waitHealthy(t *testing.T) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	ok := func(url string, headers ...string) bool {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode/100 == 2
	}
	var down string
	require.Eventually(t, func() bool {
		for _, i := range allInstances() {
			if !ok(fmt.Sprintf("http://127.0.0.1:%d/readyz", i.port)) {
				down = i.String() + " app"
				return false
			}
			if !ok(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", i.sidecar), "dapr-api-token", sys.env["DAPR_API_TOKEN"]) {
				down = i.String() + " sidecar"
				return false
			}
		}
		return true
	}, recoveryLimit, 200*time.Millisecond, "every app and sidecar is healthy again (%s is not)", &down)
}

// chaosFaults lists every fault the suite injects, in order.
func chaosFaults() []chaosFault {
	var faults []chaosFault
	for _, i := range chaosApps {
		faults = append(faults,
			chaosFault{name: "kill -9 " + i.String() + " app", inject: func(t *testing.T) time.Time { return killInstance(t, i, false) }},
			chaosFault{name: "kill -9 " + i.String() + " sidecar", inject: func(t *testing.T) time.Time { return killInstance(t, i, true) }})
	}
	var restartReplica func(t *testing.T)
	faults = append(faults, chaosFault{
		name: "kill one of two products replicas",
		inject: func(t *testing.T) time.Time {
			restartReplica = killReplica(t, appInstance{"products", 3012, 3512})
			return time.Now() // nothing is repaired: the survivor serves
		},
		restore: func(t *testing.T) { restartReplica(t) },
	})
	broker := os.Getenv("PUBSUB")
	redisName := "restart Redis (state, rate limits)"
	if broker == "" || broker == "redis" {
		redisName = "restart Redis (state, rate limits, the broker)"
	}
	faults = append(faults,
		chaosFault{name: redisName, inject: restarting(stopRedis)},
		chaosFault{name: "restart PostgreSQL", inject: restarting(stopPostgres)},
	)
	switch broker {
	case "rabbitmq":
		faults = append(faults, chaosFault{name: "restart RabbitMQ (the broker)", inject: restarting(stopRabbitMQ)})
	case "jetstream":
		faults = append(faults, chaosFault{name: "restart NATS JetStream (the broker)", inject: restarting(stopNATS)})
	}
	faults = append(faults,
		chaosFault{name: fmt.Sprintf("Stripe API down %s", holdFor(deliveryBudget)), inject: stripeOutage},
		chaosFault{name: fmt.Sprintf("SMTP server down %s", holdFor(sendBudget)), inject: smtpOutage},
	)
	return faults
}

// holdFor is how long an outage lasts: beyond the retry budget it must
// exhaust.
func holdFor(budget time.Duration) time.Duration { return budget + 10*time.Second }

// killInstance kills instance's app (or its sidecar) with SIGKILL and,
// after downtime, starts it again as the runner did. Of a replicated app, the runner stops
// the other process of the instance too, if it started it: that one is
// started again as well, the app first (a sidecar draws calls as soon as
// it registers).
func killInstance(t *testing.T, i appInstance, sidecar bool) time.Time {
	t.Helper()
	appPID, sidecarPID := instanceApp(t, i), instanceSidecar(t, i)
	restartApp := restartable(t, filepath.Join(sys.root, ".bin", i.app), appPID)
	daprd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(sidecarPID), "exe"))
	require.NoError(t, err)
	restartSidecar := restartable(t, daprd, sidecarPID)
	runner := runnerPID(t)
	killed, other := appPID, sidecarPID
	if sidecar {
		killed, other = sidecarPID, appPID
	}
	stopsOther := replicas[i.app] > 1 && parentPID(other) == runner
	killHard(t, killed)
	if stopsOther {
		waitGone(t, other)
	}
	hold(downtime)
	repaired := time.Now()
	if !sidecar || stopsOther {
		restartApp()
		require.Eventually(t, func() bool { return listening("127.0.0.1:" + strconv.Itoa(i.port)) },
			time.Minute, 50*time.Millisecond, "the restarted %s listens", i)
	}
	if sidecar || stopsOther {
		restartSidecar()
	}
	return repaired
}

// killReplica kills both processes of instance i, the sidecar first so
// that it cannot deregister, and returns how to start them again.
func killReplica(t *testing.T, i appInstance) func(t *testing.T) {
	t.Helper()
	appPID, sidecarPID := instanceApp(t, i), instanceSidecar(t, i)
	restartApp := restartable(t, filepath.Join(sys.root, ".bin", i.app), appPID)
	daprd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(sidecarPID), "exe"))
	require.NoError(t, err)
	restartSidecar := restartable(t, daprd, sidecarPID)
	killHard(t, sidecarPID)
	killHard(t, appPID)
	return func(t *testing.T) {
		restartApp()
		require.Eventually(t, func() bool { return listening("127.0.0.1:" + strconv.Itoa(i.port)) },
			time.Minute, 50*time.Millisecond, "the restarted %s listens", i)
		restartSidecar()
	}
}

func instanceApp(t *testing.T, i appInstance) int {
	t.Helper()
	exe := filepath.Join(sys.root, ".bin", i.app)
	return findProcess(t, fmt.Sprintf("no %s app", i), func(p proc) bool {
		return p.exe == exe && has(p.environ, "APP_PORT="+strconv.Itoa(i.port))
	})
}

func instanceSidecar(t *testing.T, i appInstance) int {
	t.Helper()
	return findProcess(t, fmt.Sprintf("no %s sidecar", i), func(p proc) bool {
		return strings.Contains(filepath.Base(p.exe), "daprd") &&
			has(p.cmdline, "--app-id", i.app) && has(p.cmdline, "--app-port", strconv.Itoa(i.port))
	})
}

func runnerPID(t *testing.T) int {
	t.Helper()
	return pidOf(t, filepath.Join(sys.root, ".bin", "runner"))
}

// parentPID is pid's parent, 0 once pid is gone.
func parentPID(pid int) int {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces, not ')'.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// killHard sends pid SIGKILL and waits until it is dead (gone, or a
// zombie nobody waited for yet).
func killHard(t *testing.T, pid int) {
	t.Helper()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	waitGone(t, pid)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
		return err != nil
	}, 30*time.Second, 20*time.Millisecond, "process %d ends", pid)
}

// infra runs tools/dev/infra.sh, which starts whichever backing server is
// down.
func infra(t *testing.T) {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(sys.root, "tools", "dev", "infra.sh")).CombinedOutput()
	require.NoError(t, err, "start the backing servers again: %s", out)
}

// restarting is the fault of a backing server stopped by stop, kept down
// for downtime and started again (infra).
func restarting(stop func(t *testing.T)) func(t *testing.T) time.Time {
	return func(t *testing.T) time.Time {
		stop(t)
		hold(downtime)
		repaired := time.Now()
		infra(t)
		return repaired
	}
}

func stopRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	killRedis(t, rdb)
}

// stopPostgres stops the PostgreSQL server at once, as a crash would (no
// checkpoint; it recovers from its WAL at start).
func stopPostgres(t *testing.T) {
	out, err := exec.Command("bash", "-c",
		`pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop -m immediate`).CombinedOutput()
	require.NoError(t, err, "stop PostgreSQL: %s", out)
}

func stopRabbitMQ(t *testing.T) {
	killHard(t, findProcess(t, "no RabbitMQ server", func(p proc) bool {
		return filepath.Base(p.exe) == "beam.smp" && has(p.cmdline, "-s", "rabbit")
	}))
}

// crossedBindings lists the bindings (exchange, queue) of the apps' queues,
// named <app-id>-<topic>, to another exchange than their topic's. Durable,
// a binding made wrongly outlives every restart: Dapr 1.14's RabbitMQ
// component, declaring the queues of all its subscriptions on one channel
// at once after a reconnect, bound a queue to another topic.
func crossedBindings(t *testing.T) [][2]string {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-q", "--no-table-headers", "list_bindings", "source_name", "destination_name").Output()
	require.NoError(t, err, "list the broker's bindings")
	var crossed [][2]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		exchange, queue, _ := strings.Cut(line, "\t")
		app, topic, ok := strings.Cut(queue, "-")
		if exchange == "" || !ok || !slices.Contains(apps, app) {
			continue // the default exchange's, or not an app's queue
		}
		if exchange != topic {
			crossed = append(crossed, [2]string{exchange, queue})
		}
	}
	return crossed
}

func stopNATS(t *testing.T) {
	killHard(t, findProcess(t, "no NATS server", func(p proc) bool { return filepath.Base(p.exe) == "nats-server" }))
}

// stripeOutage makes the Stripe emulator answer every API call 503 (its
// state kept, as Stripe's would be) for longer than the sidecars retry an
// order.created, then lifts the outage.
func stripeOutage(t *testing.T) time.Time {
	lift := outage(t, stripeAddr)
	hold(holdFor(deliveryBudget))
	lift()
	return time.Now()
}

// smtpOutage kills mailpit for longer than notifications retries a mail,
// then starts it again on the same mailbox.
func smtpOutage(t *testing.T) time.Time {
	mailpit := ownedServers["mailpit"]
	require.NotNil(t, mailpit, "the suite must own mailpit to stop it")
	require.NoError(t, mailpit.Process.Kill())
	_ = mailpit.Wait() // killed: its exit status says so
	hold(holdFor(sendBudget))
	repaired := time.Now()
	cmd, err := launch(sys.root, devServers[0])
	require.NoError(t, err)
	ownedServers["mailpit"] = cmd
	return repaired
}

// hold keeps an outage up for d while the load runs: the outage is the
// condition under test, so its length is the point, not a wait for
// something.
func hold(d time.Duration) { <-time.After(d) }

// faultTable formats the rows; violations are attributed to the faults
// during which their orders were placed (from one fault's start to the
// next one's).
func faultTable(rows []faultRow, violations []violation, stopped time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-52s | %8s | %13s | %15s | %s\n", "fault", "requests", "client errors", "time to recover", "invariants held")
	fmt.Fprintf(&b, "%s\n", strings.Repeat("-", 52+3+8+3+13+3+15+3+16))
	for i, r := range rows {
		next := stopped
		if i+1 < len(rows) {
			next = rows[i+1].start
		}
		broken := map[string]bool{}
		var names []string
		for _, v := range violations {
			if !v.at.IsZero() && !v.at.Before(r.start) && v.at.Before(next) && !broken[v.invariant] {
				broken[v.invariant] = true
				names = append(names, v.invariant)
			}
		}
		held := "yes"
		if len(names) > 0 {
			held = "no: " + strings.Join(names, "; ")
		}
		fmt.Fprintf(&b, "%-52s | %8d | %13d | %15s | %s\n", r.fault, r.requests, r.errors, r.recovery.Round(10*time.Millisecond), held)
	}
	var whole []string
	seen := map[string]bool{}
	for _, v := range violations {
		if v.at.IsZero() && !seen[v.invariant] {
			seen[v.invariant] = true
			whole = append(whole, v.invariant)
		}
	}
	if len(whole) > 0 {
		fmt.Fprintf(&b, "broken over the whole run: %s\n", strings.Join(whole, "; "))
	}
	return b.String()
}
