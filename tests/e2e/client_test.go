package e2e

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
)

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// client checks every exchange with the gateway against the document.
var client = &http.Client{Timeout: 30 * time.Second, Transport: gatewayTransport}

// call sends a request to url with optional headers (name, value pairs).
func call(t *testing.T, method, url string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	return answer(t, resp, err)
}

// api is the API's generated client, over client: the helpers call the
// gateway through it, and its exchanges are checked like every other.
var api = func() *apiclient.ClientWithResponses {
	c, err := apiclient.NewClientWithResponses(gatewayURL, apiclient.WithHTTPClient(client))
	if err != nil {
		panic(err)
	}
	return c
}()

// as sends a call of api with auth, an Authorization header's value (none
// when empty).
func as(auth string) apiclient.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return nil
	}
}

// answer reads the answer to a request (of call, or of a method of api).
func answer(t *testing.T, resp *http.Response, err error) response {
	t.Helper()
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// readSecrets loads the dev secret store file.
func readSecrets(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (run `make prepare` first)", err)
	}
	var secrets map[string]string
	return secrets, json.Unmarshal(b, &secrets)
}

// token mints an access token with the dev signing key, as the auth service
// would, so that services verify it against auth's published keys.
func token(tb testing.TB, userID uuid.UUID, roles ...string) string {
	tb.Helper()
	signed, err := signToken(userID, roles...)
	require.NoError(tb, err)
	return signed
}

// signToken is token for callers that cannot fail a test (goroutines of a
// load): a 5-minute access token of userID with roles.
func signToken(userID uuid.UUID, roles ...string) (string, error) {
	seed, err := base64.StdEncoding.DecodeString(sys.secrets["jwt-signing-key"])
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: userID.String(),
			ID: uuid.NewString(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		},
		Roles: roles,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = sys.secrets["jwt-signing-key-id"]
	return tok.SignedString(ed25519.NewKeyFromSeed(seed))
}

// requestCount reads how many GET requests a service has answered on
// route with status, from its own /metrics.
func requestCount(t *testing.T, port int, route string, status int) int {
	t.Helper()
	return methodCount(t, port, http.MethodGet, route, status)
}

// methodCount reads how many method requests a service has answered on
// route with status, from its own /metrics.
func methodCount(t *testing.T, port int, method, route string, status int) int {
	t.Helper()
	resp := call(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
	require.Equal(t, http.StatusOK, resp.Status)
	want := fmt.Sprintf(`http_request_duration_seconds_count{method=%q,route=%q,`, method, route)
	sc := bufio.NewScanner(strings.NewReader(string(resp.Body)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, want) && strings.Contains(line, fmt.Sprintf(`status="%d"`, status)) {
			var n float64
			_, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &n)
			require.NoError(t, err)
			return int(n)
		}
	}
	return 0
}

// loadRun runs step from clients goroutines at once until duration has
// passed, and returns the latencies the steps measured (0: the step
// failed before its timed part) and how many steps failed.
func loadRun(clients int, duration time.Duration, step func() (took time.Duration, ok bool)) ([]time.Duration, int) {
	var (
		mu     sync.Mutex
		took   []time.Duration
		failed int
		wg     sync.WaitGroup
	)
	end := time.Now().Add(duration)
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(end) {
				d, ok := step()
				if d > 0 {
					mine = append(mine, d)
				}
				if !ok {
					bad++
				}
			}
			mu.Lock()
			took, failed = append(took, mine...), failed+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	return took, failed
}
