package server_test

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/valyala/fasthttp"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/server"
)

// The gateway's table of forwarding chains is in its edge tests; here,
// what every service takes from a request's forwarding headers.
func TestClientAddressIsWhatTrustedProxiesVouchFor(t *testing.T) {
	tests := []struct {
		name, peer            string
		trusted               []string
		wantClient, wantProto string
	}{
		{"behind a trusted proxy: the address it saw, never the leftmost", "10.0.0.2", []string{"10.0.0.0/8"}, "198.51.100.7", "https"},
		{"an untrusted peer's headers count for nothing", "203.0.113.5", []string{"10.0.0.0/8"}, "203.0.113.5", "http"},
		{"no trusted proxies: the peer, whatever the headers say", "10.0.0.2", nil, "10.0.0.2", "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Base{Service: "test"}
			for _, p := range tt.trusted {
				cfg.TrustedProxyNets = append(cfg.TrustedProxyNets, netip.MustParsePrefix(p))
			}
			var logs bytes.Buffer
			srv := server.New(server.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Public: true})
			var client, proto string
			srv.App().Get("/who", func(c *fiber.Ctx) error {
				client, proto = server.ClientAddr(c), c.Protocol()
				return c.SendStatus(fiber.StatusNoContent)
			})
			var req fasthttp.Request
			req.Header.SetMethod(fiber.MethodGet)
			req.SetRequestURI("/who")
			req.Header.Set(fiber.HeaderXForwardedFor, "1.2.3.4, 198.51.100.7")
			req.Header.Set(fiber.HeaderXForwardedProto, "https")
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(tt.peer), Port: 40000}, nil)
			srv.App().Handler()(&ctx)

			assert.Equal(t, fiber.StatusNoContent, ctx.Response.StatusCode())
			assert.Equal(t, tt.wantClient, client)
			assert.Equal(t, tt.wantProto, proto)
			assert.Contains(t, logs.String(), " remote_ip="+tt.wantClient+"\n", "the access log's address")
		})
	}
}
