package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
)

// fakeRedis accepts connections and reports the first command each one
// sends (the handshake, which carries the credentials), answering it with an
// error so the client gives up.
func fakeRedis(t *testing.T) (addr string, handshakes <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			n, _ := conn.Read(buf)
			select {
			case got <- string(buf[:n]):
			default:
			}
			_, _ = conn.Write([]byte("-ERR fake server\r\n"))
			conn.Close()
		}
	}()
	return ln.Addr().String(), got
}

func TestRedisOptionsAuthenticateWithThePassword(t *testing.T) {
	cases := []struct {
		name     string
		password string
	}{
		{"password set", "s3cret-for-the-limiter"},
		{"no password", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, handshakes := fakeRedis(t)
			env := map[string]string{"REDIS_ADDR": addr, "REDIS_PASSWORD": tc.password}
			var cfg settings
			require.NoError(t, config.Parse(func(k string) string { return env[k] }, &cfg))
			rdb := redis.NewClient(redisOptions(cfg.Redis))
			defer rdb.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.Error(t, rdb.Ping(ctx).Err(), "the fake server refuses everything")

			select {
			case first := <-handshakes:
				if tc.password != "" {
					assert.Contains(t, first, tc.password, "the handshake authenticates")
				} else {
					assert.NotContains(t, strings.ToUpper(first), "AUTH", "no credentials without a password")
				}
			case <-ctx.Done():
				t.Fatal("the client never reached REDIS_ADDR")
			}
		})
	}
}
