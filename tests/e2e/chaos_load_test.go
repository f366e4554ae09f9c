package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// chaosCards are the saved cards of the chaos customers, by share of the
// customers: most pay, some are declined, some settle asynchronously
// (succeeding or declined a few seconds after the checkout).
var chaosCards = []struct {
	pm    string
	share int
}{
	{"pm_card_visa", 5},
	{"pm_card_chargeDeclined", 2},
	{"pm_card_processing", 2},
	{"pm_card_processing_chargeDeclined", 1},
}

// chaosCustomer is a customer of the load: known to notifications (a
// user.registered, so receipts have an address) with a saved default card.
type chaosCustomer struct {
	id   uuid.UUID
	card string
}

// chaosRequest is one request of the load, as its client saw it.
type chaosRequest struct {
	start, end time.Time
	// status is the answer's status, 0 when none came (transport error).
	status int
	// failed: not the answer the client expected.
	failed bool
}

// chaosLoad is a checkout load through the gateway: each client places
// orders for its own customers, one at a time, and cancels some paid
// orders (refunded in full). It records every request it makes.
type chaosLoad struct {
	hc       *http.Client
	products []string
	mu       sync.Mutex
	requests []chaosRequest
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// send makes one request through the gateway and records it; the answer
// is what the client expected when its status is want.
func (l *chaosLoad) send(ctx context.Context, method, path, auth, key, body string, want int) (int, []byte) {
	start := time.Now()
	status, out := doRequest(ctx, l.hc, method, path, auth, key, body)
	if ctx.Err() != nil {
		return 0, nil // stopped mid-request: not an answer of the system
	}
	l.mu.Lock()
	l.requests = append(l.requests, chaosRequest{start: start, end: time.Now(), status: status, failed: status != want})
	l.mu.Unlock()
	return status, out
}

// doRequest sends a JSON request through the gateway; status 0 means no
// answer came.
func doRequest(ctx context.Context, hc *http.Client, method, path, auth, key, body string) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, method, gatewayURL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, out
}

// window sums the requests started in [from, to): how many, and how many
// failed.
func (l *chaosLoad) window(from, to time.Time) (requests, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.requests {
		if r.start.Before(from) || !r.start.Before(to) {
			continue
		}
		requests++
		if r.failed {
			failed++
		}
	}
	return requests, failed
}

// serverErrors counts the requests made wholly within [from, to] that got
// a 5xx or no answer.
func (l *chaosLoad) serverErrors(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.requests {
		if !r.start.Before(from) && !r.end.After(to) && (r.status == 0 || r.status >= 500) {
			n++
		}
	}
	return n
}

// startChaosLoad starts clients, each placing an order about every pace
// for its share of customers, until Stop.
func startChaosLoad(customers []chaosCustomer, products []string, clients int, pace time.Duration) *chaosLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &chaosLoad{
		// The gateway's own deadline is 10 s: a client waiting longer
		// waits on a connection nothing answers on any more.
		hc:       &http.Client{Timeout: 15 * time.Second},
		products: products,
		stop:     cancel,
	}
	for i := range clients {
		var mine []chaosCustomer
		for j := i; j < len(customers); j += clients {
			mine = append(mine, customers[j])
		}
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			l.client(ctx, i, mine, pace)
		}()
	}
	return l
}

// Stop ends the load and waits for its clients.
func (l *chaosLoad) Stop() {
	l.stop()
	l.done.Wait()
}

// client places orders for its customers in turn. Every fifth order paid
// by a card that pays at once is cancelled once it is paid, which refunds
// it.
func (l *chaosLoad) client(ctx context.Context, n int, customers []chaosCustomer, pace time.Duration) {
	tick := time.NewTicker(pace)
	defer tick.Stop()
	type placed struct {
		auth, id string
		at       time.Time
	}
	var toCancel []placed
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c := customers[i%len(customers)]
		auth, err := signToken(c.id, authn.RoleCustomer)
		if err != nil {
			continue
		}
		auth = "Bearer " + auth
		// A cancellation waits until its order is paid (a few seconds).
		if len(toCancel) > 0 && time.Since(toCancel[0].at) > 3*time.Second {
			o := toCancel[0]
			toCancel = toCancel[1:]
			if status, body := l.send(ctx, http.MethodGet, "/api/v1/orders/"+o.id, o.auth, "", "", http.StatusOK); status == http.StatusOK {
				var got orderJSON
				if json.Unmarshal(body, &got) == nil && got.Status == "paid" {
					l.send(ctx, http.MethodPost, "/api/v1/orders/"+o.id+"/cancel", o.auth, "", "", http.StatusOK)
				} else if got.Status == "pending_payment" && time.Since(o.at) < time.Minute {
					toCancel = append(toCancel, o)
				}
			}
		}
		product := l.products[(n+i)%len(l.products)]
		add := fmt.Sprintf(`{"product_id": %q, "quantity": %d}`, product, 1+i%3)
		if status, _ := l.send(ctx, http.MethodPost, "/api/v1/cart/items", auth, "", add, http.StatusOK); status != http.StatusOK {
			continue
		}
		status, body := l.send(ctx, http.MethodPost, "/api/v1/checkout", auth, uuid.NewString(), address, http.StatusCreated)
		if status != http.StatusCreated {
			// What the failed checkout left in the cart is bought by the
			// customer's next one.
			continue
		}
		var o orderJSON
		if c.card == "pm_card_visa" && i%5 == 0 && json.Unmarshal(body, &o) == nil {
			toCancel = append(toCancel, placed{auth: auth, id: o.ID, at: time.Now()})
		}
	}
}

// newChaosCustomers registers n customers (user.registered, as auth
// publishes it) and saves each one's card, the shares of chaosCards
// repeating, and waits until notifications knows their addresses.
func newChaosCustomers(t *testing.T, s shop, n int) []chaosCustomer {
	t.Helper()
	var cards []string
	for _, c := range chaosCards {
		for range c.share {
			cards = append(cards, c.pm)
		}
	}
	customers := make([]chaosCustomer, n)
	ids := make([]uuid.UUID, n)
	for i := range customers {
		c := chaosCustomer{id: uuid.New(), card: cards[i%len(cards)]}
		publishEvent(t, "user.registered", uuid.NewString(), map[string]string{
			"user_id": c.id.String(), "email": "chaos-" + c.id.String()[:13] + "@example.com", "name": "Chaos " + c.id.String()[:8],
		})
		s.saveCard(t, "Bearer "+token(t, c.id, authn.RoleCustomer), c.card)
		customers[i], ids[i] = c, c.id
	}
	db := connect(t, "notifications")
	require.Eventually(t, func() bool {
		var known int
		err := db.QueryRow(ctx(t), `SELECT count(*) FROM recipients WHERE user_id = ANY($1)`, ids).Scan(&known)
		return err == nil && known == n
	}, time.Minute, 200*time.Millisecond, "notifications knows every chaos customer's address")
	return customers
}
