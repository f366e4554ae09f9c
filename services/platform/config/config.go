// Package config reads settings from the environment, once, at start, into
// typed structs, and documents them.
//
// A struct field is a setting when it has an env tag naming its variable;
// default is its value when the variable is unset and doc says what it
// means. Parse checks every value before a service wires anything, so a
// malformed one stops the start with the variable's name; Document renders
// the same tags as the configuration reference.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"time"
)

// Getenv is os.Getenv, injected so tests can run services with their own
// settings.
type Getenv func(string) string

// Base holds the settings common to every service.
type Base struct {
	Service     string
	BindAddress string `env:"BIND_ADDRESS" default:"127.0.0.1" doc:"Address the HTTP server listens on: 127.0.0.1 locally, 0.0.0.0 in a pod so probes reach it."`
	Port        int    `env:"APP_PORT" doc:"Port the HTTP server listens on; unset, the service's port in the blueprint (gateway 3000, auth 3001, products 3002, orders 3003, payments 3004, notifications 3005, workers 3006)."`
	MetricsPort int    `env:"APP_METRICS_PORT" doc:"The gateway's /metrics port, apart from its public one; unset, 3100. Other services serve /metrics to their sidecar on APP_PORT and ignore it."`
	LogLevel    string `env:"LOG_LEVEL" default:"info" doc:"Lowest level logged: debug, info, warn or error."`
	PostgresURL string `env:"POSTGRES_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" doc:"PostgreSQL server holding the service's database (named after the service; workers: analytics)."`
	// DatabaseNamePrefix gives a whole test run databases of its own.
	DatabaseNamePrefix string        `env:"DATABASE_NAME_PREFIX" doc:"Prefix of the service's database name on the POSTGRES_URL server."`
	DatabaseURL        string        `env:"DATABASE_URL" doc:"The service's database; unset, the database named after the service on the POSTGRES_URL server."`
	DaprHTTPPort       int           `env:"DAPR_HTTP_PORT" default:"3500" doc:"The sidecar's HTTP API port, on 127.0.0.1."`
	DaprGRPCPort       int           `env:"DAPR_GRPC_PORT" default:"50001" doc:"The sidecar's gRPC API port, on 127.0.0.1."`
	DaprAPIToken       string        `env:"DAPR_API_TOKEN" doc:"Sent to the sidecar on every call."`
	AppAPIToken        string        `env:"APP_API_TOKEN" doc:"Required from the sidecar on every call it makes to the service."`
	ShutdownTimeout    time.Duration `env:"SHUTDOWN_TIMEOUT" default:"15s" doc:"How long in-flight requests may drain at shutdown."`
	// TrustedProxies may set X-Forwarded-For: the client address is read
	// from it only for requests whose peer is one of them.
	TrustedProxies []string `env:"TRUSTED_PROXIES" doc:"Comma-separated IP addresses and CIDR prefixes of proxies trusted to set X-Forwarded-For (\"10.0.0.0/8, 192.0.2.7\"); unset, none is and the peer is the client."`
	// TrustedProxyNets is TrustedProxies parsed; a single address is a
	// prefix of its full length.
	TrustedProxyNets []netip.Prefix
	// PprofAddress serves the Go profiler apart from the app's port, for
	// finding where a load's CPU goes; off unless set.
	PprofAddress  string `env:"PPROF_ADDR" doc:"Address (host:port) to serve the Go profiler's /debug/pprof/ on, apart from the app's port; port 0 picks a free one, logged at start (\"serving pprof\"). Unset, it is not served. Keep it on 127.0.0.1: profiles show the process's memory."`
	DenylistStore string `env:"DENYLIST_STORE" default:"denylist" doc:"State store component holding revoked token ids (not read by the gateway, which checks no revocations)."`
	// DenylistCacheTTL bounds how late a service sees a revocation.
	DenylistCacheTTL time.Duration `env:"DENYLIST_CACHE_TTL" default:"500ms" doc:"How long a service trusts that a token it read as not revoked still is, sparing a denylist read per request; at most 1s, so a revocation reaches every service within a second. 0 reads the denylist on every request. The auth service, which writes the denylist, always reads it."`
	// Traces leave the process only with an endpoint: nobody collects
	// them otherwise.
	TraceEndpoint string  `env:"OTEL_EXPORTER_OTLP_ENDPOINT" doc:"OTLP/gRPC collector the service exports its spans to: host:port or http://host:port in plain gRPC, https://host:port with TLS; such as Jaeger's 127.0.0.1:4317. Unset, spans are still created, so the trace context is passed on and logged, but none is recorded or exported."`
	TraceSampling float64 `env:"DAPR_TRACE_SAMPLING_RATE" default:"1" doc:"Share of new traces recorded, from 0 to 1 (parentbased_traceidratio: a request whose caller recorded its trace is recorded too, so traces are whole). The sidecars' Configuration reads the same variable."`
}

// Defaults are the settings of a service that differ from one service to
// the next.
type Defaults struct {
	Service string
	// Database is the service's database name when it differs from Service.
	Database    string
	Port        int
	MetricsPort int
}

// Load reads the base settings of a service.
func Load(getenv Getenv, d Defaults) (Base, error) {
	b := Base{Service: d.Service, Port: d.Port, MetricsPort: d.MetricsPort}
	if err := Parse(getenv, &b); err != nil {
		return Base{}, err
	}
	if b.DenylistCacheTTL < 0 || b.DenylistCacheTTL > time.Second {
		return Base{}, fmt.Errorf("DENYLIST_CACHE_TTL: %s is not between 0 and 1s: a revocation must reach every service within a second", b.DenylistCacheTTL)
	}
	if b.TraceSampling < 0 || b.TraceSampling > 1 {
		return Base{}, fmt.Errorf("DAPR_TRACE_SAMPLING_RATE: %g is not between 0 and 1", b.TraceSampling)
	}
	nets, err := prefixes(b.TrustedProxies)
	if err != nil {
		return Base{}, err
	}
	b.TrustedProxyNets = nets
	if b.DatabaseURL == "" {
		database := d.Database
		if database == "" {
			database = d.Service
		}
		b.DatabaseURL = DatabaseURL(b.PostgresURL, b.DatabaseNamePrefix+database)
	}
	return b, nil
}

// DatabaseURL returns serverURL with its database name replaced by name.
func DatabaseURL(serverURL, name string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		return serverURL
	}
	u.Path = "/" + name
	return u.String()
}

// prefixes parses TRUSTED_PROXIES entries as IP addresses and CIDR prefixes.
func prefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range list {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			addr, addrErr := netip.ParseAddr(v)
			if addrErr != nil {
				return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not an IP address or CIDR prefix", v)
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
