package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

const gatewayAddr = "127.0.0.1:3000"

// account is a registered customer with a live session.
type account struct {
	id     uuid.UUID
	email  string
	bearer string // Authorization header value
}

func newAccount(t *testing.T, prefix string) account {
	t.Helper()
	email := uniqueEmail(prefix)
	id := register(t, email)
	return account{id: id, email: email, bearer: "Bearer " + login(t, email, authPassword).AccessToken}
}

// hostileFixture is what the hostile requests aim at: two customers, an
// admin, a product with stock, an unpaid and a paid order of customer A
// (with its invoice), A's saved card and session, A's filled cart.
type hostileFixture struct {
	s            shop
	a, b         account
	product      string
	unpaid, paid orderJSON
	payment      paymentJSON // of the paid order
	invoiceID    string
	cardID       string
	sessionA     string
	loggedOut    string // a token of a session that logged out
	dbs          map[string]*pgx.Conn
}

func newHostileFixture(t *testing.T) *hostileFixture {
	t.Helper()
	fx := &hostileFixture{s: shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}, dbs: map[string]*pgx.Conn{}}
	for _, name := range []string{"auth", "products", "orders", "payments", "notifications", "analytics"} {
		fx.dbs[name] = connect(t, name)
	}
	fx.a, fx.b = newAccount(t, "hostile-a"), newAccount(t, "hostile-b")
	fx.product = fx.s.newProduct(t, 1500, 20)

	// Both orders are placed before A saves a card, so neither is charged
	// on its own: one stays unpaid, the other is paid at Stripe as A's
	// browser would, so that it can be refunded there.
	order := func() (orderJSON, paymentJSON) {
		require.Equal(t, http.StatusOK, fx.s.addToCart(t, fx.a.bearer, fx.product, 1).Status)
		resp := fx.s.checkout(t, fx.a.bearer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		return o, fx.s.payment(t, fx.a.bearer, o.ID, "pending")
	}
	fx.unpaid, _ = order()
	fx.paid, fx.payment = order()
	resp := emulator{t}.confirm(fx.payment.PaymentIntentID, "pm_card_visa")
	require.Equal(t, http.StatusOK, resp.Status, "confirm: %s", resp.Body)
	fx.s.waitStatus(t, fx.a.bearer, fx.paid.ID, "paid")
	fx.payment = fx.s.payment(t, fx.a.bearer, fx.paid.ID, "succeeded")
	require.Eventually(t, func() bool {
		resp := fx.s.send(t, http.MethodGet, "/api/v1/invoices?order_id="+fx.paid.ID, fx.a.bearer, "")
		var invoices []struct{ ID string }
		resp.JSON(t, &invoices)
		if len(invoices) == 1 {
			fx.invoiceID = invoices[0].ID
		}
		return fx.invoiceID != ""
	}, 30*time.Second, 100*time.Millisecond, "the paid order's invoice")
	fx.cardID = fx.s.saveCard(t, fx.a.bearer, "pm_card_visa")["id"].(string)
	require.Equal(t, http.StatusOK, fx.s.addToCart(t, fx.a.bearer, fx.product, 2).Status)

	resp = fx.s.send(t, http.MethodGet, "/api/v1/auth/sessions", fx.a.bearer, "")
	require.Equal(t, http.StatusOK, resp.Status, "sessions: %s", resp.Body)
	var sessions []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	resp.JSON(t, &sessions)
	require.Len(t, sessions, 1)
	fx.sessionA = sessions[0].ID
	gone := login(t, fx.b.email, authPassword).AccessToken
	require.Equal(t, http.StatusNoContent, call(t, http.MethodPost, gatewayURL+"/api/v1/auth/logout", nil, "Authorization", "Bearer "+gone).Status)
	fx.loggedOut = gone

	// Everything the set-up set in motion has landed: the stock of the paid
	// order is taken, the unpaid one's held; A has a welcome mail, two
	// order confirmations and a payment mail, B a welcome mail.
	fx.s.waitInventory(t, fx.product, inventory{OnHand: 19, Reserved: 1, Available: 18})
	waitMails(t, fx.a.email, 4)
	waitMails(t, fx.b.email, 1)
	return fx
}

// snapshot reads everything a hostile request must leave alone, straight
// from the services' databases, mailpit and the carts.
func (fx *hostileFixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	users := []uuid.UUID{fx.a.id, fx.b.id}
	read := func(db, query string, args ...any) string {
		var v string
		require.NoError(t, fx.dbs[db].QueryRow(ctx(t), query, args...).Scan(&v), "%s: %s", db, query)
		return v
	}
	order := `SELECT status || ', history ' || (SELECT count(*) FROM order_status_history WHERE order_id = $1) FROM orders WHERE id = $1`
	deadLetters := func() string {
		var counts []string
		for _, db := range []string{"products", "orders", "payments", "notifications", "analytics"} {
			counts = append(counts, db+" "+read(db, `SELECT count(*) || ' letters, ' || count(replayed_at) || ' replayed' FROM dead_letters`))
		}
		return strings.Join(counts, "; ")
	}
	cart := func(a account) string {
		resp := fx.s.send(t, http.MethodGet, "/api/v1/cart", a.bearer, "")
		require.Equal(t, http.StatusOK, resp.Status, "cart: %s", resp.Body)
		return string(resp.Body)
	}
	return map[string]string{
		"unpaid order":     read("orders", order, fx.unpaid.ID),
		"paid order":       read("orders", order, fx.paid.ID),
		"orders of A, B":   read("orders", `SELECT count(*)::text FROM orders WHERE user_id = ANY($1)`, users),
		"stock":            read("products", `SELECT on_hand || ' on hand, ' || reserved || ' reserved' FROM inventory WHERE product_id = $1`, fx.product),
		"product":          read("products", `SELECT name || ', ' || price_cents || ', active ' || active FROM products WHERE id = $1`, fx.product),
		"hostile products": read("products", `SELECT count(*)::text FROM products WHERE sku LIKE 'HOST-%'`),
		"reservations":     read("products", `SELECT count(*)::text FROM reservations`),
		"payments": read("payments", `SELECT count(*) || ' payments, ' || coalesce(sum(refunded_cents), 0) || ' refunded, '
			|| string_agg(status, ',' ORDER BY id) FROM payments WHERE user_id = ANY($1)`, users),
		"refunds":        read("payments", `SELECT count(*)::text FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.user_id = ANY($1)`, users),
		"invoices":       read("payments", `SELECT count(*)::text FROM invoices WHERE user_id = ANY($1)`, users),
		"cards of A":     read("payments", `SELECT count(*) || ', default ' || coalesce(string_agg(id::text, ',') FILTER (WHERE is_default), '') FROM payment_methods WHERE user_id = $1`, fx.a.id),
		"sessions of A":  read("auth", `SELECT count(*)::text FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, fx.a.id),
		"roles":          read("auth", `SELECT string_agg(array_to_string(roles, '+'), ',' ORDER BY email) FROM users WHERE id = ANY($1)`, users),
		"deliveries":     read("notifications", `SELECT count(*)::text FROM deliveries WHERE user_id = ANY($1)`, users),
		"dead letters":   deadLetters(),
		"mails to A":     fmt.Sprint(len(mailsTo(t, fx.a.email))),
		"mails to B":     fmt.Sprint(len(mailsTo(t, fx.b.email))),
		"cart of A":      cart(fx.a),
		"cart of B":      cart(fx.b),
		"A's order seen": fmt.Sprint(fx.s.send(t, http.MethodGet, "/api/v1/orders/"+fx.unpaid.ID, fx.a.bearer, "").Status),
	}
}

// secretValues are the values no response may ever contain, by name.
func secretValues() map[string]string {
	out := map[string]string{}
	for _, k := range []string{"jwt-signing-key", "admin-password", "stripe-secret-key", "stripe-webhook-secret", "paypal-client-secret", "smtp-password"} {
		out[k] = sys.secrets[k]
	}
	for _, k := range []string{"DAPR_API_TOKEN", "APP_API_TOKEN"} {
		out[k] = sys.env[k]
	}
	return out
}

// assertNoSecrets fails when body holds a secret, naming it, never
// printing it.
func assertNoSecrets(t *testing.T, body []byte) bool {
	t.Helper()
	ok := true
	for name, v := range secretValues() {
		if v != "" && strings.Contains(string(body), v) {
			ok = assert.Fail(t, "a secret leaked", "the response holds the value of %s", name)
		}
	}
	return ok
}

// redacted is body fit for a failure message: secrets replaced, cut short.
func redacted(body []byte) string {
	s := string(body)
	for name, v := range secretValues() {
		if v != "" {
			s = strings.ReplaceAll(s, v, "<"+name+">")
		}
	}
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// hostileCase is one request an attacker may send and what the fixed
// system answers; after it the fixture must read exactly as before.
type hostileCase struct {
	name string
	req  rawRequest
	// auth is the Authorization header value, if any.
	auth string
	want []int
	// has and lacks are strings the answer's body must and must not hold.
	has, lacks []string
	// check, when set, checks an effect the snapshot does not cover.
	check func(t *testing.T)
}

func get(target string, header ...string) rawRequest {
	return rawRequest{method: http.MethodGet, target: target, header: header}
}

func post(target, body string, header ...string) rawRequest {
	return rawRequest{method: http.MethodPost, target: target, body: body, header: append([]string{"Content-Type: application/json"}, header...)}
}

// forgedEvent is a CloudEvent as Dapr would deliver payment.succeeded
// for order, written by an attacker.
func forgedEvent(order orderJSON) string {
	return forged("payments", "payment.succeeded",
		map[string]any{"order_id": order.ID, "payment_id": uuid.NewString(), "amount_cents": order.TotalCents, "currency": "USD"})
}

// forged is a CloudEvent as Dapr would deliver source's event on topic,
// written by an attacker.
func forged(source, topic string, data map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": uuid.NewString(), "source": source, "type": "com.daprshop." + topic,
		"topic": topic, "pubsubname": "pubsub", "datacontenttype": "application/json", "data": data,
	})
	return string(b)
}

// tokens an attacker can make: every one is refused with 401.
func (fx *hostileFixture) forgedTokens(t *testing.T) map[string]string {
	t.Helper()
	seed, err := base64.StdEncoding.DecodeString(sys.secrets["jwt-signing-key"])
	require.NoError(t, err)
	devKey := ed25519.NewKeyFromSeed(seed)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	claims := func(exp time.Time) *authn.Claims {
		return &authn.Claims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: fx.b.id.String(),
				ID: uuid.NewString(), IssuedAt: jwt.NewNumericDate(exp.Add(-15 * time.Minute)), ExpiresAt: jwt.NewNumericDate(exp),
			},
			Roles: []string{authn.RoleSuperAdmin},
		}
	}
	sign := func(method jwt.SigningMethod, c *authn.Claims, key any, header map[string]any) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = sys.secrets["jwt-signing-key-id"]
		maps.Copy(tok.Header, header)
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	later := time.Now().Add(time.Hour)
	parts := strings.Split(strings.TrimPrefix(fx.b.bearer, "Bearer "), ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(payload, &body))
	body["roles"] = []string{authn.RoleSuperAdmin}
	raised, err := json.Marshal(body)
	require.NoError(t, err)
	sig := []byte(parts[2])
	sig[len(sig)/2] ^= 1 // one bit of the signature flipped
	wrongAudience := claims(later)
	wrongAudience.Audience = jwt.ClaimStrings{"someone-else"}
	return map[string]string{
		"forged signature":            parts[0] + "." + parts[1] + "." + string(sig),
		"expired":                     sign(jwt.SigningMethodEdDSA, claims(time.Now().Add(-time.Minute)), devKey, nil),
		"signed by another key":       sign(jwt.SigningMethodEdDSA, claims(later), otherKey, nil),
		"another key named by jku":    sign(jwt.SigningMethodEdDSA, claims(later), otherKey, map[string]any{"jku": "http://127.0.0.1:9/jwks.json", "kid": "attacker"}),
		"alg none":                    sign(jwt.SigningMethodNone, claims(later), jwt.UnsafeAllowNoneSignatureType, nil),
		"HS256 keyed with public key": sign(jwt.SigningMethodHS256, claims(later), []byte(devKey.Public().(ed25519.PublicKey)), nil),
		"role claim raised":           parts[0] + "." + base64.RawURLEncoding.EncodeToString(raised) + "." + parts[2],
		"another audience":            sign(jwt.SigningMethodEdDSA, wrongAudience, devKey, nil),
		"logged out session":          fx.loggedOut,
	}
}

// hostileCases is the table. Targets are written as a client sends them.
func (fx *hostileFixture) hostileCases(t *testing.T) []hostileCase {
	t.Helper()
	a, b, admin := fx.a.bearer, fx.b.bearer, fx.s.admin
	event := forgedEvent(fx.unpaid)
	refund := forged("orders", "order.refunded", map[string]any{"order_id": fx.unpaid.ID, "restock": true})
	reserve := fmt.Sprintf(`{"order_id": %q, "lines": [{"product_id": %q, "quantity": 3}]}`, uuid.NewString(), fx.product)
	stateKey := "hostile-" + uuid.NewString()
	noStateKey := func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer rdb.Close()
		n, err := rdb.Exists(ctx(t), "gateway||"+stateKey).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "a state key was written through the gateway")
	}
	bad, notFound := []int{http.StatusBadRequest}, []int{http.StatusNotFound}
	product := func(sku, fields string) string {
		return fmt.Sprintf(`{"sku": "HOST-%s-%s", "name": "Hostile", "description": "e2e", "currency": "USD", %s}`, sku, uuid.NewString()[:8], fields)
	}
	cart := func(quantity string) string {
		return fmt.Sprintf(`{"product_id": %q, "quantity": %s}`, fx.product, quantity)
	}
	numeric := []int{http.StatusBadRequest, http.StatusUnprocessableEntity}
	productList := []string{`"items"`} // the answer of the product list

	cases := []hostileCase{
		// Non-canonical paths: refused at the edge, before any routing.
		{name: "dot segments to the secrets API (bulk)", req: get("/api/v1/products/../../../v1.0/secrets/secretstore/bulk"), want: bad},
		{name: "dot segments to the signing key", req: get("/api/v1/products/../../../v1.0/secrets/secretstore/jwt-signing-key"), want: bad},
		{name: "dot segments to the metadata API", req: get("/api/v1/products/../../../v1.0/metadata"), want: bad},
		{name: "dot segments to the state API (read)", req: get("/api/v1/products/../../../v1.0/state/statestore/" + stateKey), want: bad},
		{name: "dot segments to the state API (write)", auth: b, req: post("/api/v1/orders/../../../v1.0/state/statestore", fmt.Sprintf(`[{"key": %q, "value": "x"}]`, stateKey)), want: bad, check: noStateKey},
		{name: "dot segments to publish payment.succeeded", auth: b, req: post("/api/v1/orders/../../../v1.0/publish/pubsub/payment.succeeded", event), want: bad},
		{name: "dot segments to invoke products' reservations", auth: b, req: post("/api/v1/orders/../../../v1.0/invoke/products/method/internal/reservations", reserve), want: bad},
		{name: "dot segments to invoke a workers job", auth: b, req: post("/api/v1/orders/../../../v1.0/invoke/workers/method/cron-purge", ""), want: bad},
		{name: "dot segments to invoke auth's admin list", req: get("/api/v1/products/../../../v1.0/invoke/auth/method/api/v1/admin/users"), want: bad},
		{name: "dot segments to orders' payment.succeeded route", auth: b, req: post("/api/v1/orders/../../../events/payment.succeeded", event), want: bad},
		{name: "%2e%2e to orders' payment.succeeded route", auth: b, req: post("/api/v1/orders/%2e%2e/%2e%2e/%2e%2e/events/payment.succeeded", event), want: bad},
		{name: "%2E%2e (mixed case) to orders' events", auth: b, req: post("/api/v1/orders/%2E%2e/%2E%2e/%2E%2e/events/payment.succeeded", event), want: bad},
		{name: ".%2e to orders' events", auth: b, req: post("/api/v1/orders/.%2e/.%2e/.%2e/events/payment.succeeded", event), want: bad},
		{name: "%252e%252e (double encoded) to orders' events", auth: b, req: post("/api/v1/orders/%252e%252e/%252e%252e/%252e%252e/events/payment.succeeded", event), want: bad},
		{name: "%2f-joined dot segments to orders' events", auth: b, req: post("/api/v1/orders%2f..%2f..%2f..%2fevents%2fpayment.succeeded", event), want: bad},
		{name: "%2F (upper case) dot segments to the metadata API", req: get("/api/v1/products%2F..%2F..%2F..%2Fv1.0%2Fmetadata"), want: bad},
		{name: "%252f (double encoded slash) to the metadata API", req: get("/api/v1/products%252f..%252f..%252f..%252fv1.0%252fmetadata"), want: bad},
		{name: "%5c (encoded backslash) to orders' events", auth: b, req: post("/api/v1/orders/..%5c..%5c..%5cevents/payment.succeeded", event), want: bad},
		{name: "literal backslashes to orders' events", auth: b, req: post(`/api/v1/orders/..\..\..\events/payment.succeeded`, event), want: bad},
		{name: "%00 in a path", req: get("/api/v1/products/%00"), want: bad},
		{name: "%00 before dot segments", req: get("/api/v1/products/%00/../../../v1.0/metadata"), want: bad},
		{name: "%0d%0a in a path", req: get("/api/v1/products/%0d%0aX-Injected:%20yes"), want: bad},
		{name: "%01 control character in a path", req: get("/api/v1/products/%01"), want: bad},
		{name: "empty segment", req: get("/api/v1//products"), want: bad},
		{name: "empty segments to the metadata API", req: get("/api/v1/products//../../../../v1.0/metadata"), want: bad},
		{name: "trailing /.", req: get("/api/v1/products/."), want: bad},
		{name: "%2e as the last segment", req: get("/api/v1/products/%2e"), want: bad},
		{name: "absolute-form target with dot segments", req: get("http://127.0.0.1:3500/api/v1/products/../../../v1.0/metadata"), want: bad},
		{name: "absolute-form target naming a sidecar API", req: get("http://127.0.0.1:3500/v1.0/metadata"), want: bad},
		{name: "dot segments in the query only are data", req: get("/api/v1/products?q=../../../v1.0/metadata"), want: []int{http.StatusOK}, has: productList},
		{name: "dot segments to orders' expiry job", auth: b, req: post("/api/v1/orders/../../../internal/orders/expire", ""), want: bad},
		{name: "dot segments to orders' /dapr/subscribe", auth: b, req: get("/api/v1/orders/../../../dapr/subscribe"), want: bad},
		{name: "dot segments to products' order.refunded", auth: admin, req: post("/api/v1/products/../../../events/order.refunded", refund), want: bad},
		{name: "dot segments to payments' reconcile job", auth: b, req: post("/api/v1/payments/../../../internal/payments/reconcile", ""), want: bad},
		{name: "dot segments to products' low-stock report", req: get("/api/v1/products/../../../internal/inventory/low-stock"), want: bad},
		{name: "dot segments to products' purge job", auth: admin, req: post("/api/v1/products/../../../internal/purge", ""), want: bad},
		{name: "dot segments to a workers job, as an admin", auth: admin, req: post("/api/v1/admin/analytics/../../../../cron-purge", ""), want: bad},

		// Paths with no route.
		{name: "no route: the secrets API", req: get("/v1.0/secrets/secretstore/bulk"), want: notFound},
		{name: "no route: publish", req: post("/v1.0/publish/pubsub/payment.succeeded", event), want: notFound},
		{name: "no route: orders' events", auth: b, req: post("/events/payment.succeeded", event), want: notFound},
		{name: "no route: internal", auth: b, req: post("/internal/orders/expire", ""), want: notFound},
		{name: "no route: /dapr/subscribe", req: get("/dapr/subscribe"), want: notFound},
		{name: "no route: /metrics on the public port", req: get("/metrics"), want: notFound},
		{name: "no route: /api/v1/ordersx", auth: b, req: get("/api/v1/ordersx"), want: notFound},
		{name: "no route: a workers job", req: post("/cron-purge", ""), want: notFound},

		// Smuggled headers change neither the route nor the identity.
		{name: "dapr-app-id: auth on the product list", req: get("/api/v1/products", "dapr-app-id: auth"), want: []int{http.StatusOK}, has: productList},
		{name: "Dapr-App-Id: orders on the product list", req: get("/api/v1/products", "Dapr-App-Id: orders"), want: []int{http.StatusOK}, has: productList},
		{name: "Basic dapr-app-id credentials on the product list", req: get("/api/v1/products", "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("dapr-app-id:auth"))), want: []int{http.StatusOK}, has: productList},
		{name: "dapr-app-id: orders to an internal path", auth: b, req: post("/internal/orders/expire", "", "dapr-app-id: orders"), want: notFound},
		{name: "dapr-caller-app-id: payments on orders' events", auth: b, req: post("/events/payment.succeeded", event, "dapr-caller-app-id: payments", "dapr-app-id: orders"), want: notFound},
		{name: "a guessed dapr-api-token on the secrets API", req: get("/v1.0/secrets/secretstore/bulk", "dapr-api-token: x", "dapr-app-id: gateway"), want: notFound},
		{name: "X-User-Id of A on B's request for A's order", auth: b, req: get("/api/v1/orders/"+fx.unpaid.ID, "X-User-Id: "+fx.a.id.String()), want: notFound},
		{name: "X-User-Id of A on B's me", auth: b, req: get("/api/v1/auth/me", "X-User-Id: "+fx.a.id.String()), want: []int{http.StatusOK}, has: []string{fx.b.email}, lacks: []string{fx.a.email}},
		{name: "X-User-Id of A on B's cart deletion", auth: b, req: rawRequest{method: http.MethodDelete, target: "/api/v1/cart", header: []string{"X-User-Id: " + fx.a.id.String()}}, want: []int{http.StatusNoContent}},
		{name: "X-HTTP-Method-Override: DELETE on a product", auth: b, req: get("/api/v1/products/"+fx.product, "X-HTTP-Method-Override: DELETE"), want: []int{http.StatusOK}},
		{name: "X-HTTP-Method-Override: DELETE on A's own cart", auth: a, req: get("/api/v1/cart", "X-HTTP-Method-Override: DELETE", "X-Method-Override: DELETE"), want: []int{http.StatusOK}, has: []string{fx.product}},
		{name: "X-Forwarded-For and Forwarded on an admin route", auth: b, req: get("/api/v1/admin/users", "X-Forwarded-For: 127.0.0.1", "Forwarded: for=127.0.0.1;host=localhost", "X-Real-IP: 127.0.0.1"), want: []int{http.StatusForbidden}},
		{name: "X-Original-URL to a user route without a token", req: get("/api/v1/orders", "X-Original-URL: /api/v1/products"), want: []int{http.StatusUnauthorized}},
		{name: "X-Rewrite-URL to the secrets API", req: get("/api/v1/products", "X-Rewrite-URL: /v1.0/secrets/secretstore/bulk", "X-Original-URL: /v1.0/metadata"), want: []int{http.StatusOK}, has: productList},

		// Tokens.
		{name: "a customer on the admin user list", auth: b, req: get("/api/v1/admin/users"), want: []int{http.StatusForbidden}},
		{name: "a customer creating a product", auth: b, req: post("/api/v1/products", product("cust", `"price_cents": 100, "initial_stock": 1`)), want: []int{http.StatusForbidden}},
		{name: "a customer shipping A's order", auth: b, req: post("/api/v1/orders/"+fx.unpaid.ID+"/ship", ""), want: []int{http.StatusForbidden}},
		{name: "a token in the query string", req: get("/api/v1/orders?access_token=" + strings.TrimPrefix(b, "Bearer ")), want: []int{http.StatusUnauthorized}},

		// Dead letters: the workers serve every service's, to admins only.
		{name: "a customer lists the dead letters", auth: b, req: get("/api/v1/admin/dead-letters?service=orders"), want: []int{http.StatusForbidden}},
		{name: "a customer replays the dead letters", auth: b, req: post("/api/v1/admin/dead-letters/replay?service=payments", ""), want: []int{http.StatusForbidden}},
		{name: "a customer replays a dead letter", auth: b, req: post("/api/v1/admin/dead-letters/"+uuid.NewString()+"/replay", ""), want: []int{http.StatusForbidden}},
		{name: "an admin replays an unknown dead letter", auth: admin, req: post("/api/v1/admin/dead-letters/"+uuid.NewString()+"/replay", ""), want: notFound},
		{name: "an admin replays a dead letter by a forged id", auth: admin, req: post("/api/v1/admin/dead-letters/notifications%3A1/replay", ""), want: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		{name: "an admin lists dead letters from page 0", auth: admin, req: get("/api/v1/admin/dead-letters?page=0"), want: []int{http.StatusUnprocessableEntity}},
		{name: "an admin lists the dead letters of auth", auth: admin, req: get("/api/v1/admin/dead-letters?service=auth"), want: []int{http.StatusUnprocessableEntity}},
		{name: "an admin deletes dead letters", auth: admin, req: rawRequest{method: http.MethodDelete, target: "/api/v1/admin/dead-letters"}, want: []int{http.StatusNotFound, http.StatusMethodNotAllowed}},
		{name: "no route: one app's dead letters by the old path", auth: admin, req: get("/api/v1/admin/dead-letters/orders"), want: []int{http.StatusNotFound, http.StatusMethodNotAllowed}},
		{name: "no route: the internal dead letters through the gateway", auth: admin, req: get("/internal/dead-letters"), want: notFound},
		{name: "dot segments from the dead letters to a replay", auth: admin, req: post("/api/v1/admin/dead-letters/x/../replay", ""), want: bad},

		// One customer reaching for another's resources.
		{name: "B reads A's order", auth: b, req: get("/api/v1/orders/" + fx.unpaid.ID), want: notFound},
		{name: "B cancels A's order", auth: b, req: post("/api/v1/orders/"+fx.unpaid.ID+"/cancel", ""), want: notFound},
		{name: "B lists A's payments", auth: b, req: get("/api/v1/payments?order_id=" + fx.paid.ID), want: []int{http.StatusOK}, lacks: []string{fx.payment.ID, fx.payment.PaymentIntentID}, has: []string{"[]"}},
		{name: "B lists A's invoices", auth: b, req: get("/api/v1/invoices?order_id=" + fx.paid.ID), want: []int{http.StatusOK}, lacks: []string{fx.invoiceID}},
		{name: "B reads A's invoice", auth: b, req: get("/api/v1/invoices/" + fx.invoiceID), want: notFound},
		{name: "B deletes A's card", auth: b, req: rawRequest{method: http.MethodDelete, target: "/api/v1/payment-methods/" + fx.cardID}, want: notFound},
		{name: "B makes A's card their default", auth: b, req: post("/api/v1/payment-methods/"+fx.cardID+"/default", ""), want: notFound},
		{name: "B revokes A's session", auth: b, req: rawRequest{method: http.MethodDelete, target: "/api/v1/auth/sessions/" + fx.sessionA}, want: notFound},
		{name: "B refunds A's payment", auth: b, req: post("/api/v1/payments/"+fx.payment.ID+"/refunds", `{"amount_cents": 1}`, "Idempotency-Key: "+uuid.NewString()), want: []int{http.StatusForbidden}},

		// Bodies.
		{name: "announced body over the limit", auth: b, req: rawRequest{method: http.MethodPost, target: "/api/v1/cart/items", header: []string{"Content-Type: application/json"}, body: strings.Repeat(" ", 8<<10), announce: 2 << 20}, want: []int{http.StatusRequestEntityTooLarge}},
		{name: "chunked body over the limit", auth: b, req: rawRequest{method: http.MethodPost, target: "/api/v1/cart/items", header: []string{"Content-Type: application/json"}, chunked: 1<<20 + 64<<10}, want: []int{http.StatusRequestEntityTooLarge}},
		{name: "malformed JSON is not echoed", auth: b, req: post("/api/v1/cart/items", `{"product_id": "<script>hostile-echo-7f3a</script>", "quantity": `), want: bad, lacks: []string{"hostile-echo-7f3a"}},
		{name: "wrong content type", auth: b, req: rawRequest{method: http.MethodPost, target: "/api/v1/cart/items", header: []string{"Content-Type: text/plain"}, body: cart("1")}, want: []int{http.StatusUnsupportedMediaType}},
		{name: "duplicate keys", auth: b, req: post("/api/v1/cart/items", fmt.Sprintf(`{"product_id": %q, "quantity": 1, "quantity": 5}`, fx.product)), want: numeric},
		{name: "10k nested arrays", auth: b, req: post("/api/v1/cart/items", strings.Repeat("[", 10000)+strings.Repeat("]", 10000)), want: bad},
		{name: "NUL in a product name", auth: admin, req: post("/api/v1/products", `{"sku": "HOST-nul", "name": "a\u0000b", "description": "e2e", "currency": "USD", "price_cents": 100, "initial_stock": 1}`), want: numeric},

		// Numbers.
		{name: "page=1e17", req: get("/api/v1/products?page=1e17"), want: []int{http.StatusUnprocessableEntity}},
		{name: "page=-1", req: get("/api/v1/products?page=-1"), want: []int{http.StatusUnprocessableEntity}},
		{name: "page_size=1000000", req: get("/api/v1/products?page_size=1000000"), want: []int{http.StatusUnprocessableEntity}},
		{name: "page=99999999999999999999", req: get("/api/v1/products?page=99999999999999999999"), want: []int{http.StatusUnprocessableEntity}},
		{name: "page=9223372036854775807 (offset overflow)", auth: b, req: get("/api/v1/orders?page=9223372036854775807&page_size=100"), want: []int{http.StatusOK, http.StatusUnprocessableEntity}},
		{name: "quantity 1e30", auth: b, req: post("/api/v1/cart/items", cart("1e30")), want: numeric},
		{name: "quantity -1", auth: b, req: post("/api/v1/cart/items", cart("-1")), want: []int{http.StatusUnprocessableEntity}},
		{name: "quantity 2147483648", auth: b, req: post("/api/v1/cart/items", cart("2147483648")), want: numeric},
		{name: "quantity 9223372036854775808", auth: b, req: post("/api/v1/cart/items", cart("9223372036854775808")), want: numeric},
		{name: "quantity in full-width digits", auth: b, req: post("/api/v1/cart/items", cart(`"１２"`)), want: numeric},
		{name: "quantity NaN", auth: b, req: post("/api/v1/cart/items", cart("NaN")), want: bad},
		{name: "price_cents 9223372036854775808", auth: admin, req: post("/api/v1/products", product("p63", `"price_cents": 9223372036854775808, "initial_stock": 1`)), want: numeric},
		{name: "price_cents 1e30", auth: admin, req: post("/api/v1/products", product("pe30", `"price_cents": 1e30, "initial_stock": 1`)), want: numeric},
		{name: "price_cents -1", auth: admin, req: post("/api/v1/products", product("pneg", `"price_cents": -1, "initial_stock": 1`)), want: []int{http.StatusUnprocessableEntity}},
		{name: "initial_stock 2147483648", auth: admin, req: post("/api/v1/products", product("s31", `"price_cents": 100, "initial_stock": 2147483648`)), want: numeric},
		{name: "stock adjustment 2147483648", auth: admin, req: post("/api/v1/products/"+fx.product+"/inventory/adjustments", `{"delta": 2147483648, "reason": "hostile"}`), want: numeric},
	}
	tokens := fx.forgedTokens(t)
	for _, name := range slices.Sorted(maps.Keys(tokens)) {
		cases = append(cases,
			hostileCase{name: "token " + name + " on me", auth: "Bearer " + tokens[name], req: get("/api/v1/auth/me"), want: []int{http.StatusUnauthorized}},
			hostileCase{name: "token " + name + " on the admin user list", auth: "Bearer " + tokens[name], req: get("/api/v1/admin/users"), want: adminListRefusal(name)})
	}
	cases = append(cases, hostileCase{name: "token raised to admin cancels A's order", auth: "Bearer " + tokens["role claim raised"],
		req: post("/api/v1/orders/"+fx.unpaid.ID+"/cancel", ""), want: []int{http.StatusUnauthorized}})
	return cases
}

// TestHostileRequests sends what an attacker on the internet would, raw,
// through the gateway and the real sidecars, and checks each answer and
// that nothing it could have reached changed.
func TestHostileRequests(t *testing.T) {
	t.Run("the raw client sends its bytes as written", testRawClient)
	fx := newHostileFixture(t)
	cases := fx.hostileCases(t)
	require.GreaterOrEqual(t, len(cases), 60)

	baseline := fx.snapshot(t)
	before := baseline
	for _, tc := range cases {
		ok := t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if tc.auth != "" {
				req.header = append([]string{"Authorization: " + tc.auth}, req.header...)
			}
			resp := sendRaw(t, gatewayAddr, req)
			body := redacted(resp.Body)
			assertNoSecrets(t, resp.Body)
			assert.Contains(t, tc.want, resp.Status, "%s %s: %s", req.method, req.target, body)
			assert.Less(t, resp.Status, 500, "never a 5xx")
			if resp.Status >= 400 {
				assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "body: %s", body)
			}
			for _, s := range tc.has {
				assert.Contains(t, string(resp.Body), s, "body: %s", body)
			}
			for _, s := range tc.lacks {
				assert.NotContains(t, string(resp.Body), s, "body: %s", body)
			}
			if tc.check != nil {
				tc.check(t)
			}
			after := fx.snapshot(t)
			for _, k := range slices.Sorted(maps.Keys(before)) {
				assert.Equal(t, before[k], after[k], "%s changed", k)
			}
		})
		if !ok {
			// What a failed case set in motion lands before the next one is
			// judged, so that each failure is told once, where it happened.
			before = fx.settle(t)
		}
	}
	t.Run("no late effect of the table", func(t *testing.T) {
		// Events a refused request might have published are handled within
		// a second or two; within that time nothing may move.
		// Polled on the test's own goroutine, unlike assert.Never, whose last
		// check may still be reading the shared connections when the window
		// closes and the test's context is cancelled.
		window := time.After(3 * time.Second)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			if after := fx.snapshot(t); !maps.Equal(after, before) {
				assert.Equal(t, before, after, "something moved after the table")
				return
			}
			select {
			case <-window:
				return
			case <-tick.C:
			}
		}
	})
	t.Logf("%d hostile requests", len(cases))

	t.Run("a checkout replayed with its key places one order and reserves once", func(t *testing.T) {
		productID := fx.s.newProduct(t, 800, 5)
		require.Equal(t, http.StatusOK, fx.s.addToCart(t, fx.b.bearer, productID, 2).Status)
		key := uuid.NewString()
		first := fx.s.checkout(t, fx.b.bearer, key, shipTo)
		require.Equal(t, http.StatusCreated, first.Status, "checkout: %s", first.Body)
		replay := fx.s.checkout(t, fx.b.bearer, key, shipTo)
		require.Equal(t, http.StatusCreated, replay.Status, "replay: %s", replay.Body)
		var o1, o2 orderJSON
		first.JSON(t, &o1)
		replay.JSON(t, &o2)
		assert.Equal(t, o1.ID, o2.ID, "the same order")
		fx.s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 2, Available: 3})
		var orders int
		require.NoError(t, fx.dbs["orders"].QueryRow(ctx(t), `SELECT count(*) FROM orders WHERE user_id = $1 AND idempotency_key = $2`, fx.b.id, key).Scan(&orders))
		assert.Equal(t, 1, orders)
	})

	t.Run("an admin refund replayed with its key refunds once", func(t *testing.T) {
		key := uuid.NewString()
		var answers []string
		for range 2 {
			resp := fx.s.send(t, http.MethodPost, "/api/v1/payments/"+fx.payment.ID+"/refunds", fx.s.admin, `{"amount_cents": 100}`, "Idempotency-Key", key)
			assert.Equal(t, http.StatusCreated, resp.Status, "refund: %s", resp.Body)
			answers = append(answers, string(resp.Body))
		}
		assert.JSONEq(t, answers[0], answers[1], "the same answer")
		resp := fx.s.send(t, http.MethodGet, "/api/v1/payments?order_id="+fx.paid.ID, fx.a.bearer, "")
		require.Equal(t, http.StatusOK, resp.Status)
		var got []struct {
			RefundedCents int64 `json:"refunded_cents"`
			Refunds       []struct {
				AmountCents int64 `json:"amount_cents"`
			} `json:"refunds"`
		}
		resp.JSON(t, &got)
		require.Len(t, got, 1)
		assert.Len(t, got[0].Refunds, 1, "one refund in the payments answer")
		assert.EqualValues(t, 100, got[0].RefundedCents)
		assert.Len(t, emulator{t}.refunds(fx.payment.PaymentIntentID), 1, "one refund at Stripe")
	})
}

// settle waits until two snapshots a moment apart agree and returns the
// last: the new state the next cases are judged against.
func (fx *hostileFixture) settle(t *testing.T) map[string]string {
	t.Helper()
	last := fx.snapshot(t)
	assert.Eventually(t, func() bool {
		now := fx.snapshot(t)
		same := maps.Equal(now, last)
		last = now
		return same
	}, 20*time.Second, 500*time.Millisecond, "the system settles after a failed case")
	return last
}

// adminListRefusal is how the admin user list refuses a customer token that
// fails a check. The gateway checks signatures and roles, so a role it can
// read from a valid signature is refused there (403); revocations are the
// services' to check (the gateway's sidecar may only invoke), so a
// logged-out customer meets the role check first.
func adminListRefusal(token string) []int {
	if token == "logged out session" {
		return []int{http.StatusForbidden}
	}
	return []int{http.StatusUnauthorized}
}
