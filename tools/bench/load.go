package main

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// result is what one load reports.
type result struct {
	name      string
	requests  int
	failed    int
	rps       float64 // successful requests per second
	p50, p99  time.Duration
	errs      []string
	bodies    [][]byte // successful answers' bodies, when kept
	took      time.Duration
	statusSet map[string]int
}

// loadOptions shape one load: workers request back to back (a closed
// model, like wrk's connections) for duration or until the targets run
// out; with a rate, at most workers requests are in flight at that pace.
type loadOptions struct {
	workers    int
	duration   time.Duration
	keepBodies bool
	perSecond  float64 // 0: no pacing
}

// attack runs one load of targets with vegeta.
func attack(name string, targets vegeta.Targeter, o loadOptions) result {
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(uint64(o.workers)), vegeta.MaxWorkers(uint64(o.workers)),
		vegeta.Connections(o.workers), vegeta.KeepAlive(true), vegeta.Timeout(30 * time.Second),
		vegeta.Redirects(vegeta.NoFollow),
	}
	if !o.keepBodies {
		opts = append(opts, vegeta.MaxBody(0))
	}
	atk := vegeta.NewAttacker(opts...)
	var m vegeta.Metrics
	r := result{name: name}
	// Rate zero: no pacing, each worker sends its next request as soon as
	// its last one is answered.
	pacer := vegeta.ConstantPacer{}
	if o.perSecond > 0 {
		pacer = vegeta.ConstantPacer{Freq: int(o.perSecond + 0.5), Per: time.Second}
	}
	for res := range atk.Attack(targets, pacer, o.duration, name) {
		if res.Error == vegeta.ErrNoTargets.Error() && res.Code == 0 {
			continue // the targeter ran dry: the end of a finite load, not a request
		}
		m.Add(res)
		if res.Error == "" && o.keepBodies {
			r.bodies = append(r.bodies, res.Body)
		}
	}
	m.Close()
	r.requests = int(m.Requests)
	r.failed = int(m.Requests) - int(m.Success*float64(m.Requests)+0.5)
	r.rps = m.Throughput
	r.p50, r.p99 = m.Latencies.P50, m.Latencies.P99
	r.errs = m.Errors
	r.took = m.Duration + m.Wait
	r.statusSet = m.StatusCodes
	return r
}

// repeat is a targeter that sends the same request for ever.
func repeat(method, url string, header http.Header) vegeta.Targeter {
	return vegeta.NewStaticTargeter(vegeta.Target{Method: method, URL: url, Header: header})
}

// each is a targeter that sends each of targets once, then runs dry.
func each(targets []vegeta.Target) vegeta.Targeter {
	var mu sync.Mutex
	i := 0
	return func(t *vegeta.Target) error {
		mu.Lock()
		defer mu.Unlock()
		if i == len(targets) {
			return vegeta.ErrNoTargets
		}
		*t = targets[i]
		i++
		return nil
	}
}

// mustAll runs a load that prepares data: every request must succeed.
func mustAll(name string, targets []vegeta.Target, workers int) (result, error) {
	r := attack(name, each(targets), loadOptions{workers: workers, keepBodies: true})
	if r.failed > 0 || r.requests != len(targets) {
		return r, fmt.Errorf("%s: %d of %d requests failed (%v): %s", name, r.failed, len(targets), r.statusSet, strings.Join(first(r.errs, 3), "; "))
	}
	return r, nil
}

func first[T any](s []T, n int) []T { return s[:min(n, len(s))] }

// percentile is the p-th quantile (0..1) of sorted ds, by nearest rank:
// the smallest value that at least p of them do not exceed.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[max(int(math.Ceil(p*float64(len(ds))))-1, 0)]
}

func sortedDurations(ds []time.Duration) []time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds
}

var errNoSuccess = errors.New("no request succeeded")
