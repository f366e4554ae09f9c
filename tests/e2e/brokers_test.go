package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The probe topics (each has the JetStream stream tools/dev/infra.sh
// creates for it). e2e.flow has a dead letter topic;
// e2e.retry has none, so a failure there is left to the broker's redelivery
// (with a dead letter topic and no inbound retry policy, Dapr sends the first
// failure to the dead letter topic instead).
const (
	topicFlow  = "e2e.flow"
	topicRetry = "e2e.retry"
	topicDead  = "deadletter.e2e"
)

// backend is the component directory the suite runs on for kind ("pubsub"
// or "state"), chosen like the runner's with PUBSUB / STATE.
func backend(kind, env string) string {
	name := os.Getenv(env)
	if name == "" {
		name = "redis"
	}
	return filepath.Join(sys.root, "components", kind, name)
}

// probeResources copies the chosen backends' pub/sub and state components
// and the denylist for probe id: every component is scoped to the apps
// that use it and the pub/sub topics to their publishers and subscribers,
// so the copies are scoped to the probe alone, which has topics of its own.
func probeResources(t *testing.T, id string) string {
	t.Helper()
	dir := t.TempDir()
	sources := []string{filepath.Join(sys.root, "components", "common", "denylist.yaml")}
	for _, kind := range []struct{ dir, env string }{{"pubsub", "PUBSUB"}, {"state", "STATE"}} {
		files, err := filepath.Glob(filepath.Join(backend(kind.dir, kind.env), "*.yaml"))
		require.NoError(t, err)
		sources = append(sources, files...)
	}
	for _, src := range sources {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		var out []string
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			switch line := lines[i]; {
			case strings.HasPrefix(line, "scopes:"):
				out = append(out, "scopes: ["+id+"]")
			case strings.Contains(line, "- name: publishingScopes"), strings.Contains(line, "- name: subscriptionScopes"):
				i++ // and its value
			case strings.Contains(line, "- name: deliverPolicy"):
				// A probe's JetStream consumers, when first created, start
				// at what is published after them, not at the probe
				// topics' history (a week of earlier runs).
				out = append(out, line, strings.Repeat(" ", 6)+"value: new")
				i++
			default:
				out = append(out, line)
			}
		}
		dst := filepath.Join(dir, filepath.Base(filepath.Dir(src))+"-"+filepath.Base(src))
		require.NoError(t, os.WriteFile(dst, []byte(strings.Join(out, "\n")), 0o600))
	}
	return dir
}

// publish publishes a probe event on topic through the probe's sidecar.
func (p *probe) publish(t *testing.T, topic, id string, data probeEvent) {
	t.Helper()
	publishEventAt(t, fmt.Sprintf("http://127.0.0.1:%d/v1.0/publish/pubsub/%s", p.daprPort, topic), topic, id, data)
}

// probeEvent is what a probe app is told to do with an event.
type probeEvent struct {
	FailOnceAt string `json:"fail_once_at,omitempty"` // the probe that answers 500 to the first delivery
	DropAt     string `json:"drop_at,omitempty"`      // the probe that answers DROP
}

// probe is a subscriber app with its own daprd sidecar on the chosen
// backends: a consumer group of its own (its app-id) that records every
// delivery.
type probe struct {
	id       string
	daprPort int

	mu         sync.Mutex
	deliveries map[string][]string // "topic/event id" → answers given, in order
}

func (p *probe) count(topic, id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.deliveries[topic+"/"+id])
}

func (p *probe) answers(topic, id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.deliveries[topic+"/"+id]...)
}

// ServeHTTP answers daprd: the programmatic subscriptions, health, and
// deliveries.
func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		w.WriteHeader(http.StatusNoContent)
	case "/dapr/subscribe":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"pubsubname":"pubsub","topic":%q,"route":"/events/%[1]s","deadLetterTopic":%q},`+
			`{"pubsubname":"pubsub","topic":%q,"route":"/events/%[3]s"},{"pubsubname":"pubsub","topic":%[2]q,"route":"/events/%[2]s"}]`,
			topicFlow, topicDead, topicRetry)
	case "/events/" + topicFlow, "/events/" + topicRetry, "/events/" + topicDead:
		// The route tells the subscription: a dead letter keeps the
		// original topic in its CloudEvent.
		topic := strings.TrimPrefix(r.URL.Path, "/events/")
		var e struct {
			ID   string     `json:"id"`
			Data probeEvent `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := topic + "/" + e.ID
		p.mu.Lock()
		answer := "SUCCESS"
		switch {
		case topic != topicDead && e.Data.DropAt == p.id:
			answer = "DROP"
		case e.Data.FailOnceAt == p.id && len(p.deliveries[key]) == 0:
			answer = "FAIL"
		}
		p.deliveries[key] = append(p.deliveries[key], answer)
		p.mu.Unlock()
		if answer == "FAIL" {
			http.Error(w, "failing once on purpose", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":%q}`, answer)
	default:
		http.NotFound(w, r)
	}
}

// freePort picks a port no other test picked, below the kernel's ephemeral
// range (32768–60999): a port the kernel hands out is free when picked, but
// an outgoing connection of the busy suite can take it before the process
// it was picked for listens on it.
func freePort(t *testing.T) int {
	t.Helper()
	pickedPorts.Lock()
	defer pickedPorts.Unlock()
	for range 1000 {
		port := 20000 + mathrand.IntN(10000)
		if pickedPorts.ports[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		pickedPorts.ports[port] = true
		return port
	}
	t.Fatal("no free port in 20000–29999")
	return 0
}

var pickedPorts = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// startProbe serves a probe app and starts its sidecar, stopped at the end
// of the test.
func startProbe(t *testing.T, id string) *probe {
	t.Helper()
	p := &probe{id: id, daprPort: freePort(t), deliveries: map[string][]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	daprd := os.Getenv("DAPRD")
	if daprd == "" {
		daprd = filepath.Join(os.Getenv("HOME"), ".dapr", "bin", "daprd")
	}
	logFile, err := os.Create(filepath.Join(sys.root, ".run", "e2e-"+id+".log"))
	require.NoError(t, err)
	cmd := exec.Command(daprd, "--app-id", id,
		"--app-port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "--app-protocol", "http", "--app-channel-address", "127.0.0.1",
		"--dapr-http-port", strconv.Itoa(p.daprPort), "--dapr-grpc-port", strconv.Itoa(freePort(t)),
		"--dapr-internal-grpc-port", strconv.Itoa(freePort(t)), "--metrics-port", strconv.Itoa(freePort(t)),
		"--dapr-listen-addresses", "127.0.0.1", "--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--resources-path", probeResources(t, id),
		"--log-level", "warn", "--log-as-json")
	cmd.Env = append(os.Environ(), "DAPR_HOST_IP=127.0.0.1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logFile.Close()
	})
	ready := time.NewTimer(60 * time.Second)
	defer ready.Stop()
	for {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", p.daprPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return p
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("sidecar of %s exited (%v):\n%s", id, err, tail(logFile.Name(), 20))
		case <-ready.C:
			t.Fatalf("sidecar of %s not ready in 60 s:\n%s", id, tail(logFile.Name(), 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitSubscribed publishes on topic until every probe has received one of
// those events: subscriptions start after the sidecar reports healthy, and
// some consumers (JetStream's) only see what is published after them.
func waitSubscribed(t *testing.T, topic string, probes ...*probe) {
	t.Helper()
	var ids []string
	require.Eventually(t, func() bool {
		id := "warmup-" + uuid.NewString()
		ids = append(ids, id)
		probes[0].publish(t, topic, id, probeEvent{})
		for _, p := range probes {
			got := false
			for _, id := range ids {
				got = got || p.count(topic, id) > 0
			}
			if !got {
				return false
			}
		}
		return true
	}, 60*time.Second, 500*time.Millisecond, "probes subscribed to %s", topic)
}

// TestEventFlow proves the delivery guarantees the services rely on,
// against whichever broker the suite runs on (PUBSUB): two apps are two
// consumer groups that each get an event once, a failed delivery comes
// back, and a dropped one lands on the dead letter topic.
func TestEventFlow(t *testing.T) {
	a, b := startProbe(t, "e2e-probe-a"), startProbe(t, "e2e-probe-b")
	waitSubscribed(t, topicFlow, a, b)
	waitSubscribed(t, topicRetry, a, b)

	// barrier publishes an event both probes ack and waits for it, so that
	// counts taken afterwards include anything delivered before it.
	barrier := func(t *testing.T, topic string) {
		id := "barrier-" + uuid.NewString()
		a.publish(t, topic, id, probeEvent{})
		require.Eventually(t, func() bool { return a.count(topic, id) == 1 && b.count(topic, id) == 1 },
			60*time.Second, 50*time.Millisecond, "barrier on %s", topic)
	}

	t.Run("an event reaches each consumer group once", func(t *testing.T) {
		id := uuid.NewString()
		a.publish(t, topicFlow, id, probeEvent{})
		require.Eventually(t, func() bool { return a.count(topicFlow, id) > 0 && b.count(topicFlow, id) > 0 },
			30*time.Second, 50*time.Millisecond, "delivered to both apps")
		barrier(t, topicFlow)
		assert.Equal(t, []string{"SUCCESS"}, a.answers(topicFlow, id))
		assert.Equal(t, []string{"SUCCESS"}, b.answers(topicFlow, id))
	})

	t.Run("a failed delivery is redelivered to that group only", func(t *testing.T) {
		id := uuid.NewString()
		a.publish(t, topicRetry, id, probeEvent{FailOnceAt: a.id})
		// Redis redelivers a failed message once it has been pending its
		// processingTimeout (2m, components/pubsub/redis).
		require.Eventually(t, func() bool { return a.count(topicRetry, id) >= 2 },
			3*time.Minute, 50*time.Millisecond, "redelivered after the failure")
		barrier(t, topicRetry)
		assert.Equal(t, []string{"FAIL", "SUCCESS"}, a.answers(topicRetry, id))
		assert.Equal(t, []string{"SUCCESS"}, b.answers(topicRetry, id))
	})

	t.Run("a dropped event goes to the dead letter topic", func(t *testing.T) {
		id := uuid.NewString()
		a.publish(t, topicFlow, id, probeEvent{DropAt: a.id})
		require.Eventually(t, func() bool { return a.count(topicDead, id) > 0 && b.count(topicDead, id) > 0 },
			60*time.Second, 50*time.Millisecond, "the dead letter reached both apps")
		barrier(t, topicFlow)
		assert.Equal(t, []string{"DROP"}, a.answers(topicFlow, id))
		assert.Equal(t, []string{"SUCCESS"}, b.answers(topicFlow, id), "the other group is unaffected")
		assert.Equal(t, []string{"SUCCESS"}, a.answers(topicDead, id), "one dead letter, from the group that dropped it")
		assert.Equal(t, []string{"SUCCESS"}, b.answers(topicDead, id))
	})
}

// TestStateStore proves what carts and the token denylist rely on, on
// whichever store the suite runs on (STATE): ETag concurrency and TTL.
func TestStateStore(t *testing.T) {
	p := startProbe(t, "e2e-probe-state")
	base := fmt.Sprintf("http://127.0.0.1:%d/v1.0/state/", p.daprPort)

	type item struct {
		Key      string            `json:"key"`
		Value    any               `json:"value"`
		ETag     string            `json:"etag,omitempty"`
		Metadata map[string]string `json:"metadata,omitempty"`
	}
	// save answers the status, with the body for messages.
	save := func(t *testing.T, store string, it item) (int, string) {
		body, err := json.Marshal([]item{it})
		require.NoError(t, err)
		resp := call(t, http.MethodPost, base+store, bytes.NewReader(body), "Content-Type", "application/json")
		return resp.Status, string(resp.Body)
	}
	saved := func(t *testing.T, store string, it item) {
		status, body := save(t, store, it)
		require.Equal(t, http.StatusNoContent, status, "save %s: %s", it.Key, body)
	}
	get := func(t *testing.T, store, key string) (status int, value, etag string) {
		resp := call(t, http.MethodGet, base+store+"/"+key, nil)
		return resp.Status, string(resp.Body), resp.Header.Get("ETag")
	}

	for _, store := range []string{"statestore", "denylist"} {
		t.Run(store+": a stale ETag is refused", func(t *testing.T) {
			key := "etag-" + uuid.NewString()
			saved(t, store, item{Key: key, Value: "v1"})
			status, value, etag1 := get(t, store, key)
			require.Equal(t, http.StatusOK, status)
			require.JSONEq(t, `"v1"`, value)
			require.NotEmpty(t, etag1)

			saved(t, store, item{Key: key, Value: "v2", ETag: etag1})
			status, body := save(t, store, item{Key: key, Value: "v3", ETag: etag1})
			assert.Equal(t, http.StatusConflict, status, "stale etag: %s", body)
			_, value, etag2 := get(t, store, key)
			assert.JSONEq(t, `"v2"`, value, "the refused write changed nothing")
			assert.NotEqual(t, etag1, etag2)

			resp := call(t, http.MethodDelete, base+store+"/"+key, nil, "If-Match", etag1)
			assert.Equal(t, http.StatusConflict, resp.Status, "delete with a stale etag")
		})

		t.Run(store+": an entry expires after its TTL", func(t *testing.T) {
			key, keep := "ttl-"+uuid.NewString(), "keep-"+uuid.NewString()
			saved(t, store, item{Key: key, Value: "gone soon", Metadata: map[string]string{"ttlInSeconds": "2"}})
			saved(t, store, item{Key: keep, Value: "kept"})
			status, value, _ := get(t, store, key)
			require.Equal(t, http.StatusOK, status, "readable before it expires")
			require.JSONEq(t, `"gone soon"`, value)
			require.Eventually(t, func() bool {
				status, _, _ := get(t, store, key)
				return status == http.StatusNoContent
			}, 20*time.Second, 100*time.Millisecond, "expired")
			status, _, _ = get(t, store, keep)
			assert.Equal(t, http.StatusOK, status, "an entry without a TTL stays")
		})
	}
}
