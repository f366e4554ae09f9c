// Package web serves the shop's built files (web/, built by npm) at the
// gateway's origin: the shop at / and the admin console at /admin. The files are read once at start into a table keyed by
// their path: a request can only ever name one of those files, never reach
// the disk, a directory or anything outside the built directory.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/gateway/internal/canon"
	"github.com/daprshop/daprshop/services/gateway/internal/edge"
)

// Policy is the shop page's Content-Security-Policy: everything from this
// origin only, no inline script or style, no framing.
const Policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the only kinds of file served; any other file in the
// built directory stays private.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
}

// Hashed assets (Vite names them after their content) never change under
// their name; every other file, index.html first, is revalidated.
const (
	assetsDir       = "/assets/"
	immutableCache  = "public, max-age=31536000, immutable"
	revalidateCache = "no-cache"
)

type file struct {
	body, gzipped []byte
	contentType   string
	cacheControl  string
	// etag lets a browser revalidate index.html with a 304.
	etag string
}

// Shop serves the built files.
type Shop struct {
	files map[string]file
	// reserved are path prefixes that belong to the API: the shop never
	// answers for them.
	reserved []string
}

// Load reads every servable file of fsys (the built directory). Dot files,
// symbolic links and files of another kind than contentTypes lists are
// left out. It returns an error when fsys has no index.html.
func Load(fsys fs.FS, reserved ...string) (*Shop, error) {
	s := &Shop{files: map[string]file{}, reserved: reserved}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !d.Type().IsRegular() || !ok {
			return nil
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		urlPath := "/" + name
		cache := revalidateCache
		if strings.HasPrefix(urlPath, assetsDir) {
			cache = immutableCache
		}
		sum := sha256.Sum256(body)
		f := file{body: body, contentType: ct, cacheControl: cache, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		if f.gzipped, err = compress(body); err != nil {
			return err
		}
		s.files[urlPath] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the shop's files: %w", err)
	}
	if _, ok := s.files["/index.html"]; !ok {
		return nil, errors.New("read the shop's files: no index.html (build it: make build)")
	}
	return s, nil
}

// compress returns body gzipped, or nil when that would not save anything.
func compress(body []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if b.Len() >= len(body) {
		return nil, nil
	}
	return b.Bytes(), nil
}

// Size reports the bytes a browser downloads for the shop page: index.html
// and every asset, gzipped where that is smaller.
func (s *Shop) Size() (raw, gzipped int) {
	for _, f := range s.files {
		raw += len(f.body)
		if f.gzipped != nil {
			gzipped += len(f.gzipped)
		} else {
			gzipped += len(f.body)
		}
	}
	return raw, gzipped
}

var errMethod = fiber.NewError(fiber.StatusMethodNotAllowed, "the shop's files are only read (GET, HEAD)")

// Serve answers a request for one of the shop's files and passes every
// other request on: targets that are not canonical (the edge refuses
// them), reserved paths, and paths that name no file (the edge answers
// those, with its 404 when no route matches either). The target is checked
// by the same canonicaliser as the API's, so "%2e", "%2f", dot segments
// and doubled slashes never get this far.
func (s *Shop) Serve(c *fiber.Ctx) error {
	target, err := canon.Parse(string(c.Request().Header.RequestURI()))
	if err != nil || s.isReserved(target.Path) {
		return c.Next()
	}
	f, ok := s.lookup(target.Path)
	if !ok {
		return c.Next()
	}
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead {
		c.Set(fiber.HeaderAllow, "GET, HEAD")
		return errMethod
	}
	edge.PagePolicy(c, Policy)
	c.Set(fiber.HeaderContentType, f.contentType)
	c.Set(fiber.HeaderCacheControl, f.cacheControl)
	c.Vary(fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderETag, f.etag)
	if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
		c.Status(fiber.StatusNotModified)
		return nil
	}
	if f.gzipped != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.gzipped)
	}
	return c.Send(f.body)
}

// lookup finds the file a canonical path (no trailing slash but "/") names:
// the file itself or, for a directory's path, its index.html, so that / is
// the shop's page and /admin the admin console's.
func (s *Shop) lookup(p string) (file, bool) {
	if f, ok := s.files[p]; ok {
		return f, true
	}
	f, ok := s.files[strings.TrimSuffix(p, "/")+"/index.html"]
	return f, ok
}

func (s *Shop) isReserved(p string) bool {
	for _, r := range s.reserved {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding well enough for browsers: gzip listed
// without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
