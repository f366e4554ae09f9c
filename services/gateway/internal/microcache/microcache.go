// Package microcache keeps the gateway's answers to anonymous public reads
// (the catalog) for at most a second, so that a burst of shoppers reading
// the same product or page costs one trip through the sidecars, not one
// each. It never holds an answer to a request that carried credentials,
// and a client that asks for a fresh answer (Cache-Control: no-cache) gets
// one from the service.
//
// What an anonymous reader may see: an answer up to TTL old. A write
// through this gateway (any POST, PUT, PATCH or DELETE) drops every answer
// held, so a client reads its own writes; a change made elsewhere (another
// gateway replica, an event applied by a service) shows within TTL.
package microcache

import (
	"bytes"
	"hash/fnv"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// MaxTTL bounds how old a cached answer may be.
const MaxTTL = time.Second

const (
	// maxEntryBytes: a catalog page is a few KiB; larger answers stream.
	maxEntryBytes = 256 << 10
	// maxBytes bounds the memory all entries take; past it, new answers
	// are not kept until expired ones are dropped.
	maxBytes = 32 << 20
)

// keptHeaders are the response headers an entry keeps: those that
// describe the representation. Everything else on a response (request id,
// trace context, rate limits, CORS) belongs to one request.
var keptHeaders = []string{fiber.HeaderContentType, fiber.HeaderContentLanguage, fiber.HeaderLastModified, fiber.HeaderETag}

// Cache holds answers by request-target.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	entries  map[string]*entry
	inflight map[string]*flight
	bytes    int
	// gen counts writes seen; an answer fetched across one is not kept.
	gen     uint64
	sweptAt time.Time
}

type entry struct {
	status  int
	headers [][2]string
	body    []byte
	etag    string
	stored  time.Time
	expires time.Time
}

// flight is one fetch of a key that concurrent misses wait for.
type flight struct {
	done  chan struct{}
	entry *entry // nil: not cacheable, each waiter fetches for itself
}

// New returns a Cache keeping answers for ttl (at most MaxTTL).
func New(ttl time.Duration, now func() time.Time) *Cache {
	return &Cache{ttl: min(ttl, MaxTTL), now: now, entries: map[string]*entry{}, inflight: map[string]*flight{}}
}

// Cacheable reports whether the request may be answered from the cache:
// a GET without credentials whose client did not ask for a fresh answer.
func Cacheable(c *fiber.Ctx) bool {
	h := &c.Request().Header
	if !h.IsGet() || len(h.Peek(fiber.HeaderAuthorization)) > 0 || len(h.Peek(fiber.HeaderCookie)) > 0 {
		return false
	}
	cc := h.Peek(fiber.HeaderCacheControl)
	return !bytes.Contains(cc, []byte("no-cache")) && !bytes.Contains(cc, []byte("no-store")) &&
		!bytes.Contains(cc, []byte("max-age=0")) && !bytes.Contains(h.Peek(fiber.HeaderPragma), []byte("no-cache"))
}

// Serve answers c from the entry for key, or calls fetch (which writes
// the service's answer to c) and keeps that answer when it is a 200
// meant for anyone. Concurrent misses of one key wait for one fetch.
func (k *Cache) Serve(c *fiber.Ctx, key string, fetch func() error) error {
	now := k.now()
	k.mu.Lock()
	if e, ok := k.entries[key]; ok && now.Before(e.expires) {
		k.mu.Unlock()
		e.write(c, now, k.ttl)
		return nil
	}
	if f, ok := k.inflight[key]; ok {
		k.mu.Unlock()
		<-f.done
		if f.entry == nil {
			return fetch()
		}
		f.entry.write(c, k.now(), k.ttl)
		return nil
	}
	f := &flight{done: make(chan struct{})}
	k.inflight[key] = f
	gen := k.gen
	k.mu.Unlock()

	err := fetch()
	var e *entry
	if err == nil {
		if e, err = capture(c, now, k.ttl); e != nil {
			e.write(c, now, k.ttl)
		}
	}
	k.mu.Lock()
	delete(k.inflight, key)
	if e != nil && gen == k.gen {
		k.store(key, e, now)
	}
	f.entry = e
	k.mu.Unlock()
	close(f.done)
	return err
}

// Invalidate drops every entry: call it before and after a write.
func (k *Cache) Invalidate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	clear(k.entries)
	k.bytes = 0
}

// store keeps e, dropping expired entries once per ttl; k.mu is held.
func (k *Cache) store(key string, e *entry, now time.Time) {
	if now.Sub(k.sweptAt) > k.ttl || k.bytes+len(e.body) > maxBytes {
		for key, old := range k.entries {
			if !now.Before(old.expires) {
				k.bytes -= len(old.body)
				delete(k.entries, key)
			}
		}
		k.sweptAt = now
	}
	if old, ok := k.entries[key]; ok {
		k.bytes -= len(old.body)
	}
	if k.bytes+len(e.body) > maxBytes {
		delete(k.entries, key)
		return
	}
	k.entries[key] = e
	k.bytes += len(e.body)
}

// capture makes an entry of the answer fetch wrote to c, reading a
// streamed body into memory; it returns nil for an answer that is not for
// everyone (not 200, a cookie, Vary, private or no-store) or too large,
// which then streams on untouched.
func capture(c *fiber.Ctx, now time.Time, ttl time.Duration) (*entry, error) {
	resp := c.Response()
	h := &resp.Header
	cc := h.Peek(fiber.HeaderCacheControl)
	// Vary: Origin is the gateway's CORS middleware's, which sets its
	// headers on every answer for the request's own origin, cached or not.
	vary := h.Peek(fiber.HeaderVary)
	if resp.StatusCode() != fiber.StatusOK || len(h.Peek(fiber.HeaderSetCookie)) > 0 || (len(vary) > 0 && !bytes.EqualFold(vary, []byte(fiber.HeaderOrigin))) ||
		bytes.Contains(cc, []byte("private")) || bytes.Contains(cc, []byte("no-store")) || bytes.Contains(cc, []byte("no-cache")) {
		return nil, nil
	}
	if n := h.ContentLength(); n < 0 || n > maxEntryBytes {
		return nil, nil
	}
	var body []byte
	if stream := resp.BodyStream(); stream != nil {
		read, err := io.ReadAll(io.LimitReader(stream, maxEntryBytes+1))
		if err != nil || len(read) > maxEntryBytes {
			_ = resp.CloseBodyStream() // the answer is lost either way
			return nil, fiber.ErrBadGateway
		}
		body = read
	} else {
		body = bytes.Clone(resp.Body())
	}
	e := &entry{status: resp.StatusCode(), body: body, stored: now, expires: now.Add(ttl)}
	for _, name := range keptHeaders {
		if v := h.Peek(name); len(v) > 0 {
			e.headers = append(e.headers, [2]string{name, string(v)})
		}
	}
	if e.etag = string(h.Peek(fiber.HeaderETag)); e.etag == "" {
		sum := fnv.New64a()
		sum.Write(body)
		e.etag = `"` + strconv.FormatUint(sum.Sum64(), 36) + `"`
		e.headers = append(e.headers, [2]string{fiber.HeaderETag, e.etag})
	}
	return e, nil
}

// write answers c with e: 304 when the client holds the same
// representation (If-None-Match), the whole answer otherwise.
func (e *entry) write(c *fiber.Ctx, now time.Time, ttl time.Duration) {
	resp := c.Response()
	for _, h := range e.headers {
		resp.Header.Set(h[0], h[1])
	}
	resp.Header.Set(fiber.HeaderCacheControl, "public, max-age="+strconv.Itoa(int(ttl/time.Second)))
	resp.Header.Set(fiber.HeaderAge, strconv.Itoa(int(now.Sub(e.stored)/time.Second)))
	if inm := c.Request().Header.Peek(fiber.HeaderIfNoneMatch); len(inm) > 0 && etagMatches(inm, e.etag) {
		resp.SetStatusCode(fiber.StatusNotModified)
		resp.ResetBody()
		return
	}
	resp.SetStatusCode(e.status)
	resp.SetBodyRaw(e.body)
}

// etagMatches reads If-None-Match: "*" or a list of tags, weak or strong
// (the weak comparison RFC 9110 §13.1.2 prescribes for it).
func etagMatches(header []byte, etag string) bool {
	for tag := range bytes.SplitSeq(header, []byte(",")) {
		tag = bytes.TrimPrefix(bytes.TrimSpace(tag), []byte("W/"))
		if string(tag) == "*" || string(tag) == etag {
			return true
		}
	}
	return false
}
