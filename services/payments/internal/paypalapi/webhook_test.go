package paypalapi_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/paypalapi"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

func transmission(d delivery) paypalapi.Transmission {
	return paypalapi.Transmission{
		ID: d.header.Get("Paypal-Transmission-Id"), Time: d.header.Get("Paypal-Transmission-Time"),
		Sig: d.header.Get("Paypal-Transmission-Sig"), CertURL: d.header.Get("Paypal-Cert-Url"), AuthAlgo: d.header.Get("Paypal-Auth-Algo"),
	}
}

// approvedOrder starts an emulator whose buyer approved a new order, and
// returns it, its client, the order and the approval's delivery.
func approvedOrder(t *testing.T) (*emulator, *paypalapi.Client, payments.Intent, delivery) {
	t.Helper()
	em := startEmulator(t)
	c := em.client(t)
	created := newOrder(t, c, 700, "EUR")
	em.control(t, http.MethodPost, "/_emulator/orders/"+created.ID+"/approve")
	return em, c, created, em.next(t, "CHECKOUT.ORDER.APPROVED")
}

func TestWebhookVerification(t *testing.T) {
	em, c, created, approved := approvedOrder(t)
	ctx := context.Background()
	_, err := c.Capture(ctx, "capture-"+created.ID, created.ID)
	require.NoError(t, err)
	completed := em.next(t, "PAYMENT.CAPTURE.COMPLETED")

	fetched := 0
	verifier := func(webhookID string, roots string, now time.Time) *paypalapi.Webhooks {
		fetch := paypalapi.FetchCertVia(http.DefaultClient, em.url, "")
		return paypalapi.NewWebhooks(paypalapi.WebhookOptions{
			WebhookID: webhookID, Tolerance: 5 * time.Minute, Roots: paypalapi.RootsFrom(roots), Now: func() time.Time { return now },
			FetchCert: func(ctx context.Context, path string) ([]byte, error) { fetched++; return fetch(ctx, path) },
		})
	}
	good := verifier(em.secrets["paypal-webhook-id"], em.caFile, time.Now())

	t.Run("a delivery of the emulator", func(t *testing.T) {
		evt, err := good.Parse(ctx, approved.body, transmission(approved))
		require.NoError(t, err)
		assert.Equal(t, "CHECKOUT.ORDER.APPROVED", evt.Type)
		assert.Equal(t, &payments.Intent{ID: created.ID, Status: payments.IntentAwaitingCapture}, evt.Intent)
		evt, err = good.Parse(ctx, completed.body, transmission(completed))
		require.NoError(t, err)
		assert.Equal(t, &payments.Intent{ID: created.ID, Status: payments.IntentSucceeded}, evt.Intent, "a capture names its order")
		assert.Equal(t, 1, fetched, "the certificate is fetched once")
	})

	refused := []struct {
		name     string
		verifier *paypalapi.Webhooks
		body     []byte
		edit     func(*paypalapi.Transmission)
	}{
		{"a forged body", good, []byte(strings.Replace(string(completed.body), "COMPLETED", "COMPLETED ", 1)), nil},
		{"another delivery's signature", good, completed.body, func(tr *paypalapi.Transmission) { tr.Sig = transmission(approved).Sig }},
		{"another transmission id", good, completed.body, func(tr *paypalapi.Transmission) { tr.ID = uuid.NewString() }},
		{"no signature", good, completed.body, func(tr *paypalapi.Transmission) { tr.Sig = "" }},
		{"another algorithm", good, completed.body, func(tr *paypalapi.Transmission) { tr.AuthAlgo = "SHA1withRSA" }},
		{"a replay past the tolerance", verifier(em.secrets["paypal-webhook-id"], em.caFile, time.Now().Add(6*time.Minute)), completed.body, nil},
		{"a transmission time from the future", verifier(em.secrets["paypal-webhook-id"], em.caFile, time.Now().Add(-6*time.Minute)), completed.body, nil},
		{"another webhook's id", verifier("WH-OTHER", em.caFile, time.Now()), completed.body, nil},
		{"a certificate the CA did not issue", verifier(em.secrets["paypal-webhook-id"], "", time.Now()), completed.body, nil},
		{"a certificate URL off PayPal's hosts", good, completed.body, func(tr *paypalapi.Transmission) {
			tr.CertURL = strings.Replace(tr.CertURL, "api.sandbox.paypal.com", "api.sandbox.paypal.com.evil.test", 1)
		}},
		{"a certificate URL over http", good, completed.body, func(tr *paypalapi.Transmission) {
			tr.CertURL = strings.Replace(tr.CertURL, "https://", "http://", 1)
		}},
		{"a certificate URL with a port", good, completed.body, func(tr *paypalapi.Transmission) {
			tr.CertURL = strings.Replace(tr.CertURL, "paypal.com/", "paypal.com:8443/", 1)
		}},
		{"a certificate URL elsewhere on PayPal's host", good, completed.body, func(tr *paypalapi.Transmission) {
			tr.CertURL = strings.Replace(tr.CertURL, "/v1/notifications/certs/", "/v1/other/", 1)
		}},
		{"a certificate that does not exist", good, completed.body, func(tr *paypalapi.Transmission) { tr.CertURL += "X" }},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			tr := transmission(completed)
			if tc.edit != nil {
				tc.edit(&tr)
			}
			_, err := tc.verifier.Parse(ctx, tc.body, tr)
			require.Error(t, err)
			assert.Equal(t, apperr.Malformed, apperr.KindOf(err), "%v", err)
		})
	}
	t.Run("certificates not yet known are fetched once per interval", func(t *testing.T) {
		// Forged deliveries naming certificates that do not exist must not
		// each cost a fetch through the paypal endpoint, whose breaker
		// would open for every PayPal call.
		now, fetches := time.Now(), 0
		fetch := paypalapi.FetchCertVia(http.DefaultClient, em.url, "")
		w := paypalapi.NewWebhooks(paypalapi.WebhookOptions{
			WebhookID: em.secrets["paypal-webhook-id"], Tolerance: time.Hour, Roots: paypalapi.RootsFrom(em.caFile),
			Now:       func() time.Time { return now },
			FetchCert: func(ctx context.Context, path string) ([]byte, error) { fetches++; return fetch(ctx, path) },
		})
		forged := func(name string) error {
			tr := transmission(completed)
			tr.CertURL = tr.CertURL[:strings.LastIndex(tr.CertURL, "/")+1] + name
			_, err := w.Parse(ctx, completed.body, tr)
			return err
		}
		for i := range 20 {
			err := forged(fmt.Sprintf("CERT-FORGED-%d", i))
			assert.Equal(t, apperr.Malformed, apperr.KindOf(err), "%v", err)
		}
		assert.Equal(t, 1, fetches, "one fetch for twenty unknown certificates at once")
		now = now.Add(5 * time.Second)
		_, err := w.Parse(ctx, completed.body, transmission(completed))
		require.NoError(t, err, "the real certificate is fetched once the interval has passed")
		assert.Equal(t, 2, fetches)
	})
	// A certificate URL whose path would leave the certificates' folder on
	// the host it is fetched from, or break the request, is refused before
	// anything is fetched.
	for _, path := range []string{"../../v1.0/secrets/secretstore/bulk", "%2E%2E/%2E%2E/v1.0/metadata", "%25zz", "CERT%3Fa=b", "CERT?a=b", "CERT#x", ".hidden", ""} {
		t.Run("a certificate URL ending "+path, func(t *testing.T) {
			tr := transmission(completed)
			tr.CertURL = tr.CertURL[:strings.LastIndex(tr.CertURL, "/")+1] + path
			before := fetched
			_, err := good.Parse(ctx, completed.body, tr)
			require.Error(t, err)
			assert.Equal(t, apperr.Malformed, apperr.KindOf(err), "%v", err)
			assert.Equal(t, before, fetched, "nothing fetched")
		})
	}
}

// TestWebhookCertificateCache: a verified certificate is fetched again
// after a day and never used past its NotAfter, without a fetch per
// delivery.
func TestWebhookCertificateCache(t *testing.T) {
	em, _, _, approved := approvedOrder(t)
	ctx := context.Background()
	tr := transmission(approved)

	fetch := paypalapi.FetchCertVia(http.DefaultClient, em.url, "")
	certPath := tr.CertURL[strings.Index(tr.CertURL, "/v1/"):]
	raw, err := fetch(ctx, certPath)
	require.NoError(t, err)
	block, _ := pem.Decode(raw)
	require.NotNil(t, block)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)

	type verifier struct {
		w       *paypalapi.Webhooks
		now     time.Time
		fetches int
		down    bool
		gone    bool // the certificate is no longer at PayPal
	}
	newVerifier := func() *verifier {
		v := &verifier{now: time.Now()}
		v.w = paypalapi.NewWebhooks(paypalapi.WebhookOptions{
			WebhookID: em.secrets["paypal-webhook-id"], Tolerance: 20 * 365 * 24 * time.Hour, Roots: paypalapi.RootsFrom(em.caFile),
			Now: func() time.Time { return v.now },
			FetchCert: func(ctx context.Context, path string) ([]byte, error) {
				v.fetches++
				if v.down {
					return nil, apperr.New(apperr.Unavailable, "PayPal is down")
				}
				if v.gone {
					return fetch(ctx, path+"-gone")
				}
				return fetch(ctx, path)
			},
		})
		return v
	}
	parse := func(v *verifier, tr paypalapi.Transmission) error {
		_, err := v.w.Parse(ctx, approved.body, tr)
		return err
	}
	forged := func(v *verifier) {
		f := tr
		f.CertURL = f.CertURL[:strings.LastIndex(f.CertURL, "/")+1] + "CERT-FORGED"
		assert.Error(t, parse(v, f))
	}

	t.Run("fetched again after a day", func(t *testing.T) {
		v := newVerifier()
		require.NoError(t, parse(v, tr))
		v.now = v.now.Add(23 * time.Hour)
		require.NoError(t, parse(v, tr))
		assert.Equal(t, 1, v.fetches, "cached for a day")
		v.now = v.now.Add(time.Hour)
		require.NoError(t, parse(v, tr))
		assert.Equal(t, 2, v.fetches, "fetched again")
		require.NoError(t, parse(v, tr))
		assert.Equal(t, 2, v.fetches, "and cached again")
	})
	t.Run("never used past its NotAfter", func(t *testing.T) {
		v := newVerifier()
		require.NoError(t, parse(v, tr))
		v.now = leaf.NotAfter.Add(-time.Second)
		forged(v)
		require.NoError(t, parse(v, tr), "fetched again, not expired")
		assert.Equal(t, 3, v.fetches, "its own fetch, not throttled by the forged one")
		v.now = leaf.NotAfter.Add(5 * time.Second) // the forged fetch's interval is over
		err := parse(v, tr)
		require.Error(t, err)
		assert.Equal(t, 4, v.fetches, "the same certificate, fetched again...")
		assert.Equal(t, apperr.Malformed, apperr.KindOf(err), "%v", err)
		var invalid x509.CertificateInvalidError
		require.ErrorAs(t, err, &invalid, "...has expired")
		assert.Equal(t, x509.Expired, invalid.Reason)
		for range 10 {
			err = parse(v, tr)
			assert.ErrorContains(t, err, "certificate not known or expired, another fetched 0s ago")
		}
		assert.Equal(t, 4, v.fetches, "an expired certificate costs one fetch per interval, like an unknown one")
		v.now = v.now.Add(2 * time.Second)
		assert.ErrorContains(t, parse(v, tr), "another fetched 2s ago")
		v.now = v.now.Add(3 * time.Second)
		require.ErrorAs(t, parse(v, tr), &invalid)
		assert.Equal(t, 5, v.fetches)
	})
	t.Run("fetched again though forged deliveries keep fetches of unknown ones throttled", func(t *testing.T) {
		v := newVerifier()
		require.NoError(t, parse(v, tr))
		v.now = v.now.Add(25 * time.Hour)
		forged(v)
		require.NoError(t, parse(v, tr))
		assert.Equal(t, 3, v.fetches)
		for range 5 {
			forged(v)
			require.NoError(t, parse(v, tr))
		}
		assert.Equal(t, 3, v.fetches, "once per interval: the forged ones wait, the due one is fresh")
	})
	t.Run("a withdrawn certificate is dropped though forged deliveries keep fetches throttled", func(t *testing.T) {
		v := newVerifier()
		require.NoError(t, parse(v, tr))
		v.now, v.gone = v.now.Add(25*time.Hour), true
		forged(v)
		err := parse(v, tr)
		require.Error(t, err)
		assert.Equal(t, apperr.Malformed, apperr.KindOf(err), "%v", err)
		assert.Equal(t, 3, v.fetches)
	})
	t.Run("a due certificate serves while PayPal is down", func(t *testing.T) {
		v := newVerifier()
		require.NoError(t, parse(v, tr))
		v.now, v.down = v.now.Add(25*time.Hour), true
		require.NoError(t, parse(v, tr), "no verdict on the certificate")
		assert.Equal(t, 2, v.fetches)
		v.now = leaf.NotAfter
		assert.Equal(t, apperr.Unavailable, apperr.KindOf(parse(v, tr)), "but not once expired")
	})
	t.Run("a certificate no longer at PayPal is dropped", func(t *testing.T) {
		v := newVerifier()
		require.NoError(t, parse(v, tr))
		v.now, v.gone = v.now.Add(25*time.Hour), true
		err := parse(v, tr)
		require.Error(t, err)
		assert.Equal(t, apperr.Malformed, apperr.KindOf(err), "%v", err)
		require.Error(t, parse(v, tr), "not served from the cache: unknown again")
		require.Error(t, parse(v, tr))
		assert.Equal(t, 3, v.fetches, "then fetched like an unknown one, once per interval")
	})
}

// TestFetchCertTellsWithdrawnFromDown: a certificate URL PayPal answers
// 403, 404 or 410 for holds no certificate any more; other failures say
// nothing about the certificate.
func TestFetchCertTellsWithdrawnFromDown(t *testing.T) {
	for _, tc := range []struct {
		status int
		kind   apperr.Kind
	}{
		{http.StatusForbidden, apperr.Malformed},
		{http.StatusNotFound, apperr.Malformed},
		{http.StatusGone, apperr.Malformed},
		{http.StatusServiceUnavailable, apperr.Unavailable},
		{http.StatusTooManyRequests, apperr.Unavailable},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.status) }))
			defer srv.Close()
			_, err := paypalapi.FetchCertVia(srv.Client(), srv.URL, "")(context.Background(), "/v1/notifications/certs/CERT-1")
			assert.Equal(t, tc.kind, apperr.KindOf(err), "%v", err)
		})
	}
}
