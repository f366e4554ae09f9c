package payments

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reconcile re-reads from the provider the intents of up to limit payments
// unsettled for longer than age (a webhook lost, or stuck in processing)
// and settles those the provider has decided, as their webhook would have.
// An intent still processing, or awaiting its client, is left for a later
// run, which starts with the payments this one did not reach. It returns
// how many payments and refunds it settled; one intent failing to load does
// not stop the rest.
// The payment of a cancelled order is closed as its webhook or the
// cancellation would have: its intent cancelled, or what it took refunded.
// Refunds left pending (a provider outage or timeout, or a refund the
// provider holds pending) are settled too, see reconcileRefunds.
func (s *Service) Reconcile(ctx context.Context, now time.Time, age time.Duration, limit int) (int, error) {
	stale, err := s.store.ClaimUnsettled(ctx, now.Add(-age), now, limit)
	if err != nil {
		return 0, err
	}
	settled := 0
	var errs []error
	for _, p := range stale {
		intent, err := s.readIntent(ctx, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status, done := intent.Settled(); done {
			// A stable id per verdict: a second run, or the webhook arriving
			// later, finds the payment settled and changes nothing.
			eventID := fmt.Sprintf("reconcile:%s:%s", intent.ID, status)
			if p, err = s.applyVerdict(ctx, intent.ID, eventID, "reconcile", status, intent.FailureMessage); err != nil {
				errs = append(errs, err)
				continue
			}
			settled++
		}
		if p.OrderCancelled {
			if err := s.closeCancelled(ctx, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	refunds, err := s.reconcileRefunds(ctx, now, age, limit)
	return settled + refunds, errors.Join(append(errs, err)...)
}

// readIntent reads p's intent at its provider; one the customer approved
// (its webhook lost) is captured, as the webhook would have had it.
func (s *Service) readIntent(ctx context.Context, p Payment) (Intent, error) {
	provider, err := s.via(p.Provider)
	if err != nil {
		return Intent{}, err
	}
	intent, err := provider.Intent(ctx, p.IntentID)
	if err != nil || intent.Status != IntentAwaitingCapture {
		return intent, err
	}
	return s.capture(ctx, p)
}

// reconcileRefunds settles up to limit refunds pending for longer than
// age: each is looked up at the provider and, when the provider never
// made it, asked for again under the same idempotency key. A success
// publishes payment.refunded once; a failure or refusal releases the
// amount held. A refund still pending at the provider, or a provider
// still down, waits for a later run. It returns how many it settled.
func (s *Service) reconcileRefunds(ctx context.Context, now time.Time, age time.Duration, limit int) (int, error) {
	pending, err := s.store.ClaimPendingRefunds(ctx, now.Add(-age), now, limit)
	if err != nil {
		return 0, err
	}
	settled := 0
	var errs []error
	for _, r := range pending {
		r, err := s.submitRefund(ctx, r, true)
		switch {
		case errors.Is(err, ErrRefundFailed):
			settled++
		case err != nil:
			errs = append(errs, err)
		case r.Status != RefundPending:
			settled++
		}
	}
	return settled, errors.Join(errs...)
}
