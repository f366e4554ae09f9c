package payments

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// CancelOrder closes the payment of an order cancelled before it was paid
// (order.cancelled without a refund): its intent is cancelled at the
// provider so that a late confirmation cannot charge, or, when the money
// was taken meanwhile, it is refunded in full with payment.refunded. An
// order with no payment yet is only recorded: Charge then creates no
// intent. Every step is idempotent per order, so a redelivery resumes
// where an outage stopped.
func (s *Service) CancelOrder(ctx context.Context, orderID uuid.UUID, reason string) error {
	p, err := s.store.CancelOrder(ctx, orderID, reason)
	if errors.Is(err, ErrPaymentNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.closeCancelled(ctx, p)
}

// closeCancelled makes sure the payment p of a cancelled order keeps no
// money: a succeeded one is refunded; otherwise its intent is cancelled
// (a declined one too, which its client could confirm again with another
// card), unless the provider says it succeeded (then it is refunded) or is
// still processing (its verdict, by webhook or reconciliation, comes back
// here).
func (s *Service) closeCancelled(ctx context.Context, p Payment) error {
	switch p.Status {
	case StatusCancelled:
		return nil
	case StatusSucceeded:
		return s.refundCancelled(ctx, p)
	}
	reason := CancelAbandoned
	if p.CancelReason == contracts.CancelReasonCustomer {
		reason = CancelRequestedByCustomer
	}
	// One key per state of the payment: a refusal while the intent was
	// processing is replayed for its key, and must not stand in the way of
	// cancelling the intent once a decline left it open.
	provider, err := s.via(p.Provider)
	if err != nil {
		return err
	}
	intent, err := provider.CancelIntent(ctx, "pi-cancel-"+p.OrderID.String()+"-"+string(p.Status), p.IntentID, reason)
	switch {
	case err != nil:
		return err
	case intent.Cancelled():
		_, err := s.store.Transition(ctx, intent.ID, cancelEventID(intent.ID, StatusCancelled), "cancel", OnIntentCancelled)
		return err
	case intent.Status == IntentSucceeded:
		// Confirmed before the cancellation reached the provider.
		p, err = s.applyVerdict(ctx, intent.ID, cancelEventID(intent.ID, StatusSucceeded), "cancel", StatusSucceeded, "")
		if err != nil {
			return err
		}
		return s.refundCancelled(ctx, p)
	}
	return nil
}

// cancelEventID names what closing a cancelled order's payment found its
// intent at, so that each is applied once.
func cancelEventID(intentID string, found Status) string {
	return "cancel:" + intentID + ":" + string(found)
}

// OnIntentCancelled decides what the provider's cancellation of its
// intent does to the payment of a cancelled order: one awaiting its
// verdict is cancelled, silently, the order being over; a settled one
// keeps its verdict.
func OnIntentCancelled(p Payment) (Change, error) {
	if p.Status.Final() {
		return Change{}, nil
	}
	return Change{To: StatusCancelled}, nil
}

// refundCancelled refunds in full what the payment of a cancelled order
// took. The refund id derives from the order, so the cancellation, the
// webhook, reconciliation and their redeliveries all resume one refund.
func (s *Service) refundCancelled(ctx context.Context, p Payment) error {
	err := s.refundInFull(ctx, uuid.NewSHA1(refundNamespace, []byte("cancelled-order:"+p.OrderID.String())), p.ID)
	if errors.Is(err, ErrOverRefund) {
		return nil // refunded in full already, by an admin
	}
	return err
}
