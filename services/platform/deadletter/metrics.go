package deadletter

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the count of unresolved letters read at a scrape.
const scrapeTimeout = 2 * time.Second

func receivedCounter(app string, topics []string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "dead_letters_received_total",
		Help:        "Events dead-lettered after their consumer dropped them or spent its retries, by the topic they were published on.",
		ConstLabels: prometheus.Labels{"service": app},
	}, []string{"topic"})
	// Every subscribed topic reports from the start, zero included, so
	// that rates see the first letter as a change.
	for _, t := range topics {
		c.WithLabelValues(t)
	}
	return c
}

func unresolvedDesc(app string) *prometheus.Desc {
	return prometheus.NewDesc("dead_letters_unresolved",
		"Dead letters no replay has applied yet, by the topic they were published on.",
		[]string{"topic"}, prometheus.Labels{"service": app})
}

// Describe implements prometheus.Collector.
func (l *Letters) Describe(ch chan<- *prometheus.Desc) {
	l.received.Describe(ch)
	ch <- l.unresolved
}

// Collect implements prometheus.Collector. The unresolved letters are
// counted in the database at each scrape, so every replica reports the
// same truth whichever of them recorded or replayed a letter. A database
// that does not answer leaves that count out: absent, not zero.
func (l *Letters) Collect(ch chan<- prometheus.Metric) {
	l.received.Collect(ch)
	// Collect is given no context: the scrape's own bound is this one.
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := l.store.UnresolvedByTopic(ctx)
	if err != nil {
		l.log.WarnContext(ctx, "dead letters not counted", "err", err)
		return
	}
	for topic := range l.handlers {
		if _, ok := counts[topic]; !ok {
			counts[topic] = 0
		}
	}
	for topic, n := range counts {
		ch <- prometheus.MustNewConstMetric(l.unresolved, prometheus.GaugeValue, float64(n), topic)
	}
}
