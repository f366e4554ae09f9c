package config_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func env(vars map[string]string) config.Getenv {
	return func(k string) string { return vars[k] }
}

var orders = config.Defaults{Service: "orders", Port: 3003}

func TestLoadDefaults(t *testing.T) {
	cfg, err := config.Load(env(nil), orders)
	require.NoError(t, err)
	assert.Equal(t, config.Base{
		Service:          "orders",
		BindAddress:      "127.0.0.1",
		Port:             3003,
		LogLevel:         "info",
		PostgresURL:      "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		DatabaseURL:      "postgres://postgres@127.0.0.1:5432/orders?sslmode=disable",
		DaprHTTPPort:     3500,
		DaprGRPCPort:     50001,
		TraceSampling:    1,
		ShutdownTimeout:  15 * time.Second,
		DenylistStore:    "denylist",
		DenylistCacheTTL: 500 * time.Millisecond,
	}, cfg)
}

func TestLoadOverrides(t *testing.T) {
	tests := []struct {
		name     string
		defaults config.Defaults
		vars     map[string]string
		want     func(b *config.Base)
	}{
		{"database name", config.Defaults{Service: "orders", Database: "analytics", Port: 3003}, nil, func(b *config.Base) {
			b.DatabaseURL = "postgres://postgres@127.0.0.1:5432/analytics?sslmode=disable"
		}},
		{"metrics port of the service", config.Defaults{Service: "orders", Port: 3003, MetricsPort: 3100}, nil, func(b *config.Base) {
			b.MetricsPort = 3100
		}},
		{"metrics port set", config.Defaults{Service: "orders", Port: 3003, MetricsPort: 3100}, map[string]string{"APP_METRICS_PORT": "9090"}, func(b *config.Base) {
			b.MetricsPort = 9090
		}},
		{"postgres server", orders, map[string]string{"POSTGRES_URL": "postgres://app:pw@db:6543/postgres?sslmode=require"}, func(b *config.Base) {
			b.PostgresURL = "postgres://app:pw@db:6543/postgres?sslmode=require"
			b.DatabaseURL = "postgres://app:pw@db:6543/orders?sslmode=require"
		}},
		{"database name prefix", config.Defaults{Service: "orders", Database: "analytics", Port: 3003}, map[string]string{"DATABASE_NAME_PREFIX": "e2e_"}, func(b *config.Base) {
			b.DatabaseNamePrefix = "e2e_"
			b.DatabaseURL = "postgres://postgres@127.0.0.1:5432/e2e_analytics?sslmode=disable"
		}},
		{"database url wins", orders, map[string]string{
			"POSTGRES_URL": "postgres://db/postgres", "DATABASE_URL": "postgres://elsewhere/mine",
		}, func(b *config.Base) {
			b.PostgresURL, b.DatabaseURL = "postgres://db/postgres", "postgres://elsewhere/mine"
		}},
		{"everything else", orders, map[string]string{
			"BIND_ADDRESS": "0.0.0.0", "APP_PORT": "8081", "LOG_LEVEL": "debug", "DAPR_HTTP_PORT": "3503",
			"DAPR_GRPC_PORT": "50004", "DAPR_API_TOKEN": "dt", "APP_API_TOKEN": "at", "SHUTDOWN_TIMEOUT": "2s",
			"DENYLIST_STORE": "revoked",
		}, func(b *config.Base) {
			b.BindAddress, b.Port, b.LogLevel, b.DaprHTTPPort, b.DaprGRPCPort = "0.0.0.0", 8081, "debug", 3503, 50004
			b.DaprAPIToken, b.AppAPIToken, b.ShutdownTimeout, b.DenylistStore = "dt", "at", 2*time.Second, "revoked"
		}},
		{"trusted proxies", orders, map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7,fd00::/8 ,10.1.2.3/8"}, func(b *config.Base) {
			b.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", "10.1.2.3/8"}
			b.TrustedProxyNets = []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
				netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("10.0.0.0/8"),
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := config.Load(env(nil), orders)
			require.NoError(t, err)
			tt.want(&want)
			got, err := config.Load(env(tt.vars), tt.defaults)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestLoadReportsMalformedSettings(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"port", map[string]string{"APP_PORT": "eighty"}, []string{`APP_PORT: "eighty" is not an integer`}},
		{"dapr port", map[string]string{"DAPR_GRPC_PORT": "5000x"}, []string{`DAPR_GRPC_PORT: "5000x" is not an integer`}},
		{"duration without unit", map[string]string{"SHUTDOWN_TIMEOUT": "15"}, []string{`SHUTDOWN_TIMEOUT: "15" is not a duration`}},
		{"trusted proxy not an address", map[string]string{"TRUSTED_PROXIES": "10.0.0.1,proxy.internal"},
			[]string{`TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR prefix`}},
		{"trusted proxy bad prefix", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"},
			[]string{`TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address or CIDR prefix`}},
		{"revocations seen later than a second", map[string]string{"DENYLIST_CACHE_TTL": "2s"},
			[]string{`DENYLIST_CACHE_TTL: 2s is not between 0 and 1s`}},
		{"sampling not a number", map[string]string{"DAPR_TRACE_SAMPLING_RATE": "all"}, []string{`DAPR_TRACE_SAMPLING_RATE: "all" is not a number`}},
		{"sampling above all", map[string]string{"DAPR_TRACE_SAMPLING_RATE": "1.5"}, []string{`DAPR_TRACE_SAMPLING_RATE: 1.5 is not between 0 and 1`}},
		{"every one of several", map[string]string{"APP_PORT": "x", "SHUTDOWN_TIMEOUT": "y"},
			[]string{`APP_PORT: "x" is not an integer`, `SHUTDOWN_TIMEOUT: "y" is not a duration`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(env(tt.vars), orders)
			for _, want := range tt.want {
				assert.ErrorContains(t, err, want)
			}
			assert.Zero(t, cfg, "no half-read settings")
		})
	}
}

type nested struct {
	Timeout time.Duration `env:"T_TIMEOUT" default:"1m" doc:"How long."`
}

type sample struct {
	Name    string   `env:"T_NAME" default:"shop" doc:"A name | with a bar."`
	Count   int      `env:"T_COUNT" default:"3" doc:"How many."`
	Runtime int      `env:"T_RUNTIME" doc:"Set before parsing."`
	List    []string `env:"T_LIST" doc:"Comma-separated."`
	Nested  nested
	derived int
}

func TestParse(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		s := sample{Runtime: 7}
		require.NoError(t, config.Parse(env(nil), &s))
		assert.Equal(t, sample{Name: "shop", Count: 3, Runtime: 7, Nested: nested{Timeout: time.Minute}}, s)
	})
	t.Run("set", func(t *testing.T) {
		s := sample{Runtime: 7}
		require.NoError(t, config.Parse(env(map[string]string{
			"T_NAME": "x", "T_COUNT": "-2", "T_RUNTIME": "0", "T_LIST": " a,, b ", "T_TIMEOUT": "90s",
		}), &s))
		assert.Equal(t, sample{Name: "x", Count: -2, List: []string{"a", "b"}, Nested: nested{Timeout: 90 * time.Second}}, s)
	})
	t.Run("malformed", func(t *testing.T) {
		var s sample
		err := config.Parse(env(map[string]string{"T_COUNT": "3.5", "T_TIMEOUT": "abc"}), &s)
		assert.ErrorContains(t, err, `T_COUNT: "3.5" is not an integer`)
		assert.ErrorContains(t, err, `T_TIMEOUT: "abc" is not a duration`)
	})
	t.Run("unsupported type", func(t *testing.T) {
		var s struct {
			On bool `env:"T_ON" default:"true"`
		}
		assert.ErrorContains(t, config.Parse(env(nil), &s), "T_ON")
	})
	t.Run("not a struct pointer", func(t *testing.T) {
		assert.Error(t, config.Parse(env(nil), sample{}))
	})
}

func TestDocument(t *testing.T) {
	assert.Equal(t, "| Variable | Default | Meaning |\n|---|---|---|\n"+
		"| `T_NAME` | `shop` | A name \\| with a bar. |\n"+
		"| `T_COUNT` | `3` | How many. |\n"+
		"| `T_RUNTIME` |  | Set before parsing. |\n"+
		"| `T_LIST` |  | Comma-separated. |\n"+
		"| `T_TIMEOUT` | `1m` | How long. |\n",
		config.Document(sample{}))
}

func TestConfigurationReference(t *testing.T) {
	configtest.Check(t, "../../../docs/configuration/platform.md", "Settings of every service",
		"Every service reads these. Each service's own are on its page: [gateway](gateway.md), [auth](auth.md), "+
			"[products](products.md), [orders](orders.md), [payments](payments.md), [notifications](notifications.md), "+
			"[workers](workers.md).", config.Base{})
}

func TestDatabaseURL(t *testing.T) {
	assert.Equal(t, "postgres://u@h:5432/shop?sslmode=disable", config.DatabaseURL("postgres://u@h:5432/postgres?sslmode=disable", "shop"))
	assert.Equal(t, "::not a url", config.DatabaseURL("::not a url", "shop"), "an unparsable URL is left for the driver to report")
}
