// Package config reads the settings every service shares from the
// environment, once, at start.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Getenv is os.Getenv, injected so tests can run services with their own
// settings.
type Getenv func(string) string

// Base holds the settings common to every service.
type Base struct {
	Service         string
	BindAddress     string // 127.0.0.1 locally; 0.0.0.0 in a pod so probes reach it
	Port            int
	LogLevel        string
	DatabaseURL     string        // empty for services that own no database
	DaprHTTPPort    int           // the sidecar's HTTP API, on 127.0.0.1
	DaprGRPCPort    int           // the sidecar's gRPC API, on 127.0.0.1
	DaprAPIToken    string        // sent to the sidecar on every call
	AppAPIToken     string        // required from the sidecar on every call
	ShutdownTimeout time.Duration // how long in-flight requests may drain
	// TrustedProxies may set X-Forwarded-For: the client address is read
	// from it only for requests whose peer is one of them. TRUSTED_PROXIES
	// is a comma-separated list of IP addresses and CIDR prefixes
	// ("10.0.0.0/8, 192.0.2.7, fd00::/8"); unset, no proxy is trusted and
	// the peer is the client. A malformed entry fails the start.
	TrustedProxies []string
	// TrustedProxyNets is TrustedProxies parsed; a single address is a
	// prefix of its full length.
	TrustedProxyNets []netip.Prefix
}

// Load reads the base settings of service; defaultPort is its fixed port in
// the blueprint. The database is named database (the service's name when
// empty, after DATABASE_NAME_PREFIX) on the POSTGRES_URL server, unless
// DATABASE_URL says otherwise.
func Load(getenv Getenv, service, database string, defaultPort int) (Base, error) {
	if database == "" {
		database = service
	}
	r := Reader{getenv: getenv}
	b := Base{
		Service:         service,
		BindAddress:     r.String("BIND_ADDRESS", "127.0.0.1"),
		Port:            r.Int("APP_PORT", defaultPort),
		LogLevel:        r.String("LOG_LEVEL", "info"),
		DaprHTTPPort:    r.Int("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort:    r.Int("DAPR_GRPC_PORT", 50001),
		DaprAPIToken:    r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:     r.String("APP_API_TOKEN", ""),
		ShutdownTimeout: r.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		TrustedProxies:  r.List("TRUSTED_PROXIES"),
	}
	b.TrustedProxyNets = r.prefixes("TRUSTED_PROXIES", b.TrustedProxies)
	// A prefix gives a whole test run databases of its own.
	database = r.String("DATABASE_NAME_PREFIX", "") + database
	b.DatabaseURL = r.String("DATABASE_URL", DatabaseURL(r.String("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), database))
	return b, r.Err()
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

// Reader reads typed settings and remembers the first malformed one, so a
// service reports every setting in one place instead of checking each.
type Reader struct {
	getenv Getenv
	err    error
}

// NewReader returns a Reader over getenv.
func NewReader(getenv Getenv) *Reader { return &Reader{getenv: getenv} }

// Err is the first malformed setting seen, if any.
func (r *Reader) Err() error { return r.err }

// String returns the variable or def when unset.
func (r *Reader) String(key, def string) string {
	if v := r.getenv(key); v != "" {
		return v
	}
	return def
}

// Int returns the variable as an int or def when unset.
func (r *Reader) Int(key string, def int) int {
	v := r.getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(key, v, err)
		return def
	}
	return n
}

// List returns the comma-separated variable as a list without blanks.
func (r *Reader) List(key string) []string {
	var out []string
	for _, v := range strings.Split(r.getenv(key), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// prefixes parses list, read from key, as IP addresses and CIDR prefixes.
func (r *Reader) prefixes(key string, list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range list {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			addr, addrErr := netip.ParseAddr(v)
			if addrErr != nil {
				r.fail(key, v, err)
				return nil
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// Duration returns the variable as a time.Duration ("15s") or def when unset.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v := r.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(key, v, err)
		return def
	}
	return d
}

func (r *Reader) fail(key, value string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("setting %s=%q: %w", key, value, err)
	}
}
