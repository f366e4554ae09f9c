package events

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a delivery, as Dapr is answered: SUCCESS, RETRY, DROP.
const (
	outcomeProcessed = "processed"
	outcomeRetried   = "retried"
	outcomeDropped   = "dropped"
)

// outcome is what Dapr is told about a handler's result.
func outcome(err error) string {
	var drop dropError
	switch {
	case err == nil:
		return outcomeProcessed
	case errors.As(err, &drop):
		return outcomeDropped
	default:
		return outcomeRetried
	}
}

// Handled is a prometheus.Collector counting a consumer's deliveries by
// topic and outcome: processed, retried (Dapr delivers again) or dropped
// (to the dead-letter topic). A redelivered event counts each time.
type Handled struct {
	deliveries *prometheus.CounterVec
}

// NewHandled returns the counter of service's consumers of subs, every
// topic and outcome at zero from the start so that rates see the first one.
func NewHandled(service string, subs ...Subscription) *Handled {
	h := &Handled{deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "events_handled_total",
		Help:        "Event deliveries handled, by topic and outcome (processed, retried, dropped).",
		ConstLabels: prometheus.Labels{"service": service},
	}, []string{"topic", "outcome"})}
	for _, s := range subs {
		for _, o := range []string{outcomeProcessed, outcomeRetried, outcomeDropped} {
			h.deliveries.WithLabelValues(s.Topic, o)
		}
	}
	return h
}

// Count returns subs with handlers that count each delivery's outcome.
func (h *Handled) Count(subs ...Subscription) []Subscription {
	out := make([]Subscription, len(subs))
	for i, s := range subs {
		next, topic := s.Handler, s.Topic
		s.Handler = func(ctx context.Context, e Event) error {
			err := next(ctx, e)
			h.deliveries.WithLabelValues(topic, outcome(err)).Inc()
			return err
		}
		out[i] = s
	}
	return out
}

// Describe implements prometheus.Collector.
func (h *Handled) Describe(ch chan<- *prometheus.Desc) { h.deliveries.Describe(ch) }

// Collect implements prometheus.Collector.
func (h *Handled) Collect(ch chan<- prometheus.Metric) { h.deliveries.Collect(ch) }
