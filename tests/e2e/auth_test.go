package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
)

const authPassword = "Blue-Kettle-Rain7"

// TestAuthFlow drives accounts, sessions and token checks through the
// gateway against the real auth service and its sidecar.
func TestAuthFlow(t *testing.T) {
	t.Run("register, login, refresh, reuse detection, logout", testAuthLifecycle)
	t.Run("five bad passwords lock the email out", testLoginLockout)
	t.Run("thirty parallel bad passwords get five password checks", testParallelLoginLockout)
	t.Run("a demoted admin loses the role on the next request", testDemotionTakesEffectAtOnce)
	t.Run("a revoked token is refused by every service within a second", testRevocationReachesEveryService)
	t.Run("forged and expired tokens are refused", testForgedTokens)
	t.Run("admin routes need an admin", testAdminUsers)
	t.Run("user.registered reaches notifications", testUserRegisteredEvent)
}

// uniqueEmail is a fresh address per run, so reruns need no cleanup.
func uniqueEmail(prefix string) string {
	return prefix + "-" + uuid.NewString()[:8] + "@example.com"
}

func register(t *testing.T, email string) uuid.UUID {
	t.Helper()
	resp, err := api.RegisterWithResponse(ctx(t), apiclient.Registration{Email: email, Password: authPassword, Name: "E2E"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "register: %s", resp.Body)
	assert.Equal(t, []apiclient.Role{authn.RoleCustomer}, resp.JSON201.Roles)
	return resp.JSON201.ID
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func loginAs(t *testing.T, email, password string) response {
	t.Helper()
	resp, err := api.Login(ctx(t), apiclient.Credentials{Email: email, Password: password})
	return answer(t, resp, err)
}

func login(t *testing.T, email, password string) tokenPair {
	t.Helper()
	resp := loginAs(t, email, password)
	require.Equal(t, http.StatusOK, resp.Status, "login: %s", resp.Body)
	var p tokenPair
	resp.JSON(t, &p)
	return p
}

func refresh(t *testing.T, refreshToken string) response {
	t.Helper()
	return refreshWith(t, api, refreshToken)
}

func refreshWith(t *testing.T, c *apiclient.ClientWithResponses, refreshToken string) response {
	t.Helper()
	resp, err := c.RefreshTokens(ctx(t), apiclient.RefreshTokensJSONRequestBody{RefreshToken: refreshToken})
	return answer(t, resp, err)
}

func me(t *testing.T, access string) response {
	t.Helper()
	resp, err := api.GetMe(ctx(t), as("Bearer "+access))
	return answer(t, resp, err)
}

func testAuthLifecycle(t *testing.T) {
	email := uniqueEmail("flow")
	id := register(t, email)

	first := login(t, strings.ToUpper(email), authPassword)
	assert.Equal(t, "Bearer", first.TokenType)
	assert.Equal(t, 900, first.ExpiresIn)

	resp := me(t, first.AccessToken)
	require.Equal(t, http.StatusOK, resp.Status, "me: %s", resp.Body)
	var u map[string]any
	resp.JSON(t, &u)
	assert.Equal(t, map[string]any{"id": id.String(), "email": email, "name": "E2E", "roles": []any{"CUSTOMER"}}, u)

	resp = refresh(t, first.RefreshToken)
	require.Equal(t, http.StatusOK, resp.Status, "refresh: %s", resp.Body)
	var second tokenPair
	resp.JSON(t, &second)
	require.Equal(t, http.StatusOK, me(t, second.AccessToken).Status)

	assert.Equal(t, http.StatusUnauthorized, refresh(t, first.RefreshToken).Status, "a spent refresh token")
	assert.Equal(t, http.StatusUnauthorized, refresh(t, second.RefreshToken).Status, "its session was revoked")
	assert.Equal(t, http.StatusUnauthorized, me(t, second.AccessToken).Status, "and its live access token with it")
	assert.Equal(t, http.StatusUnauthorized, me(t, first.AccessToken).Status, "and the one issued before the refresh")

	earlier := login(t, email, authPassword)
	resp = refresh(t, earlier.RefreshToken)
	require.Equal(t, http.StatusOK, resp.Status, "refresh: %s", resp.Body)
	var again tokenPair
	resp.JSON(t, &again)
	require.Equal(t, http.StatusOK, me(t, earlier.AccessToken).Status, "an access token outlives the refresh")
	resp = call(t, http.MethodGet, gatewayURL+"/api/v1/auth/sessions", nil, "Authorization", "Bearer "+again.AccessToken)
	require.Equal(t, http.StatusOK, resp.Status)
	var sessions []map[string]any
	resp.JSON(t, &sessions)
	require.Len(t, sessions, 1, "only the live session is listed")
	assert.Equal(t, true, sessions[0]["current"])
	assert.NotEmpty(t, sessions[0]["ip"])

	resp = call(t, http.MethodPost, gatewayURL+"/api/v1/auth/logout", nil, "Authorization", "Bearer "+again.AccessToken)
	require.Equal(t, http.StatusNoContent, resp.Status, "logout: %s", resp.Body)
	assert.Equal(t, http.StatusUnauthorized, me(t, again.AccessToken).Status, "refused at once after logout")
	assert.Equal(t, http.StatusUnauthorized, me(t, earlier.AccessToken).Status, "so is every token of the session")
	assert.Equal(t, http.StatusUnauthorized, refresh(t, again.RefreshToken).Status)
	assertRevocationDurable(t, again.AccessToken)
}

// assertRevocationDurable checks that the revocation of token's session is
// kept in PostgreSQL, whichever state backend the suite runs on, and not
// in Redis, whose restart would otherwise bring the token back.
func assertRevocationDurable(t *testing.T, token string) {
	t.Helper()
	var claims authn.Claims
	_, _, err := jwt.NewParser().ParseUnverified(token, &claims)
	require.NoError(t, err)
	require.NotEmpty(t, claims.SessionID)
	key := authn.DenylistKey(authn.SessionRevocation(claims.SessionID))

	db, err := pgx.Connect(ctx(t), "postgres://postgres@127.0.0.1:5432/dapr_state?sslmode=disable")
	require.NoError(t, err)
	defer db.Close(ctx(t))
	var n int
	require.NoError(t, db.QueryRow(ctx(t), `SELECT count(*) FROM denylist WHERE key = $1`, key).Scan(&n))
	assert.Equal(t, 1, n, "the session's revocation is in PostgreSQL")

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	keys, err := rdb.Keys(ctx(t), "*"+claims.SessionID+"*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "nothing of the revocation lives in Redis")
}

func testLoginLockout(t *testing.T) {
	email := uniqueEmail("lockout")
	register(t, email)
	for i := range 5 {
		resp := loginAs(t, email, "Wrong-Password-1")
		require.Equal(t, http.StatusUnauthorized, resp.Status, "attempt %d: %s", i+1, resp.Body)
	}
	resp := loginAs(t, email, authPassword)
	require.Equal(t, http.StatusTooManyRequests, resp.Status, "body: %s", resp.Body)
	assert.Contains(t, string(resp.Body), "failed logins", "the account lockout answered")
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", resp.Header.Get("Retry-After"))
	assert.InDelta(t, 15*60, secs, 60)
}

// addressClient sends requests from a loopback address of its own, so the
// gateway's per-address limit on the public auth routes counts them apart
// from the rest of the suite (and from earlier runs within its window).
type addressClient struct {
	api *apiclient.ClientWithResponses
}

func newAddressClient() addressClient {
	ip := net.IPv4(127, byte(1+mathrand.IntN(254)), byte(mathrand.IntN(256)), byte(1+mathrand.IntN(254)))
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	c, err := apiclient.NewClientWithResponses(gatewayURL, apiclient.WithHTTPClient(&http.Client{Timeout: 30 * time.Second,
		Transport: newContractTransport(&http.Transport{DialContext: dialer.DialContext})}))
	if err != nil {
		panic(err)
	}
	return addressClient{api: c}
}

// loginAs logs in from a's address.
func (a addressClient) loginAs(t *testing.T, email, password string) response {
	t.Helper()
	resp, err := a.tryLogin(t, email, password)
	require.NoError(t, err)
	return resp
}

// tryLogin is loginAs for goroutines other than the test's, which must not
// stop the test.
func (a addressClient) tryLogin(t *testing.T, email, password string) (response, error) {
	resp, err := a.api.LoginWithResponse(ctx(t), apiclient.Credentials{Email: email, Password: password})
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode(), Header: resp.HTTPResponse.Header, Body: resp.Body}, nil
}

func (a addressClient) login(t *testing.T, email, password string) tokenPair {
	t.Helper()
	resp := a.loginAs(t, email, password)
	require.Equal(t, http.StatusOK, resp.Status, "login: %s", resp.Body)
	var p tokenPair
	resp.JSON(t, &p)
	return p
}

// testParallelLoginLockout fires 30 wrong passwords for one email at once:
// each attempt claims its slot before the password is hashed, so exactly
// five reach the password check (401) and the rest are locked out (429).
func testParallelLoginLockout(t *testing.T) {
	email := uniqueEmail("parallel")
	register(t, email)
	const parallel = 30 // the gateway's auth limit per address and minute
	guesser := newAddressClient()
	start := make(chan struct{})
	statuses := make(chan int, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			<-start
			resp, err := guesser.tryLogin(t, email, "Wrong-Password-1")
			if !assert.NoError(t, err) {
				return
			}
			if resp.Status == http.StatusTooManyRequests {
				assert.Contains(t, string(resp.Body), "failed logins", "the account lockout answered, not the gateway")
			}
			statuses <- resp.Status
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 5, http.StatusTooManyRequests: parallel - 5}, counts)

	var failures int
	require.NoError(t, connect(t, "auth").QueryRow(ctx(t), `SELECT count(*) FROM login_failures WHERE email = $1`, email).Scan(&failures))
	assert.Equal(t, 5, failures, "five attempts counted, in the database")
	resp := newAddressClient().loginAs(t, email, authPassword)
	assert.Equal(t, http.StatusTooManyRequests, resp.Status, "the right password waits too: %s", resp.Body)
}

// testRevocationReachesEveryService logs an admin out right after each
// service has accepted their token (and may keep that answer for
// DENYLIST_CACHE_TTL): within a second every service refuses it.
func testRevocationReachesEveryService(t *testing.T) {
	from := newAddressClient()
	admin := "Bearer " + from.login(t, sys.secrets["admin-email"], sys.secrets["admin-password"]).AccessToken
	// A read that needs the token, served by each service (the dead
	// letters by the workers).
	productID := shop{admin: admin}.newProduct(t, 500, 1)
	paths := []string{"/api/v1/admin/users", "/api/v1/products/" + productID + "/inventory", "/api/v1/orders",
		"/api/v1/payments?order_id=" + uuid.NewString(), "/api/v1/notifications", "/api/v1/admin/dead-letters"}
	get := func(path string) int {
		return call(t, http.MethodGet, gatewayURL+path, nil, "Authorization", admin).Status
	}
	for _, path := range paths {
		require.Equal(t, http.StatusOK, get(path), path)
	}
	resp := call(t, http.MethodPost, gatewayURL+"/api/v1/auth/logout", nil, "Authorization", admin)
	require.Equal(t, http.StatusNoContent, resp.Status, "logout: %s", resp.Body)
	accepting := paths
	assert.Eventually(t, func() bool {
		accepting = slices.DeleteFunc(accepting, func(path string) bool { return get(path) == http.StatusUnauthorized })
		return len(accepting) == 0
	}, time.Second, 100*time.Millisecond, "still accepting the revoked token")
	assert.Empty(t, accepting, "refused by every service")
}

// testDemotionTakesEffectAtOnce demotes an admin while their access token
// is live: it is refused on the next request, and the refreshed one
// carries the new roles.
func testDemotionTakesEffectAtOnce(t *testing.T) {
	from := newAddressClient()
	email := uniqueEmail("demoted")
	userID := register(t, email)
	super := from.login(t, sys.secrets["admin-email"], sys.secrets["admin-password"]).AccessToken
	setRoles := func(roles ...apiclient.Role) {
		t.Helper()
		sent, err := api.SetUserRoles(ctx(t), userID, apiclient.SetUserRolesJSONRequestBody{Roles: roles}, as("Bearer "+super))
		resp := answer(t, sent, err)
		require.Equal(t, http.StatusOK, resp.Status, "set roles: %s", resp.Body)
	}
	listUsers := func(access string) int {
		t.Helper()
		return call(t, http.MethodGet, gatewayURL+"/api/v1/admin/users", nil, "Authorization", "Bearer "+access).Status
	}
	setRoles(authn.RoleAdmin, authn.RoleCustomer)
	admin := from.login(t, email, authPassword)
	require.Equal(t, http.StatusOK, listUsers(admin.AccessToken))

	setRoles(authn.RoleCustomer)
	assert.Equal(t, http.StatusUnauthorized, listUsers(admin.AccessToken), "the ADMIN token is refused on the next request")
	assert.Equal(t, http.StatusOK, listUsers(super), "the demoting admin's token is untouched")

	resp := refreshWith(t, from.api, admin.RefreshToken)
	require.Equal(t, http.StatusOK, resp.Status, "refresh: %s", resp.Body)
	var renewed tokenPair
	resp.JSON(t, &renewed)
	assert.Equal(t, http.StatusForbidden, listUsers(renewed.AccessToken), "the new token carries the new roles")
	resp = me(t, renewed.AccessToken)
	require.Equal(t, http.StatusOK, resp.Status)
	var u struct {
		Roles []string `json:"roles"`
	}
	resp.JSON(t, &u)
	assert.Equal(t, []string{authn.RoleCustomer}, u.Roles)
}

func testForgedTokens(t *testing.T) {
	email := uniqueEmail("forged")
	userID := register(t, email)
	real := login(t, email, authPassword).AccessToken
	require.Equal(t, http.StatusOK, me(t, real).Status)

	seed, err := base64.StdEncoding.DecodeString(sys.secrets["jwt-signing-key"])
	require.NoError(t, err)
	devKey := ed25519.NewKeyFromSeed(seed)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	claims := func(exp time.Time) *authn.Claims {
		return &authn.Claims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: userID.String(),
				ID: uuid.NewString(), IssuedAt: jwt.NewNumericDate(exp.Add(-15 * time.Minute)), ExpiresAt: jwt.NewNumericDate(exp),
			},
			Roles: []string{authn.RoleSuperAdmin},
		}
	}
	sign := func(c *authn.Claims, key ed25519.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = sys.secrets["jwt-signing-key-id"]
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now.Add(time.Hour))).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	// The real token with its roles raised, payload re-encoded, signature kept.
	parts := strings.Split(real, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(payload, &body))
	body["roles"] = []string{authn.RoleSuperAdmin}
	raised, err := json.Marshal(body)
	require.NoError(t, err)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(raised) + "." + parts[2]

	tests := map[string]string{
		"signed with another key": sign(claims(now.Add(time.Hour)), otherKey),
		"expired":                 sign(claims(now.Add(-time.Minute)), devKey),
		"alg none":                none,
		"role claim changed":      tampered,
		"not a token":             "not.a.token",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			resp := me(t, tok)
			assert.Equal(t, http.StatusUnauthorized, resp.Status, "body: %s", resp.Body)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		})
	}
}

func testAdminUsers(t *testing.T) {
	email := uniqueEmail("customer")
	register(t, email)
	customer := login(t, email, authPassword).AccessToken
	resp := call(t, http.MethodGet, gatewayURL+"/api/v1/admin/users", nil, "Authorization", "Bearer "+customer)
	assert.Equal(t, http.StatusForbidden, resp.Status, "body: %s", resp.Body)

	admin := login(t, sys.secrets["admin-email"], sys.secrets["admin-password"]).AccessToken
	resp = call(t, http.MethodGet, gatewayURL+"/api/v1/admin/users?page_size=100", nil, "Authorization", "Bearer "+admin)
	require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
	var page struct {
		Items []struct {
			Email string   `json:"email"`
			Roles []string `json:"roles"`
		} `json:"items"`
		Total int `json:"total"`
	}
	resp.JSON(t, &page)
	assert.GreaterOrEqual(t, page.Total, 2)
	assert.Equal(t, sys.secrets["admin-email"], page.Items[0].Email, "the bootstrap admin is the oldest account")
	assert.Contains(t, page.Items[0].Roles, authn.RoleSuperAdmin)
}

func testUserRegisteredEvent(t *testing.T) {
	userID := register(t, uniqueEmail("event"))
	db := connect(t, "notifications")
	require.Eventually(t, func() bool {
		var n int
		err := db.QueryRow(ctx(t), `SELECT count(*) FROM preferences WHERE user_id = $1`, userID).Scan(&n)
		return err == nil && n == 1
	}, 30*time.Second, 100*time.Millisecond, "preferences row for the registered user")
}
