package paypalapi

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Transmission is what PayPal's headers say about a webhook delivery.
type Transmission struct {
	ID       string // PAYPAL-TRANSMISSION-ID
	Time     string // PAYPAL-TRANSMISSION-TIME, RFC 3339
	Sig      string // PAYPAL-TRANSMISSION-SIG, base64
	CertURL  string // PAYPAL-CERT-URL
	AuthAlgo string // PAYPAL-AUTH-ALGO
}

// certHosts are the hosts PayPal serves its webhook certificates from; a
// PAYPAL-CERT-URL elsewhere is refused before anything is fetched.
var certHosts = map[string]bool{
	"api.paypal.com": true, "api-m.paypal.com": true,
	"api.sandbox.paypal.com": true, "api-m.sandbox.paypal.com": true,
}

// certPath is the path of a PayPal certificate: one plain name under the
// certificates' folder, so a URL cannot reach elsewhere (an escape, a dot
// segment, a query) on the host it is fetched from.
var certPath = regexp.MustCompile(`^/v1/notifications/certs/[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$`)

// certName is the name PayPal's webhook signing certificates are issued to.
const certName = "messageverificationcerts.paypal.com"

// WebhookOptions configure Webhooks.
type WebhookOptions struct {
	// WebhookID is the id PayPal gave the shop's webhook; it is part of
	// what is signed, so a delivery meant for another webhook fails.
	WebhookID string
	// Tolerance is how old a transmission may be (replay protection).
	Tolerance time.Duration
	// Roots returns the CAs the certificate must chain to: the system's
	// in production, the emulator's local CA in development.
	Roots func() (*x509.CertPool, error)
	// FetchCert fetches the certificate at path (on PayPal's API host,
	// through the paypal HTTPEndpoint).
	FetchCert func(ctx context.Context, path string) ([]byte, error)
	Now       func() time.Time
}

// newCertEvery is how often at most a certificate not yet known is
// fetched, and a cached one due for a fetch is fetched again. Anyone can
// name an unknown one, and each fetch counts with the paypal endpoint's
// breaker, which ten failures within its 30 s interval open for every
// PayPal call: forged deliveries naming certificates that do not exist
// would otherwise stop PayPal payments. A delivery refused meanwhile is a
// 400, which PayPal delivers again later. A cached certificate's fetches
// are timed on their own, so forged deliveries cannot delay them.
const newCertEvery = 5 * time.Second

// certMaxAge is how long a verified certificate is used before it is
// fetched again, so that one PayPal replaced or withdrew stops being
// trusted within a day even though it has not expired.
const certMaxAge = 24 * time.Hour

// cachedCert is a verified certificate.
type cachedCert struct {
	cert    *x509.Certificate
	fetched time.Time
	// tried is when it was last fetched again, or tried to be.
	tried time.Time
	// validUntil is the earliest NotAfter of its verified chain.
	validUntil time.Time
}

// Webhooks verifies and reads PayPal's webhook deliveries.
type Webhooks struct {
	opts      WebhookOptions
	mu        sync.Mutex
	certs     map[string]cachedCert // verified, by cert URL path
	lastFetch time.Time             // of a certificate not cached
}

// NewWebhooks returns a verifier.
func NewWebhooks(opts WebhookOptions) *Webhooks {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Webhooks{opts: opts, certs: map[string]cachedCert{}}
}

var errBadSignature = apperr.New(apperr.Malformed, "invalid PayPal webhook signature")

// Parse verifies body against its transmission the way PayPal specifies
// (SHA256withRSA over "id|time|webhook id|CRC32 of the body", with the
// certificate at the cert URL, which must be PayPal's and chain to a
// trusted CA) and returns the event. A bad or stale signature is an
// apperr.Malformed error; failing to fetch the certificate is
// apperr.Unavailable, so PayPal delivers again.
func (w *Webhooks) Parse(ctx context.Context, body []byte, t Transmission) (payments.WebhookEvent, error) {
	if t.AuthAlgo != "SHA256withRSA" {
		return payments.WebhookEvent{}, fmt.Errorf("%w: algorithm %q", errBadSignature, t.AuthAlgo)
	}
	at, err := time.Parse(time.RFC3339, t.Time)
	if err != nil || t.ID == "" {
		return payments.WebhookEvent{}, fmt.Errorf("%w: no transmission id or time", errBadSignature)
	}
	if age := w.opts.Now().Sub(at); age > w.opts.Tolerance || age < -w.opts.Tolerance {
		return payments.WebhookEvent{}, fmt.Errorf("%w: transmitted %s ago", errBadSignature, age.Round(time.Second))
	}
	sig, err := base64.StdEncoding.DecodeString(t.Sig)
	if err != nil || len(sig) == 0 {
		return payments.WebhookEvent{}, fmt.Errorf("%w: signature not base64", errBadSignature)
	}
	cert, err := w.cert(ctx, t.CertURL)
	if err != nil {
		return payments.WebhookEvent{}, err
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return payments.WebhookEvent{}, fmt.Errorf("%w: not an RSA certificate", errBadSignature)
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d", t.ID, t.Time, w.opts.WebhookID, crc32.ChecksumIEEE(body))))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return payments.WebhookEvent{}, fmt.Errorf("%w: %w", errBadSignature, err)
	}
	return event(body)
}

// cert returns the verified certificate at rawURL. It is fetched again
// once it is certMaxAge old, at most once per newCertEvery, and never used
// past its chain's NotAfter; fetches of certificates not cached are
// throttled, all together, to one per newCertEvery.
func (w *Webhooks) cert(ctx context.Context, rawURL string) (*x509.Certificate, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || !certHosts[strings.ToLower(u.Hostname())] || u.Port() != "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.RawPath != "" || !certPath.MatchString(u.Path) {
		return nil, fmt.Errorf("%w: certificate URL not PayPal's", errBadSignature)
	}
	w.mu.Lock()
	now := w.opts.Now()
	cached, found := w.certs[u.Path]
	if found && !now.Before(cached.validUntil) {
		delete(w.certs, u.Path)
		found = false
	}
	switch {
	case found && (now.Sub(cached.fetched) < certMaxAge || now.Sub(cached.tried) < newCertEvery):
		// Fresh, or due and being fetched again (or just failed to be,
		// PayPal being down): it has not expired.
		w.mu.Unlock()
		return cached.cert, nil
	case found:
		cached.tried = now
		w.certs[u.Path] = cached
	case now.Sub(w.lastFetch) < newCertEvery:
		last := w.lastFetch
		w.mu.Unlock()
		return nil, fmt.Errorf("%w: certificate not known or expired, another fetched %s ago", errBadSignature, now.Sub(last).Round(time.Millisecond))
	default:
		w.lastFetch = now
	}
	w.mu.Unlock()
	entry, err := w.fetchCert(ctx, u.Path, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil && found && apperr.KindOf(err) == apperr.Unavailable:
		return cached.cert, nil // PayPal down: no verdict on the certificate
	case err != nil:
		delete(w.certs, u.Path) // withdrawn, or no longer verifies
		return nil, err
	}
	for path, c := range w.certs {
		if !now.Before(c.validUntil) {
			delete(w.certs, path) // never used again
		}
	}
	w.certs[u.Path] = entry
	return entry.cert, nil
}

// fetchCert fetches the certificate at path and verifies it, as of now.
func (w *Webhooks) fetchCert(ctx context.Context, path string, now time.Time) (cachedCert, error) {
	raw, err := w.opts.FetchCert(ctx, path)
	if err != nil {
		return cachedCert{}, err
	}
	var chain []*x509.Certificate
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return cachedCert{}, fmt.Errorf("%w: unreadable certificate: %w", errBadSignature, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return cachedCert{}, fmt.Errorf("%w: no certificate at %s", errBadSignature, path)
	}
	roots, err := w.opts.Roots()
	if err != nil {
		return cachedCert{}, err
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	verified, err := chain[0].Verify(x509.VerifyOptions{DNSName: certName, Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		return cachedCert{}, fmt.Errorf("%w: %w", errBadSignature, err)
	}
	entry := cachedCert{cert: chain[0], fetched: now, validUntil: chain[0].NotAfter}
	for _, c := range verified[0] {
		if c.NotAfter.Before(entry.validUntil) {
			entry.validUntil = c.NotAfter
		}
	}
	return entry, nil
}

// FetchCertVia returns a FetchCert that reads certificates from baseURL
// (the paypal HTTPEndpoint through the sidecar), with the sidecar's token.
func FetchCertVia(client *http.Client, baseURL, daprAPIToken string) func(ctx context.Context, path string) ([]byte, error) {
	return func(ctx context.Context, path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+path, nil)
		if err != nil {
			return nil, err
		}
		if daprAPIToken != "" {
			req.Header.Set("dapr-api-token", daprAPIToken)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch paypal certificate: %w: %w", errUnavailable, err)
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
			// PayPal no longer serves it: withdrawn, not PayPal down.
			return nil, fmt.Errorf("%w: no certificate at %s (status %d)", errBadSignature, path, resp.StatusCode)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch paypal certificate: %w: status %d", errUnavailable, resp.StatusCode)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("fetch paypal certificate: %w: %w", errUnavailable, err)
		}
		return raw, nil
	}
}

// event reads a verified delivery: the order an event is about is the
// intent (a capture names its order in supplementary_data).
func event(body []byte) (payments.WebhookEvent, error) {
	var evt struct {
		ID        string `json:"id"`
		EventType string `json:"event_type"`
		Resource  struct {
			ID                string `json:"id"`
			Status            string `json:"status"`
			SupplementaryData struct {
				RelatedIDs struct {
					OrderID string `json:"order_id"`
				} `json:"related_ids"`
			} `json:"supplementary_data"`
			StatusDetails struct {
				Reason string `json:"reason"`
			} `json:"status_details"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &evt); err != nil || evt.ID == "" {
		return payments.WebhookEvent{}, apperr.New(apperr.Malformed, "unreadable PayPal event")
	}
	out := payments.WebhookEvent{ID: evt.ID, Type: evt.EventType}
	r := evt.Resource
	switch evt.EventType {
	case "CHECKOUT.ORDER.APPROVED":
		out.Intent = &payments.Intent{ID: r.ID, Status: payments.IntentAwaitingCapture}
	case "PAYMENT.CAPTURE.COMPLETED":
		out.Intent = &payments.Intent{ID: r.SupplementaryData.RelatedIDs.OrderID, Status: payments.IntentSucceeded}
	case "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED":
		status := r.Status
		if status == "" {
			status = "DECLINED"
		}
		out.Intent = &payments.Intent{ID: r.SupplementaryData.RelatedIDs.OrderID, Status: payments.IntentAwaitingMethod,
			FailureMessage: captureFailure(status, r.StatusDetails.Reason)}
	}
	if out.Intent != nil && out.Intent.ID == "" {
		return payments.WebhookEvent{}, apperr.Newf(apperr.Malformed, "PayPal event %s names no order", evt.ID)
	}
	return out, nil
}

var errNoRoots = errors.New("no CA certificate in the PayPal roots file")

// RootsFrom returns the CAs of the PEM file, read when asked (the local
// emulator may write it after payments starts); without a file, the
// system's.
func RootsFrom(file string) func() (*x509.CertPool, error) {
	return func() (*x509.CertPool, error) {
		if file == "" {
			return x509.SystemCertPool()
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read paypal roots: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(raw) {
			return nil, fmt.Errorf("%s: %w", file, errNoRoots)
		}
		return pool, nil
	}
}
