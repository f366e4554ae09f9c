package payments_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

func TestOnVerdict(t *testing.T) {
	const decline = "generic_decline: Your card was declined."
	p := payments.Payment{
		ID: uuid.New(), OrderID: uuid.New(), UserID: uuid.New(), IntentID: "pi_1",
		AmountCents: 12100, Currency: "EUR",
	}
	paid := contracts.PaymentSucceededV1{
		OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: "pi_1",
		Status: string(payments.StatusSucceeded), AmountCents: 12100, Currency: "EUR",
	}
	failed := contracts.PaymentFailedV1{
		OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: "pi_1",
		Status: string(payments.StatusFailed), Reason: decline,
	}
	for _, tt := range []struct {
		name      string
		from      payments.Status
		cancelled bool
		verdict   payments.Status
		want      payments.Change
	}{
		{"a success pays and invoices", payments.StatusPending, false, payments.StatusSucceeded, payments.Change{
			To: payments.StatusSucceeded, Invoice: &payments.InvoiceTotals{SubtotalCents: 10000, TaxCents: 2100},
			Events: []payments.Event{{Topic: payments.TopicPaymentSucceeded, Payload: paid}},
		}},
		{"a decline fails with its reason", payments.StatusProcessing, false, payments.StatusFailed, payments.Change{
			To: payments.StatusFailed, Failure: decline,
			Events: []payments.Event{{Topic: payments.TopicPaymentFailed, Payload: failed}},
		}},
		{"a settled payment keeps its verdict", payments.StatusFailed, false, payments.StatusSucceeded, payments.Change{}},
		{"a success is not settled twice", payments.StatusSucceeded, false, payments.StatusSucceeded, payments.Change{}},
		{"a cancelled order's payment takes a success silently", payments.StatusPending, true, payments.StatusSucceeded,
			payments.Change{To: payments.StatusSucceeded}},
		{"a cancelled order's payment takes a decline silently", payments.StatusPending, true, payments.StatusFailed,
			payments.Change{To: payments.StatusFailed, Failure: decline}},
		{"on a cancelled order a success stands over a failure", payments.StatusFailed, true, payments.StatusSucceeded,
			payments.Change{To: payments.StatusSucceeded}},
		{"on a cancelled order a success stands over a cancellation", payments.StatusCancelled, true, payments.StatusSucceeded,
			payments.Change{To: payments.StatusSucceeded}},
		{"on a cancelled order a decline never undoes a success", payments.StatusSucceeded, true, payments.StatusFailed, payments.Change{}},
		{"on a cancelled order a decline keeps a cancellation", payments.StatusCancelled, true, payments.StatusFailed, payments.Change{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pay := p
			pay.Status, pay.OrderCancelled = tt.from, tt.cancelled
			failure := ""
			if tt.verdict == payments.StatusFailed {
				failure = decline
			}
			ch, err := payments.OnVerdict(tt.verdict, failure, 2100)(pay)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ch)
		})
	}
}

func TestIntentSettled(t *testing.T) {
	for _, tt := range []struct {
		name    string
		intent  payments.Intent
		status  payments.Status
		settled bool
	}{
		{"succeeded", payments.Intent{Status: payments.IntentSucceeded}, payments.StatusSucceeded, true},
		{"declined", payments.Intent{Status: payments.IntentAwaitingMethod, FailureMessage: "card_declined"}, payments.StatusFailed, true},
		{"awaiting its first card", payments.Intent{Status: payments.IntentAwaitingMethod}, "", false},
		{"processing", payments.Intent{Status: payments.IntentProcessing}, "", false},
		{"awaiting its client", payments.Intent{Status: payments.IntentAwaitingClient}, "", false},
		{"cancelled", payments.Intent{Status: payments.IntentCancelled}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, settled := tt.intent.Settled()
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.settled, settled)
		})
	}
}

func TestOnIntentCancelled(t *testing.T) {
	for _, tt := range []struct {
		from payments.Status
		want payments.Change
	}{
		{payments.StatusPending, payments.Change{To: payments.StatusCancelled}},
		{payments.StatusProcessing, payments.Change{To: payments.StatusCancelled}},
		{payments.StatusSucceeded, payments.Change{}},
		{payments.StatusFailed, payments.Change{}},
		{payments.StatusCancelled, payments.Change{}},
	} {
		t.Run(string(tt.from), func(t *testing.T) {
			ch, err := payments.OnIntentCancelled(payments.Payment{Status: tt.from, OrderCancelled: true})
			require.NoError(t, err)
			assert.Equal(t, tt.want, ch)
		})
	}
}
