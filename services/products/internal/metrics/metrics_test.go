package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/metrics"
)

type holds struct {
	h    catalog.AbandonedHolds
	held catalog.Holds
	err  error
}

func (h holds) AbandonedHolds(context.Context) (catalog.AbandonedHolds, error) { return h.h, h.err }
func (h holds) HeldReservations(context.Context) (catalog.Holds, error)        { return h.held, h.err }

func TestReservationsAreCountedAtEachScrape(t *testing.T) {
	c := metrics.NewReservations(holds{
		h:    catalog.AbandonedHolds{Checkouts: 2, Units: 7},
		held: catalog.Holds{Reservations: 5, Units: 12},
	}, slog.New(slog.DiscardHandler))
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP stock_reservations_held Reservations holding stock until their order is paid (committed) or cancelled (released).
# TYPE stock_reservations_held gauge
stock_reservations_held{service="products"} 5
# HELP stock_units_reserved Units of stock held by reservations.
# TYPE stock_units_reserved gauge
stock_units_reserved{service="products"} 12
# HELP abandoned_checkouts Checkouts holding stock that placed no order within a minute of reserving it.
# TYPE abandoned_checkouts gauge
abandoned_checkouts{service="products"} 2
# HELP stock_held_by_abandoned_checkouts Units of stock held by abandoned checkouts until orders releases them, 15 minutes after they began.
# TYPE stock_held_by_abandoned_checkouts gauge
stock_held_by_abandoned_checkouts{service="products"} 7
`)))
}

func TestAnUnansweredScrapeReportsNothing(t *testing.T) {
	var logged bytes.Buffer
	c := metrics.NewReservations(holds{err: errors.New("connection refused")}, slog.New(slog.NewJSONHandler(&logged, nil)))
	assert.Equal(t, 0, testutil.CollectAndCount(c))
	assert.Contains(t, logged.String(), "connection refused")
}
