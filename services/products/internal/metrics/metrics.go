// Package metrics exports the catalog's own gauges to Prometheus.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// scrapeTimeout bounds the database reads behind a scrape.
const scrapeTimeout = 2 * time.Second

// Holds sums the stock reservations hold.
type Holds interface {
	AbandonedHolds(ctx context.Context) (catalog.AbandonedHolds, error)
	HeldReservations(ctx context.Context) (catalog.Holds, error)
}

// Reservations is a prometheus.Collector of the reservations holding
// stock and their units, and of the part of them made by checkouts that
// placed no order (see catalog.AbandonedAfter).
type Reservations struct {
	holds     Holds
	log       *slog.Logger
	held      *prometheus.Desc
	heldUnits *prometheus.Desc
	checkouts *prometheus.Desc
	units     *prometheus.Desc
}

// NewReservations returns the collector reading holds; log records a
// scrape the database did not answer.
func NewReservations(holds Holds, log *slog.Logger) *Reservations {
	labels := prometheus.Labels{"service": "products"}
	return &Reservations{
		holds: holds, log: log,
		held: prometheus.NewDesc("stock_reservations_held",
			"Reservations holding stock until their order is paid (committed) or cancelled (released).", nil, labels),
		heldUnits: prometheus.NewDesc("stock_units_reserved",
			"Units of stock held by reservations.", nil, labels),
		checkouts: prometheus.NewDesc("abandoned_checkouts",
			"Checkouts holding stock that placed no order within a minute of reserving it.", nil, labels),
		units: prometheus.NewDesc("stock_held_by_abandoned_checkouts",
			"Units of stock held by abandoned checkouts until orders releases them, 15 minutes after they began.", nil, labels),
	}
}

// Describe implements prometheus.Collector.
func (r *Reservations) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.held
	ch <- r.heldUnits
	ch <- r.checkouts
	ch <- r.units
}

// Collect implements prometheus.Collector. The holds are summed in the
// database at each scrape, so every replica reports the same truth. A sum
// the database does not answer is left out: absent, not zero.
func (r *Reservations) Collect(ch chan<- prometheus.Metric) {
	// Collect is given no context: the scrape's own bound is this one.
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if h, err := r.holds.HeldReservations(ctx); err != nil {
		r.log.WarnContext(ctx, "held reservations not counted", "err", err)
	} else {
		ch <- prometheus.MustNewConstMetric(r.held, prometheus.GaugeValue, float64(h.Reservations))
		ch <- prometheus.MustNewConstMetric(r.heldUnits, prometheus.GaugeValue, float64(h.Units))
	}
	if h, err := r.holds.AbandonedHolds(ctx); err != nil {
		r.log.WarnContext(ctx, "abandoned checkouts not counted", "err", err)
	} else {
		ch <- prometheus.MustNewConstMetric(r.checkouts, prometheus.GaugeValue, float64(h.Checkouts))
		ch <- prometheus.MustNewConstMetric(r.units, prometheus.GaugeValue, float64(h.Units))
	}
}
