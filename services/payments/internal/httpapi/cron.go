package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Reconciler settles payments whose verdict never arrived by webhook, and
// refunds left pending.
type Reconciler interface {
	Reconcile(ctx context.Context, now time.Time, age time.Duration, limit int) (int, error)
}

// reconcileBatch bounds one run; the next tick takes the rest.
const reconcileBatch = 100

var errOlderThan = apperr.Validation(apperr.FieldError{Field: "older_than", Message: "must be a duration of zero or more, such as 30s"})

// MountReconcile serves contracts.ReconcilePaymentsPath, invoked by the
// workers' scheduled job through Dapr (the gateway does not route it):
// each run settles payments and refunds unsettled for longer than age and
// answers how many. The query parameter older_than (a duration such as
// 30s; 422 when invalid) replaces age for one run, for operators who
// cannot wait and for tests. A failed run is left to the next one.
func MountReconcile(app fiber.Router, r Reconciler, log *slog.Logger, age time.Duration, now func() time.Time) {
	app.Post(contracts.ReconcilePaymentsPath, server.OnlyCallers(contracts.ReconcilePaymentsCaller), func(c *fiber.Ctx) error {
		olderThan := age
		if v := c.Query("older_than"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errOlderThan
			}
			olderThan = d
		}
		settled, err := r.Reconcile(c.UserContext(), now(), olderThan, reconcileBatch)
		if settled > 0 {
			log.InfoContext(c.UserContext(), "payments reconciled", "settled", settled)
		}
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"settled": settled})
	})
}
