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

// MountReconcile serves the cron binding that daprd POSTs to route: each
// tick reconciles payments unsettled for longer than age. A failed run is
// logged and left to the next tick.
func MountReconcile(app fiber.Router, route string, r Reconciler, log *slog.Logger, age time.Duration, now func() time.Time) {
	app.Post(route, func(c *fiber.Ctx) error {
		settled, err := r.Reconcile(c.UserContext(), now(), age, reconcileBatch)
		if settled > 0 {
			log.InfoContext(c.UserContext(), "payments reconciled", "settled", settled)
		}
		if err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusOK)
	})
}
