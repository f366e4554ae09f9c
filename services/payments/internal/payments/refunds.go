package payments

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// RefundStore is what refunds need from storage.
type RefundStore interface {
	// ReserveRefund records refund id of amountCents (0: what is left) of a
	// payment as pending and raises the payment's refunded amount, in one
	// transaction guarded in SQL. Reserving an id again returns the refund
	// as recorded. It returns ErrPaymentNotFound, ErrNotRefundable or
	// ErrOverRefund.
	ReserveRefund(ctx context.Context, id, paymentID uuid.UUID, amountCents int64) (Refund, string, error)
	// CompleteRefund marks a pending refund succeeded, with
	// payment.refunded; a refund already complete is left as it is.
	CompleteRefund(ctx context.Context, id uuid.UUID, providerID string) (Refund, error)
	// FailRefund marks a pending refund failed and gives its amount back
	// to the payment.
	FailRefund(ctx context.Context, id uuid.UUID) error
	// PaymentOfOrder returns the order's payment, or ErrPaymentNotFound.
	PaymentOfOrder(ctx context.Context, orderID uuid.UUID) (Payment, error)
}

// Refund gives back amountCents (0: all that is left) of a payment. The
// amount is reserved before the provider is called, so concurrent refunds
// never add up to more than was paid; the refund id is the provider's
// idempotency key. A provider refusal releases the reservation; an outage
// leaves the refund pending for the next attempt with the same id.
func (s *Service) Refund(ctx context.Context, id, paymentID uuid.UUID, amountCents int64) (Refund, error) {
	r, intentID, err := s.refunds.ReserveRefund(ctx, id, paymentID, amountCents)
	if err != nil || r.Status == RefundSucceeded {
		return r, err
	}
	providerID, err := s.provider.Refund(ctx, "refund-"+r.ID.String(), intentID, r.AmountCents)
	if apperr.KindOf(err) == apperr.BadGateway {
		if ferr := s.refunds.FailRefund(ctx, r.ID); ferr != nil {
			return Refund{}, fmt.Errorf("%w (and releasing it: %w)", err, ferr)
		}
		return Refund{}, err
	}
	if err != nil {
		return Refund{}, err
	}
	return s.refunds.CompleteRefund(ctx, r.ID, providerID)
}

// refundNamespace derives refund ids from event ids.
var refundNamespace = uuid.MustParse("6f0b8f6e-3c1a-4f55-9a59-1c0f3f1e7a10")

// RefundOrder refunds in full the payment of a cancelled paid order (event
// eventID). The refund id is derived from the event id, so a redelivery
// resumes the same refund instead of starting another.
func (s *Service) RefundOrder(ctx context.Context, eventID string, orderID uuid.UUID) error {
	p, err := s.refunds.PaymentOfOrder(ctx, orderID)
	if err != nil {
		return err
	}
	_, err = s.Refund(ctx, uuid.NewSHA1(refundNamespace, []byte(eventID)), p.ID, 0)
	return err
}

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)
