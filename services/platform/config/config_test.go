package config_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
)

func env(vars map[string]string) config.Getenv {
	return func(k string) string { return vars[k] }
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := config.Load(env(nil), "orders", "", 3003)
	require.NoError(t, err)
	assert.Equal(t, config.Base{
		Service:         "orders",
		BindAddress:     "127.0.0.1",
		Port:            3003,
		LogLevel:        "info",
		DatabaseURL:     "postgres://postgres@127.0.0.1:5432/orders?sslmode=disable",
		DaprHTTPPort:    3500,
		DaprGRPCPort:    50001,
		ShutdownTimeout: 15 * time.Second,
	}, cfg)
}

func TestLoadOverrides(t *testing.T) {
	tests := []struct {
		name     string
		database string
		vars     map[string]string
		want     func(b *config.Base)
	}{
		{"database name", "analytics", nil, func(b *config.Base) {
			b.DatabaseURL = "postgres://postgres@127.0.0.1:5432/analytics?sslmode=disable"
		}},
		{"postgres server", "", map[string]string{"POSTGRES_URL": "postgres://app:pw@db:6543/postgres?sslmode=require"}, func(b *config.Base) {
			b.DatabaseURL = "postgres://app:pw@db:6543/orders?sslmode=require"
		}},
		{"database name prefix", "analytics", map[string]string{"DATABASE_NAME_PREFIX": "e2e_"}, func(b *config.Base) {
			b.DatabaseURL = "postgres://postgres@127.0.0.1:5432/e2e_analytics?sslmode=disable"
		}},
		{"database url wins", "analytics", map[string]string{
			"POSTGRES_URL": "postgres://db/postgres", "DATABASE_URL": "postgres://elsewhere/mine",
		}, func(b *config.Base) { b.DatabaseURL = "postgres://elsewhere/mine" }},
		{"everything else", "", map[string]string{
			"BIND_ADDRESS": "0.0.0.0", "APP_PORT": "8081", "LOG_LEVEL": "debug", "DAPR_HTTP_PORT": "3503",
			"DAPR_GRPC_PORT": "50004", "DAPR_API_TOKEN": "dt", "APP_API_TOKEN": "at", "SHUTDOWN_TIMEOUT": "2s",
		}, func(b *config.Base) {
			b.BindAddress, b.Port, b.LogLevel, b.DaprHTTPPort, b.DaprGRPCPort = "0.0.0.0", 8081, "debug", 3503, 50004
			b.DaprAPIToken, b.AppAPIToken, b.ShutdownTimeout = "dt", "at", 2*time.Second
		}},
		{"trusted proxies", "", map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7,fd00::/8 ,10.1.2.3/8"}, func(b *config.Base) {
			b.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", "10.1.2.3/8"}
			b.TrustedProxyNets = []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
				netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("10.0.0.0/8"),
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := config.Load(env(nil), "orders", "", 3003)
			require.NoError(t, err)
			tt.want(&want)
			got, err := config.Load(env(tt.vars), "orders", tt.database, 3003)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestLoadReportsMalformedSettings(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"port", map[string]string{"APP_PORT": "eighty"}, `setting APP_PORT="eighty"`},
		{"dapr port", map[string]string{"DAPR_GRPC_PORT": "5000x"}, `setting DAPR_GRPC_PORT="5000x"`},
		{"duration without unit", map[string]string{"SHUTDOWN_TIMEOUT": "15"}, `setting SHUTDOWN_TIMEOUT="15"`},
		{"trusted proxy not an address", map[string]string{"TRUSTED_PROXIES": "10.0.0.1,proxy.internal"}, `setting TRUSTED_PROXIES="proxy.internal"`},
		{"trusted proxy bad prefix", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, `setting TRUSTED_PROXIES="10.0.0.0/33"`},
		{"first of several", map[string]string{"APP_PORT": "x", "SHUTDOWN_TIMEOUT": "y"}, `setting APP_PORT="x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(env(tt.vars), "orders", "", 3003)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestReader(t *testing.T) {
	r := config.NewReader(env(map[string]string{"N": "7", "D": "1m", "S": "x", "BAD_N": "7.5", "BAD_D": "soon"}))
	assert.Equal(t, 7, r.Int("N", 1))
	assert.Equal(t, time.Minute, r.Duration("D", time.Second))
	assert.Equal(t, "x", r.String("S", "def"))
	assert.Equal(t, "def", r.String("MISSING", "def"))
	assert.Equal(t, 3, r.Int("MISSING", 3))
	require.NoError(t, r.Err())

	assert.Equal(t, 1, r.Int("BAD_N", 1), "a malformed value falls back to the default")
	assert.Equal(t, time.Second, r.Duration("BAD_D", time.Second))
	assert.ErrorContains(t, r.Err(), `setting BAD_N="7.5"`, "the first malformed setting is kept")
}

func TestDatabaseURL(t *testing.T) {
	assert.Equal(t, "postgres://u@h:5432/shop?sslmode=disable", config.DatabaseURL("postgres://u@h:5432/postgres?sslmode=disable", "shop"))
	assert.Equal(t, "::not a url", config.DatabaseURL("::not a url", "shop"), "an unparsable URL is left for the driver to report")
}
