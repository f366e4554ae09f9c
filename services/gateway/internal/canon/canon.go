// Package canon decides the one request-target the gateway routes on and
// forwards. The sidecar and the services behind it clean and decode paths
// their own way (daprd resolves "..", Fiber decodes "%2e"), so any path
// that two parsers could read differently is refused, never normalised:
// what the route table sees is byte for byte what reaches the sidecar.
package canon

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrPath and ErrQuery say that a request-target is not canonical. Their
// text is fixed: the offending target is never echoed back.
var (
	ErrPath  = errors.New("the request path is not in canonical form")
	ErrQuery = errors.New("the query string holds forbidden characters")
)

// Target is a canonical request-target.
type Target struct {
	// Path starts with "/", holds only unreserved characters (RFC 3986
	// §2.3) and "/", no empty, "." or ".." segment, and path.Clean leaves
	// it as it is.
	Path string
	// Query is the raw query without "?", empty when there is none.
	Query string
}

// URI is the request-target to forward: the path, then the query if any.
func (t Target) URI() string {
	if t.Query == "" {
		return t.Path
	}
	return t.Path + "?" + t.Query
}

// Parse checks the raw request-target of a request line and returns it
// split into path and query. It returns ErrPath for an absolute-form,
// authority-form or asterisk-form target, a fragment, and any path that
// is not canonical; ErrQuery for a query holding control characters,
// NUL, malformed escapes or, once decoded, invalid UTF-8.
func Parse(raw string) (Target, error) {
	p, q, _ := strings.Cut(raw, "?")
	if err := checkPath(p); err != nil {
		return Target{}, err
	}
	if err := checkQuery(q); err != nil {
		return Target{}, err
	}
	return Target{Path: p, Query: q}, nil
}

// checkPath allows unreserved characters and "/" only. No API path needs
// anything else (ids are UUIDs, names and slugs are [a-z0-9_-]), so
// refusing every "%" removes encoded dots, slashes, backslashes and NUL,
// in any case and at any depth of encoding, with one rule and no decoder
// whose reading could differ from the sidecar's. It also refuses ";"
// (matrix parameters some servers strip before routing), "\" (a separator
// on some platforms), "#", spaces, control characters and non-ASCII.
func checkPath(p string) error {
	if p == "/" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return ErrPath // absolute-form ("http://host/..."), "*" or empty
	}
	for i := 0; i < len(p); i++ {
		if !pathByte(p[i]) {
			return ErrPath
		}
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ErrPath // "//", a trailing "/", or a dot segment
		}
	}
	if path.Clean(p) != p {
		return ErrPath
	}
	return nil
}

func pathByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return b == '-' || b == '.' || b == '_' || b == '~' || b == '/'
}

// checkQuery refuses what no client needs and some parser behind the
// gateway could trip on: raw or percent-encoded control characters (NUL,
// DEL and C1 included), raw non-ASCII, spaces, a fragment, escapes that do
// not decode, and text that is not UTF-8 once decoded (a database would
// answer it with an error, not a result).
func checkQuery(q string) error {
	for i := 0; i < len(q); i++ {
		if q[i] <= ' ' || q[i] >= 0x7f || q[i] == '#' {
			return ErrQuery
		}
	}
	decoded, err := url.QueryUnescape(q)
	if err != nil || !utf8.ValidString(decoded) {
		return ErrQuery
	}
	if strings.ContainsFunc(decoded, unicode.IsControl) {
		return ErrQuery
	}
	return nil
}
