package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// RefundClaim asks to reserve refund ID of a payment. Key and RequestHash
// are set for an admin's request, empty for the refund of a cancelled
// order.
type RefundClaim struct {
	ID          uuid.UUID
	PaymentID   uuid.UUID
	Key         string
	RequestHash string
}

// DecideRefund looks at the current (locked) payment and returns the
// amount a new refund of it holds, or an error that reserves nothing.
type DecideRefund func(p Payment) (int64, error)

// RefundOf decides a refund of amountCents of a payment, 0 meaning all
// that is left: only a succeeded payment is refundable
// (ErrNotRefundable), never beyond what is left (ErrOverRefund), and
// only in an amount its provider takes (ErrRefundUnpayable).
func RefundOf(amountCents int64) DecideRefund {
	return func(p Payment) (int64, error) {
		if p.Status != StatusSucceeded {
			return 0, ErrNotRefundable
		}
		left := p.AmountCents - p.RefundedCents
		amount := amountCents
		if amount == 0 {
			amount = left
		}
		// Compared with what is left, not summed: a huge amount must not
		// overflow into a small one.
		if amount <= 0 || amount > left {
			return 0, ErrOverRefund
		}
		if !contracts.Payable(p.Provider, p.Currency, amount) {
			return 0, ErrRefundUnpayable
		}
		return amount, nil
	}
}

// OnRefunded is what refund r of payment p publishes once it succeeded,
// at: payment.refunded, dated at, so that analytics rebuilt later still
// count the refund on its day.
func OnRefunded(p Payment, r Refund, at time.Time) []Event {
	return []Event{{Topic: TopicPaymentRefunded, Payload: contracts.PaymentRefundedV1{
		OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: p.IntentID,
		Status: RefundSucceeded, AmountCents: r.AmountCents, Currency: r.Currency, RefundedAt: at,
	}}}
}

// RefundRequest is an admin's request to refund a payment.
type RefundRequest struct {
	PaymentID uuid.UUID
	// AmountCents is what to give back; 0: all that is left.
	AmountCents int64
	// Key is the client's Idempotency-Key; RequestHash identifies the
	// request body, so a reused key with another body is refused.
	Key         string
	RequestHash string
}

// refundIDSpace namespaces the refund ids derived from idempotency keys.
var refundIDSpace = uuid.MustParse("3a7d5e62-9b1f-4c08-8e4d-2f6a1b9c0d73")

// RefundIDFor is the id of the refund an admin's request with key makes of
// paymentID. A key is scoped to its payment, not to the admin who sent
// it: it names one refund of that payment whoever retries it (the same
// admin with a fresh session, or another taking over a refund that timed
// out), and the same key sent for another payment is another refund.
func RefundIDFor(paymentID uuid.UUID, key string) uuid.UUID {
	return uuid.NewSHA1(refundIDSpace, []byte(paymentID.String()+"\x00"+key))
}

// Refund gives back part or (AmountCents 0) all that is left of a payment,
// once per idempotency key: a repeated request answers the refund as it
// was first answered, Replayed set, without asking the provider again. A
// retry of a request whose provider call failed or is still running
// resumes the same refund under the same provider idempotency key, so the
// money moves once. The amount is reserved before the provider is called,
// so concurrent refunds never add up to more than was paid. It returns
// ErrKeyReused for a key used with another body, ErrOverRefund,
// ErrNotRefundable, ErrPaymentNotFound, ErrRefundFailed when the provider
// refused it (its amount is released), and the provider's outage, which
// leaves the refund pending with its amount held until a retry or
// reconciliation settles it.
func (s *Service) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	r, reserved, err := s.store.ReserveRefund(ctx, RefundClaim{
		ID: RefundIDFor(req.PaymentID, req.Key), PaymentID: req.PaymentID, Key: req.Key, RequestHash: req.RequestHash,
	}, RefundOf(req.AmountCents))
	if err != nil {
		return Refund{}, err
	}
	if r.RequestHash != req.RequestHash {
		return Refund{}, ErrKeyReused
	}
	if r.AnsweredStatus != "" {
		r.Status, r.Replayed = r.AnsweredStatus, true
		return r, nil
	}
	if r, err = s.submitRefund(ctx, r, !reserved); err != nil {
		return Refund{}, err
	}
	if r.Status == RefundFailed {
		return Refund{}, ErrRefundFailed
	}
	return s.store.AnswerRefund(ctx, r.ID, r.Status)
}

// submitRefund asks the provider for the pending refund r and applies its
// answer. A refund that may have reached the provider already (resumed) is
// looked up there first: provider idempotency keys expire, a refund does
// not. A decided refund is returned as it is, a failed one as
// ErrRefundFailed.
func (s *Service) submitRefund(ctx context.Context, r Refund, resumed bool) (Refund, error) {
	switch r.Status {
	case RefundSucceeded:
		return r, nil
	case RefundFailed:
		return Refund{}, ErrRefundFailed
	}
	provider, err := s.via(r.Provider)
	if err != nil {
		return Refund{}, err
	}
	if resumed {
		pr, err := provider.FindRefund(ctx, r.ID, r.IntentID)
		if err == nil {
			return s.applyRefund(ctx, r, pr)
		}
		if !errors.Is(err, ErrNotFound) {
			return Refund{}, err
		}
	}
	pr, err := provider.Refund(ctx, r.ID, r.IntentID, r.AmountCents)
	if errors.Is(err, ErrProviderRefused) {
		if ferr := s.store.FailRefund(ctx, r.ID); ferr != nil {
			return Refund{}, fmt.Errorf("%w (and releasing it: %w)", err, ferr)
		}
		return Refund{}, fmt.Errorf("%w: %w", ErrRefundFailed, err)
	}
	if err != nil {
		return Refund{}, err
	}
	return s.applyRefund(ctx, r, pr)
}

// applyRefund records the provider's verdict on r; a refund the provider
// holds pending stays pending, its amount held, for reconciliation.
func (s *Service) applyRefund(ctx context.Context, r Refund, pr ProviderRefund) (Refund, error) {
	status, decided := pr.Verdict()
	switch {
	case !decided:
		return s.store.SubmitRefund(ctx, r.ID, pr.ID)
	case status == RefundSucceeded:
		return s.store.CompleteRefund(ctx, r.ID, pr.ID, OnRefunded)
	}
	if err := s.store.FailRefund(ctx, r.ID); err != nil {
		return Refund{}, err
	}
	return Refund{}, ErrRefundFailed
}

// refundNamespace derives refund ids from event ids.
var refundNamespace = uuid.MustParse("6f0b8f6e-3c1a-4f55-9a59-1c0f3f1e7a10")

// RefundOrder refunds in full the payment of a cancelled paid order (event
// eventID). The refund id is derived from the event id, so a redelivery
// resumes the same refund instead of starting another.
func (s *Service) RefundOrder(ctx context.Context, eventID string, orderID uuid.UUID) error {
	p, err := s.store.PaymentOfOrder(ctx, orderID)
	if err != nil {
		return err
	}
	return s.refundInFull(ctx, uuid.NewSHA1(refundNamespace, []byte(eventID)), p.ID)
}

// refundInFull refunds all that is left of a payment as refund id.
func (s *Service) refundInFull(ctx context.Context, id, paymentID uuid.UUID) error {
	r, reserved, err := s.store.ReserveRefund(ctx, RefundClaim{ID: id, PaymentID: paymentID}, RefundOf(0))
	if err != nil {
		return err
	}
	_, err = s.submitRefund(ctx, r, !reserved)
	return err
}

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)
