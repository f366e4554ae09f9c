package stripeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/stripeapi"
)

// stripeMock is installed by `make stripe-mock`, relative to this
// package's directory, where `go test` runs it.
var stripeMock = filepath.Join("..", "..", "..", "..", ".bin", "stripe-mock")

// syncBuffer keeps stripe-mock's output for failure messages while the
// reader goroutine writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startStripeMock runs stripe-mock, which validates every request against
// the OpenAPI spec it embeds and answers 400 to one that does not fit, on
// ports the system picks, and returns its HTTP base URL.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(stripeMock)
	require.NoError(t, err)
	_, err = os.Stat(bin)
	require.NoError(t, err, "stripe-mock is missing: run `make stripe-mock` at the repository root")

	// Both listeners on 127.0.0.1 and a free port: the HTTPS one would
	// otherwise take the fixed :12112.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	// stripe-mock says where it listens once the socket is open; the
	// reader keeps draining its output so it never blocks on the pipe.
	var output syncBuffer
	addr := make(chan string, 1)
	go func() {
		defer close(addr)
		const announce = "Listening for HTTP at address: "
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			output.WriteString(lines.Text() + "\n")
			if a, ok := strings.CutPrefix(lines.Text(), announce); ok {
				addr <- a
			}
		}
	}()
	select {
	case a, ok := <-addr:
		require.True(t, ok, "stripe-mock exited before listening:\n%s", output.String())
		return "http://" + a
	case <-time.After(30 * time.Second):
		require.FailNow(t, "stripe-mock did not listen within 30s", output.String())
		return ""
	}
}

// TestStripeContract drives every call the service makes through our
// adapter against stripe-mock: each one succeeding proves the request,
// parameters and Idempotency-Key included, is valid for Stripe's API.
func TestStripeContract(t *testing.T) {
	base := startStripeMock(t)

	t.Run("stripe-mock refuses a request the spec does not allow", func(t *testing.T) {
		// Without this the successes below would prove nothing.
		form := url.Values{"amount": {"100"}, "currency": {"usd"}, "not_a_stripe_param": {"x"}}
		req, err := http.NewRequest(http.MethodPost, base+"/v1/payment_intents", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer sk_test_contract")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	})

	// As main.go builds it, with stripe-mock in place of the sidecar.
	c := stripeapi.New(stripeapi.Options{BaseURL: base, SecretKey: "sk_test_contract", DaprAPIToken: "dapr-token", Timeout: 60 * time.Second})
	ctx := context.Background()
	userID, orderID := uuid.New(), uuid.New()
	var customerID, cardID, intentID string

	t.Run("create customer", func(t *testing.T) {
		id, err := c.CreateCustomer(ctx, userID, "ada@example.com")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(id, "cus_"), id)
		customerID = id
	})

	t.Run("attach a card", func(t *testing.T) {
		card, err := c.AttachCard(ctx, "pm-attach-"+uuid.NewString(), customerID, "pm_card_visa")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(card.ProviderID, "pm_"), card.ProviderID)
		assert.NotEmpty(t, card.Brand)
		assert.Len(t, card.Last4, 4)
		assert.True(t, card.ExpMonth >= 1 && card.ExpMonth <= 12, "exp month %d", card.ExpMonth)
		assert.Positive(t, card.ExpYear)
		cardID = card.ProviderID
	})

	t.Run("create an intent the client confirms", func(t *testing.T) {
		i, err := c.CreateIntent(ctx, payments.IntentRequest{
			OrderID: uuid.New(), UserID: userID, AmountCents: 2500, Currency: "USD", CustomerID: customerID,
		})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(i.ID, "pi_"), i.ID)
		assert.NotEmpty(t, i.ClientSecret)
		assert.NotEmpty(t, i.Status)
	})

	t.Run("create an intent confirmed with the saved card", func(t *testing.T) {
		i, err := c.CreateIntent(ctx, payments.IntentRequest{
			OrderID: orderID, UserID: userID, AmountCents: 2500, Currency: "USD", CustomerID: customerID, CardID: cardID,
		})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(i.ID, "pi_"), i.ID)
		assert.NotEmpty(t, i.ClientSecret)
		assert.NotEmpty(t, i.Status)
		intentID = i.ID
	})

	t.Run("read an intent", func(t *testing.T) {
		i, err := c.Intent(ctx, intentID)
		require.NoError(t, err)
		assert.Equal(t, intentID, i.ID)
		assert.NotEmpty(t, i.Status)
	})

	t.Run("refund part of an intent", func(t *testing.T) {
		rf, err := c.Refund(ctx, uuid.New(), intentID, 1000)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(rf.ID, "re_"), rf.ID)
		assert.NotEmpty(t, rf.Status)
	})

	t.Run("look a refund up", func(t *testing.T) {
		// stripe-mock answers fixtures, not what was created: this checks
		// the request's shape and that an unknown refund is not found.
		_, err := c.FindRefund(ctx, uuid.New(), intentID)
		assert.ErrorIs(t, err, payments.ErrNotFound)
	})

	t.Run("cancel an intent", func(t *testing.T) {
		i, err := c.CancelIntent(ctx, "pi-cancel-"+uuid.NewString()+"-pending", intentID, payments.CancelRequestedByCustomer)
		require.NoError(t, err)
		assert.Equal(t, intentID, i.ID)
		assert.NotEmpty(t, i.Status)
	})

	t.Run("detach the card", func(t *testing.T) {
		require.NoError(t, c.DetachCard(ctx, "pm-detach-"+uuid.NewString(), cardID))
	})
}
