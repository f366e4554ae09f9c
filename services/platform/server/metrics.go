package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is a service's own Prometheus registry with the HTTP metrics every
// service exports. Services register their domain metrics on Registry.
type Metrics struct {
	Registry *prometheus.Registry
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics creates the registry for service, with Go and process metrics.
func NewMetrics(service string) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "http_request_duration_seconds",
			Help:        "Time to serve an HTTP request, by method, matched route and status.",
			ConstLabels: prometheus.Labels{"service": service},
			Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "http_requests_in_flight",
			Help:        "HTTP requests being served.",
			ConstLabels: prometheus.Labels{"service": service},
		}),
	}
	m.Registry.MustRegister(m.duration, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) middleware(c *fiber.Ctx) error {
	m.inFlight.Inc()
	defer m.inFlight.Dec()
	start := time.Now()
	err := c.Next()
	// The route pattern, not the path, keeps label cardinality bounded.
	route := c.Route().Path
	if c.Response().StatusCode() == fiber.StatusNotFound && route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	// The registry keeps label values: copy the method out of Fiber's
	// request buffer, which the next request overwrites.
	method := strings.Clone(c.Method())
	m.duration.WithLabelValues(method, route, strconv.Itoa(c.Response().StatusCode())).
		Observe(time.Since(start).Seconds())
	return err
}

func (m *Metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}
