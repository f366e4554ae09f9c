package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Reconciler settles payments whose verdict never arrived by webhook.
type Reconciler interface {
	Reconcile(ctx context.Context, now time.Time, age time.Duration, limit int) (int, error)
}

// reconcileBatch bounds one run; the next tick takes the rest.
const reconcileBatch = 100

// ReconcilePath runs one reconciliation. The workers' scheduled job
// invokes it through Dapr; the gateway does not route it.
const ReconcilePath = "/internal/payments/reconcile"

// MountReconcile serves ReconcilePath: each run settles payments unsettled
// for longer than age and answers how many. A failed run is left to the
// next one.
func MountReconcile(app fiber.Router, r Reconciler, log *slog.Logger, age time.Duration, now func() time.Time) {
	app.Post(ReconcilePath, func(c *fiber.Ctx) error {
		settled, err := r.Reconcile(c.UserContext(), now(), age, reconcileBatch)
		if settled > 0 {
			log.InfoContext(c.UserContext(), "payments reconciled", "settled", settled)
		}
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"settled": settled})
	})
}
