package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// statusTimeout bounds each probe of `runner status`: a process that does
// not answer within it is reported down, not waited for.
const statusTimeout = 2 * time.Second

// brokers are the default addresses of the pub/sub backends of
// components/pubsub/, by directory name.
var brokers = map[string]string{
	"redis":     "127.0.0.1:6379",
	"rabbitmq":  "127.0.0.1:5672",
	"jetstream": "127.0.0.1:4222",
	"kafka":     "127.0.0.1:9092",
}

// probe is one thing `runner status` checks; ok and detail are its result.
type probe struct {
	name     string
	target   string
	optional bool // down is reported, and fails nothing
	check    func(ctx context.Context) (detail string, err error)

	detail string
	err    error
}

// runStatus prints, for the system that `runner` (make run) started from
// the run file, each instance's app readiness and sidecar health, the
// dependencies' and the dev servers' reachability, and the UIs' URLs. It
// fails when anything that is not optional is down.
func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("runner status", flag.ContinueOnError)
	fs.SetOutput(stdout)
	runFilePath := fs.String("f", "dapr.yaml", "Multi-App Run `file` the system was started from")
	replicas := replicaCounts{}
	fs.Var(replicas, "replicas", "the instances it was started with, `APP=N[,APP=N...]`, as given to the runner")
	pubsub := fs.String("pubsub", "redis", "the pub/sub `backend` it was started with (a directory of components/pubsub)")
	broker := fs.String("broker", "", "the broker's `host:port` (default: the backend's local address)")
	postgres := fs.String("postgres", "127.0.0.1:5432", "PostgreSQL `host:port`")
	redis := fs.String("redis", "127.0.0.1:6379", "Redis `host:port` (state stores, the denylist)")
	sentryHealthz := fs.String("sentry", "http://127.0.0.1:3801", "Dapr Sentry's health `URL`")
	mailpit := fs.String("mailpit", "http://127.0.0.1:8025", "mailpit's `URL` (mail UI)")
	devsink := fs.String("devsink", "http://127.0.0.1:8090", "the SMS/push sink's `URL`")
	stripe := fs.String("stripe", "http://127.0.0.1:12180", "the Stripe emulator's `URL`")
	paypal := fs.String("paypal", "http://127.0.0.1:12181", "the PayPal emulator's `URL`")
	prometheus := fs.String("prometheus", "http://127.0.0.1:9190", "Prometheus' `URL` (metrics UI)")
	jaeger := fs.String("jaeger", "http://127.0.0.1:16686", "Jaeger's `URL` (traces UI); optional: reported, never failing")
	gateway := fs.String("gateway", "http://127.0.0.1:3000", "the gateway's public `URL`, printed with the UIs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("status: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	apps, err := loadRunFile(*runFilePath)
	if err != nil {
		return err
	}
	instances, err := expandReplicas(apps, replicas, nil)
	if err != nil {
		return err
	}
	if *broker == "" {
		addr, ok := brokers[*pubsub]
		if !ok {
			return fmt.Errorf("status: unknown pub/sub backend %q: pass -broker", *pubsub)
		}
		*broker = addr
	}
	client := &http.Client{Timeout: statusTimeout, Transport: &http.Transport{DisableKeepAlives: true}}

	var appProbes, sidecarProbes []*probe
	for _, inst := range instances {
		readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", inst.AppPort)
		appProbes = append(appProbes, &probe{name: inst.Name, target: readyz, check: readyzProbe(client, readyz)})
		healthz := fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", inst.HTTPPort)
		sidecarProbes = append(sidecarProbes, &probe{name: inst.Name + "'s sidecar", target: healthz,
			check: sidecarProbe(client, healthz, inst.MetricsPort)})
	}
	deps := []*probe{
		{name: "PostgreSQL", target: *postgres, check: postgresProbe(*postgres)},
		{name: "Redis", target: *redis, check: redisProbe(*redis)},
		{name: "broker (" + *pubsub + ")", target: *broker, check: brokerProbe(*pubsub, *broker)},
		{name: "Dapr Sentry", target: *sentryHealthz + "/healthz", check: httpProbe(client, *sentryHealthz+"/healthz")},
		{name: "mailpit", target: *mailpit + "/readyz", check: httpProbe(client, *mailpit+"/readyz")},
		{name: "SMS/push sink", target: *devsink + "/healthz", check: httpProbe(client, *devsink+"/healthz")},
		{name: "Stripe emulator", target: *stripe + "/healthz", check: httpProbe(client, *stripe+"/healthz")},
		{name: "PayPal emulator", target: *paypal + "/healthz", check: httpProbe(client, *paypal+"/healthz")},
		{name: "Prometheus", target: *prometheus + "/-/ready", check: httpProbe(client, *prometheus+"/-/ready")},
		{name: "Jaeger", target: *jaeger + "/", check: httpProbe(client, *jaeger+"/"), optional: true},
	}

	all := append(append(append([]*probe{}, appProbes...), sidecarProbes...), deps...)
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, statusTimeout)
			defer cancel()
			p.detail, p.err = p.check(pctx)
		})
	}
	wg.Wait()

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tREADINESS (/readyz)\tSIDECAR (/v1.0/healthz)\tPORTS")
	for i, inst := range instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\tapp %d, dapr http %d, grpc %d, metrics %d\n", inst.Name,
			appProbes[i].state(), sidecarProbes[i].state(), inst.AppPort, inst.HTTPPort, inst.GRPCPort, inst.MetricsPort)
	}
	fmt.Fprintln(tw, "\t\t\t")
	fmt.Fprintln(tw, "DEPENDENCY\tSTATE\tADDRESS\t")
	for _, p := range deps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", p.name, p.state(), p.target)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "UIs:")
	for _, u := range [][2]string{
		{"Gateway (API)", *gateway},
		{"Mail (mailpit)", *mailpit},
		{"SMS/push sink", *devsink + "/messages"},
		{"Metrics (Prometheus)", *prometheus + "  (targets: /targets, alerts: /alerts)"},
		{"Traces (Jaeger)", *jaeger},
	} {
		fmt.Fprintf(stdout, "  %-22s %s\n", u[0], u[1])
	}

	var down []string
	for _, p := range all {
		if p.err != nil && !p.optional {
			down = append(down, p.name+" ("+p.target+")")
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("status: %d down: %s", len(down), strings.Join(down, ", "))
	}
	fmt.Fprintf(stdout, "\nall up: %d instances, their sidecars, %d dependencies\n", len(instances), len(deps))
	return nil
}

// state is the probe's result as printed.
func (p *probe) state() string {
	switch {
	case p.err != nil && p.optional:
		return "not running (optional): " + p.err.Error()
	case p.err != nil:
		return "DOWN: " + p.err.Error()
	case p.detail != "":
		return "up, " + p.detail
	default:
		return "up"
	}
}

// httpProbe is up when url answers 2xx.
func httpProbe(client *http.Client, url string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		resp, err := get(ctx, client, url)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return "", nil
	}
}

// readyzProbe reads an app's /readyz: 200 with each dependency check's
// result, or 503 naming the one that failed.
func readyzProbe(client *http.Client, url string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", shortErr(err)
		}
		defer resp.Body.Close()
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		// A body that is not the services' JSON still has a status to go by.
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
		var checks []string
		for _, name := range slices.Sorted(maps.Keys(body.Checks)) {
			checks = append(checks, name+" "+body.Checks[name])
		}
		detail := strings.Join(checks, ", ")
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s %s", resp.Status, detail)
		}
		return detail, nil
	}
}

// sidecarProbe checks daprd's health endpoint and reads from its metrics
// port how many components it loaded. Its metadata API would list them,
// but each sidecar's Configuration denies that API to everyone
// (api.allowed), the status tool included.
func sidecarProbe(client *http.Client, healthz string, metricsPort int) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		resp, err := get(ctx, client, healthz)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if metricsPort == 0 {
			return "", nil
		}
		resp, err = get(ctx, client, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		if err != nil {
			return "", fmt.Errorf("healthy, but its metrics: %w", err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "dapr_runtime_component_loaded{") {
				continue
			}
			if n, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				return fmt.Sprintf("%d components loaded", int(n)), nil
			}
		}
		// daprd reports the count once it loaded one: the gateway's
		// sidecar, scoped out of every component, never does.
		return "no components", sc.Err()
	}
}

// postgresProbe asks the server whether it speaks TLS (the first message
// of libpq's handshake): any PostgreSQL answers 'S' or 'N' before
// authentication, so no credentials are needed.
func postgresProbe(addr string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		answer, err := exchange(ctx, addr, []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}, 1)
		if err != nil {
			return "", err
		}
		if answer[0] != 'S' && answer[0] != 'N' {
			return "", fmt.Errorf("not PostgreSQL: answered %q", answer)
		}
		return "", nil
	}
}

// redisProbe sends PING; Redis answers +PONG.
func redisProbe(addr string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		answer, err := exchange(ctx, addr, []byte("PING\r\n"), 5)
		if err != nil {
			return "", err
		}
		if string(answer) != "+PONG" {
			return "", fmt.Errorf("not Redis: answered %q", answer)
		}
		return "", nil
	}
}

// brokerProbe checks the broker of backend: Redis with PING, NATS by its
// INFO greeting, the others by a TCP connection.
func brokerProbe(backend, addr string) func(context.Context) (string, error) {
	switch backend {
	case "redis":
		return redisProbe(addr)
	case "jetstream":
		return func(ctx context.Context) (string, error) {
			answer, err := exchange(ctx, addr, nil, 4)
			if err != nil {
				return "", err
			}
			if string(answer) != "INFO" {
				return "", fmt.Errorf("not NATS: greeted %q", answer)
			}
			return "", nil
		}
	default:
		return func(ctx context.Context) (string, error) {
			_, err := exchange(ctx, addr, nil, 0)
			return "", err
		}
	}
}

// exchange connects to addr, writes send and reads n bytes of the answer.
func exchange(ctx context.Context, addr string, send []byte, n int) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, shortErr(err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if len(send) > 0 {
		if _, err := conn.Write(send); err != nil {
			return nil, err
		}
	}
	answer := make([]byte, n)
	if _, err := io.ReadFull(conn, answer); err != nil {
		return nil, fmt.Errorf("no answer: %w", shortErr(err))
	}
	return answer, nil
}

// get is a GET of url that fails on a non-2xx answer.
func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, shortErr(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, errors.New(resp.Status)
	}
	return resp, nil
}

// shortErr keeps the cause of a network error (connection refused, i/o
// timeout) without the URL and addresses the table already shows.
func shortErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
