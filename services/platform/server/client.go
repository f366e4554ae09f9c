package server

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

type clientKey struct{}

// ClientAddr is the request's client address, as the server's trusted
// proxies vouch for it: what the access log records, what rate limits
// count and what the gateway passes on. The server does not let Fiber
// read X-Forwarded-For, so c.IP() is the peer: Fiber would take the
// leftmost entry, which the client writes.
func ClientAddr(c *fiber.Ctx) string {
	if addr, ok := c.Locals(clientKey{}).(string); ok {
		return addr
	}
	return c.IP()
}

// clientAddress reads the client's address before any handler can strip
// the forwarding headers it may come from.
func clientAddress(trusted []netip.Prefix) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(clientKey{}, clientAddr(c, trusted))
		return c.Next()
	}
}

// clientAddr returns the client's address. Without trusted proxies, or
// when the peer is not one, the peer is the client. Behind trusted
// proxies, X-Forwarded-For is read from the right, where each proxy
// appended the address it saw: the first address that is not a trusted
// proxy is the client. Everything left of it was written by the client
// and is never believed. An entry that is not an address ends the walk at
// the last trusted proxy, the farthest hop that can still be vouched for.
func clientAddr(c *fiber.Ctx, trusted []netip.Prefix) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	client := peer.Unmap()
	if !isTrusted(client, trusted) {
		return client.String()
	}
	hops := forwardedFor(c)
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		client = addr.Unmap()
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client.String()
}

// forwardedFor lists the X-Forwarded-For entries of every such header in
// order: a list may be split over several header lines (RFC 9110 §5.3).
func forwardedFor(c *fiber.Ctx) []string {
	var hops []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		for _, hop := range strings.Split(string(v), ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
