package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// shop mints tokens and builds the requests of the loads.
type shop struct {
	signingKey ed25519.PrivateKey
	keyID      string
	admin      string
}

func newShop(secrets map[string]string) (*shop, error) {
	seed, err := base64.StdEncoding.DecodeString(secrets["jwt-signing-key"])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("jwt-signing-key in the dev secrets is not an Ed25519 seed (%v)", err)
	}
	s := &shop{signingKey: ed25519.NewKeyFromSeed(seed), keyID: secrets["jwt-signing-key-id"]}
	if s.admin, err = s.token(uuid.New(), authn.RoleAdmin); err != nil {
		return nil, err
	}
	return s, nil
}

// token is an access token signed with the dev key, as auth would issue
// it, so that every service verifies it against auth's published keys.
func (s *shop) token(userID uuid.UUID, roles ...string) (string, error) {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: userID.String(),
			ID: uuid.NewString(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Roles: roles,
	})
	tok.Header["kid"] = s.keyID
	signed, err := tok.SignedString(s.signingKey)
	return "Bearer " + signed, err
}

func target(method, path, auth, body string, header ...string) vegeta.Target {
	h := http.Header{"Content-Type": {"application/json"}}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return vegeta.Target{Method: method, URL: gatewayURL + path, Header: h, Body: []byte(body)}
}

const address = `{"shipping_address": {"name": "Ada Lovelace", "line1": "1 Analytical St", "city": "London", "postal_code": "N1 9GU", "country": "GB"}}`

// fixture is the data the loads read and the carts they check out.
type fixture struct {
	productID string
	order     struct{ id, auth string }
	carts     []string // customers with a saved card and one item in their cart
}

// prepare creates a catalog, a customer with an order to read, and carts
// customers with saved cards and one of the products in their cart, all
// through the gateway.
func (s *shop) prepare(products, carts int) (*fixture, error) {
	f := &fixture{}
	var creates []vegeta.Target
	for i := range products {
		creates = append(creates, target(http.MethodPost, "/api/v1/products", s.admin, fmt.Sprintf(
			`{"sku": "BENCH-%d-%s", "name": "Bench mug %d", "description": "A mug to load the shop with", "price_cents": 1000, "currency": "USD", "initial_stock": 1000000}`,
			i, uuid.NewString()[:8], i)))
	}
	r, err := mustAll("create products", creates, 4)
	if err != nil {
		return nil, err
	}
	productIDs := make([]string, len(r.bodies))
	for i, b := range r.bodies {
		var p struct{ ID string }
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("created product: %w", err)
		}
		productIDs[i] = p.ID
	}
	f.productID = productIDs[0]

	customers := make([]string, carts+1)
	var cards, items []vegeta.Target
	for i := range customers {
		if customers[i], err = s.token(uuid.New(), authn.RoleCustomer); err != nil {
			return nil, err
		}
		cards = append(cards, target(http.MethodPost, "/api/v1/payment-methods", customers[i], `{"payment_method": "pm_card_visa"}`))
		// Spread over the catalog, as a shop's orders are: one product for
		// all would make its inventory row the bottleneck of every checkout.
		items = append(items, target(http.MethodPost, "/api/v1/cart/items", customers[i], fmt.Sprintf(`{"product_id": %q, "quantity": 1}`, productIDs[i%len(productIDs)])))
	}
	if _, err := mustAll("save cards", cards, 8); err != nil {
		return nil, err
	}
	if _, err := mustAll("fill carts", items, 8); err != nil {
		return nil, err
	}
	f.order.auth, f.carts = customers[0], customers[1:]
	r, err = mustAll("checkout the order to read", []vegeta.Target{s.checkout(f.order.auth)}, 1)
	if err != nil {
		return nil, err
	}
	var o struct{ ID string }
	if err := json.Unmarshal(r.bodies[0], &o); err != nil {
		return nil, fmt.Errorf("checkout answer: %w", err)
	}
	f.order.id = o.ID
	return f, nil
}

func (s *shop) checkout(auth string) vegeta.Target {
	return target(http.MethodPost, "/api/v1/checkout", auth, address, "Idempotency-Key", uuid.NewString())
}

// checkoutResult is the checkout load and the payments it led to.
type checkoutResult struct {
	result
	paid          int
	paidPerSecond float64
	toPaid50      time.Duration // from the order's creation to paid
	toPaid99      time.Duration
	start, end    time.Time // from the first checkout to the last payment
}

// checkoutLoad checks out carts as o says, then waits for every order it
// created to be paid (the saga: order.created → payments charges the saved
// card at the Stripe emulator → its webhook → payment.succeeded → orders).
// Paid orders per second run from the load's start to the last payment.
func (s *shop) checkoutLoad(carts []string, o loadOptions) (checkoutResult, error) {
	var targets []vegeta.Target
	for _, c := range carts {
		targets = append(targets, s.checkout(c))
	}
	start := time.Now()
	o.keepBodies = true
	r := attack(loadPaid, each(targets), o)
	out := checkoutResult{result: r, start: start}
	var ids []string
	for _, b := range r.bodies {
		var o struct{ ID string }
		if err := json.Unmarshal(b, &o); err == nil && o.ID != "" {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return out, fmt.Errorf("checkout: %w (%v): %s", errNoSuccess, r.statusSet, strings.Join(first(r.errs, 3), "; "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/"+dbPrefix+"orders?sslmode=disable")
	if err != nil {
		return out, err
	}
	defer db.Close(ctx)
	type paid struct {
		Created, Paid time.Time
	}
	var got []paid
	for {
		rows, _ := db.Query(ctx, `SELECT o.created_at, h.at FROM orders o
			JOIN order_status_history h ON h.order_id = o.id AND h.status = 'paid'
			WHERE o.id = ANY($1::uuid[])`, ids)
		if got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[paid]); err != nil {
			return out, err
		}
		if len(got) == len(ids) {
			break
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("%d of %d orders paid after 3 minutes", len(got), len(ids))
		// Not more often: each poll is a PostgreSQL transaction the cost
		// table would count against the orders.
		case <-time.After(500 * time.Millisecond):
		}
	}
	var last time.Time
	var toPaid []time.Duration
	for _, g := range got {
		if g.Paid.After(last) {
			last = g.Paid
		}
		toPaid = append(toPaid, g.Paid.Sub(g.Created))
	}
	toPaid = sortedDurations(toPaid)
	out.paid, out.end = len(got), last
	out.paidPerSecond = float64(len(got)) / last.Sub(start).Seconds()
	out.toPaid50, out.toPaid99 = percentile(toPaid, 0.5), percentile(toPaid, 0.99)
	return out, nil
}
