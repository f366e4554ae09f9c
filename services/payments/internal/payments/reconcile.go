package payments

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReconcileStore is what reconciliation needs from storage.
type ReconcileStore interface {
	// ClaimUnsettled returns up to limit payments still pending or
	// processing that have not changed since before, those looked at least
	// recently first, and records at as their last look. OrderCancelled
	// and CancelReason are set.
	ClaimUnsettled(ctx context.Context, before, at time.Time, limit int) ([]Payment, error)
}

// Reconcile re-reads from the provider the intents of up to limit payments
// unsettled for longer than age (a webhook lost, or stuck in processing)
// and settles those the provider has decided, as their webhook would have.
// An intent still processing, or awaiting its client, is left for a later
// run, which starts with the payments this one did not reach. It returns
// how many it settled; one intent failing to load does not stop the rest.
// The payment of a cancelled order is closed as its webhook or the
// cancellation would have: its intent cancelled, or what it took refunded.
func (s *Service) Reconcile(ctx context.Context, now time.Time, age time.Duration, limit int) (int, error) {
	stale, err := s.reconcile.ClaimUnsettled(ctx, now.Add(-age), now, limit)
	if err != nil {
		return 0, err
	}
	settled := 0
	var errs []error
	for _, p := range stale {
		intent, err := s.provider.Intent(ctx, p.IntentID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status, done := intent.Settled(); done {
			// A stable id per verdict: a second run, or the webhook arriving
			// later, finds the payment settled and changes nothing.
			eventID := fmt.Sprintf("reconcile:%s:%s", intent.ID, status)
			if p, err = s.store.Settle(ctx, eventID, "reconcile", intent.ID, status, intent.FailureMessage, s.taxBPS); err != nil {
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
	return settled, errors.Join(errs...)
}
