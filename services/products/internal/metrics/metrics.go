// Package metrics exports the catalog's own gauges to Prometheus.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// scrapeTimeout bounds the database read behind a scrape.
const scrapeTimeout = 2 * time.Second

// Holds sums the stock held for abandoned checkouts.
type Holds interface {
	AbandonedHolds(ctx context.Context) (catalog.AbandonedHolds, error)
}

// AbandonedCheckouts is a prometheus.Collector of the checkouts that
// reserved stock and placed no order (see catalog.AbandonedAfter), and of
// the units they hold until orders gives them back.
type AbandonedCheckouts struct {
	holds     Holds
	log       *slog.Logger
	checkouts *prometheus.Desc
	units     *prometheus.Desc
}

// NewAbandonedCheckouts returns the collector reading holds; log records
// a scrape the database did not answer.
func NewAbandonedCheckouts(holds Holds, log *slog.Logger) *AbandonedCheckouts {
	labels := prometheus.Labels{"service": "products"}
	return &AbandonedCheckouts{
		holds: holds, log: log,
		checkouts: prometheus.NewDesc("abandoned_checkouts",
			"Checkouts holding stock that placed no order within a minute of reserving it.", nil, labels),
		units: prometheus.NewDesc("stock_held_by_abandoned_checkouts",
			"Units of stock held by abandoned checkouts until orders releases them, 15 minutes after they began.", nil, labels),
	}
}

// Describe implements prometheus.Collector.
func (a *AbandonedCheckouts) Describe(ch chan<- *prometheus.Desc) {
	ch <- a.checkouts
	ch <- a.units
}

// Collect implements prometheus.Collector. The holds are summed in the
// database at each scrape, so every replica reports the same truth. A
// database that does not answer leaves both out: absent, not zero.
func (a *AbandonedCheckouts) Collect(ch chan<- prometheus.Metric) {
	// Collect is given no context: the scrape's own bound is this one.
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	h, err := a.holds.AbandonedHolds(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "abandoned checkouts not counted", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(a.checkouts, prometheus.GaugeValue, float64(h.Checkouts))
	ch <- prometheus.MustNewConstMetric(a.units, prometheus.GaugeValue, float64(h.Units))
}
