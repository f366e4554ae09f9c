package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Read loads, in the order they run in each round.
const (
	loadFloor   = "floor"
	loadProduct = "product"
	loadList    = "list"
	// The same reads with Cache-Control: no-cache, which the gateway's
	// microcache passes to the service: the whole trip through both
	// sidecars, what the floor compares with.
	loadProductUncached = "product, uncached"
	loadListUncached    = "list, uncached"
	loadOrder           = "order (auth)"
	loadPaid            = "checkout → paid"
)

var readLoads = []string{loadFloor, loadProduct, loadProductUncached, loadList, loadListUncached, loadOrder}

// report is everything a run measured.
type report struct {
	reads       map[string][]result // by load, one per round
	checkout    *checkoutResult
	checkoutErr error
	cpu         map[string]map[string]float64 // load → role → CPU ms
	done        map[string]int                // load → successful requests (paid orders for the checkout)
	rss         map[string]group              // after the loads
	// PostgreSQL's activity around the checkout load.
	pgBefore, pgAfter map[string]dbActivity
	// Outbox commit → consumer, during the checkout load and during the
	// same load at half its pace.
	deliveries        []delivery
	deliveriesMissing int
	deliveriesErr     error
	paced             *checkoutResult
	pacedDeliveries   []delivery
	pacedMissing      int
	pacedErr          error
}

// measure runs the loads and reads the kernel's accounting around each.
func measure(ctx context.Context, s settings, sys *system, fl *floor, sh *shop, fx *fixture, prof *profiler, out io.Writer) *report {
	known := map[int]string{
		sys.runner.Process.Pid: "runner", os.Getpid(): "load generator",
		fl.app.Process.Pid: "floor app", fl.sidecar.Process.Pid: "floor sidecar", fl.client.Process.Pid: "floor client sidecar",
	}
	targets := map[string]func(time.Duration) result{}
	floorHeader := http.Header{"dapr-app-id": {"floor"}, "dapr-api-token": {sys.env["DAPR_API_TOKEN"]}}
	read := func(name, url string, header http.Header) {
		targets[name] = func(d time.Duration) result {
			return attack(name, repeat(http.MethodGet, url, header), loadOptions{workers: s.workers, duration: d})
		}
	}
	read(loadFloor, floorURL, floorHeader)
	read(loadProduct, gatewayURL+"/api/v1/products/"+fx.productID, nil)
	read(loadList, gatewayURL+"/api/v1/products", nil)
	uncached := http.Header{"Cache-Control": {"no-cache"}}
	read(loadProductUncached, gatewayURL+"/api/v1/products/"+fx.productID, uncached)
	read(loadListUncached, gatewayURL+"/api/v1/products", uncached)
	read(loadOrder, gatewayURL+"/api/v1/orders/"+fx.order.id, http.Header{"Authorization": {fx.order.auth}})

	rep := &report{reads: map[string][]result{}, cpu: map[string]map[string]float64{}, done: map[string]int{}}
	account := func(load string, before, after map[string]group, done int) {
		if rep.cpu[load] == nil {
			rep.cpu[load] = map[string]float64{}
		}
		for _, c := range costs(before, after) {
			rep.cpu[load][c.name] += c.cpuMs
		}
		rep.done[load] += done
	}
	// Warm up connections and caches before anything counts.
	for _, name := range readLoads {
		targets[name](min(s.duration/4, time.Second))
	}
	for round := 1; round <= s.rounds && ctx.Err() == nil; round++ {
		for _, name := range readLoads {
			if ctx.Err() != nil {
				break
			}
			before := snapshot("/proc", known)
			profiled := prof.during(fmt.Sprintf("%s-%d", name, round), s.duration)
			r := targets[name](s.duration)
			if err := profiled(); err != nil {
				fmt.Fprintln(out, "profiling:", err)
			}
			account(name, before, snapshot("/proc", known), r.requests-r.failed)
			rep.reads[name] = append(rep.reads[name], r)
			fmt.Fprintf(out, "round %d %-17s %8.0f req/s  p50 %-9s p99 %-9s failed %d\n", round, name, r.rps, ms(r.p50), ms(r.p99), r.failed)
		}
	}
	// Two thirds of the carts for the closed load, the rest for the paced one.
	full, paced := fx.carts[:len(fx.carts)*2/3], fx.carts[len(fx.carts)*2/3:]
	if ctx.Err() == nil {
		// Backends flush their counters about once a second: the read
		// loads' must land before the checkout's first reading.
		time.Sleep(1500 * time.Millisecond)
		pgBefore, _ := pgActivity()
		before := snapshot("/proc", known)
		profiled := prof.during(loadPaid, s.checkoutDuration)
		c, err := sh.checkoutLoad(full, loadOptions{workers: s.checkoutWorkers, duration: s.checkoutDuration})
		if err := profiled(); err != nil {
			fmt.Fprintln(out, "profiling:", err)
		}
		rep.checkout, rep.checkoutErr = &c, err
		if err == nil {
			account(loadPaid, before, snapshot("/proc", known), c.paid)
			// Backends flush their counters about once a second.
			time.Sleep(1500 * time.Millisecond)
			rep.pgBefore = pgBefore
			rep.pgAfter, _ = pgActivity()
			fmt.Fprintf(out, "checkout       %8.1f paid/s   checkout p50 %s p99 %s, failed %d\n", c.paidPerSecond, ms(c.p50), ms(c.p99), c.failed)
			rep.deliveries, rep.deliveriesMissing, rep.deliveriesErr = eventDelays(ctx, c.start, c.end, 30*time.Second)
		}
	}
	if rep.checkoutErr == nil && ctx.Err() == nil {
		// The same saga at half the pace the closed load reached: the
		// outbox's delay when the system is not saturated.
		rate := rep.checkout.paidPerSecond / 2
		c, err := sh.checkoutLoad(paced, loadOptions{workers: s.checkoutWorkers, duration: s.checkoutDuration, perSecond: rate})
		rep.paced, rep.pacedErr = &c, err
		if err == nil {
			fmt.Fprintf(out, "checkout at %.0f/s: %.1f paid/s   checkout p50 %s p99 %s, failed %d\n", rate, c.paidPerSecond, ms(c.p50), ms(c.p99), c.failed)
			rep.pacedDeliveries, rep.pacedMissing, rep.pacedErr = eventDelays(ctx, c.start, c.end, 30*time.Second)
		}
	}
	rep.rss = snapshot("/proc", known)
	return rep
}

// err says whether the run proved anything: every request of every load
// answered as it should.
func (r *report) err() error {
	var errs []error
	for _, name := range readLoads {
		if len(r.reads[name]) == 0 {
			errs = append(errs, fmt.Errorf("%s: not run", name))
		}
		for i, res := range r.reads[name] {
			if res.failed > 0 || res.requests == 0 {
				errs = append(errs, fmt.Errorf("%s, round %d: %d of %d requests failed (%v): %s",
					name, i+1, res.failed, res.requests, res.statusSet, strings.Join(first(res.errs, 3), "; ")))
			}
		}
	}
	switch {
	case r.checkoutErr != nil:
		errs = append(errs, r.checkoutErr)
	case r.checkout == nil:
		errs = append(errs, errors.New("checkout: not run"))
	case r.checkout.failed > 0:
		errs = append(errs, fmt.Errorf("checkout: %d of %d requests failed (%v): %s",
			r.checkout.failed, r.checkout.requests, r.checkout.statusSet, strings.Join(first(r.checkout.errs, 3), "; ")))
	}
	switch {
	case r.pacedErr != nil:
		errs = append(errs, fmt.Errorf("paced checkout: %w", r.pacedErr))
	case r.paced == nil:
		errs = append(errs, errors.New("paced checkout: not run"))
	case r.paced.failed > 0:
		errs = append(errs, fmt.Errorf("paced checkout: %d of %d requests failed (%v)", r.paced.failed, r.paced.requests, r.paced.statusSet))
	case len(r.pacedDeliveries) == 0:
		errs = append(errs, errors.New("paced checkout: no event delivery recorded"))
	}
	if r.deliveriesErr != nil {
		errs = append(errs, fmt.Errorf("event deliveries: %w", r.deliveriesErr))
	}
	return errors.Join(errs...)
}

// systemMemory is the resident memory of the shop's apps and sidecars,
// KiB: summed RSS, and summed PSS.
func (r *report) systemMemory() (rss, pss int64) {
	for _, g := range r.rss {
		if g.system {
			rss += g.rssKiB
			pss += g.pssKiB
		}
	}
	return rss, pss
}

func (r *report) print(w io.Writer, s settings) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w)
	fmt.Fprintf(tw, "load\tround\trequests\treq/s\tp50 ms\tp99 ms\t× floor req/s\t× floor p99\tgoal\t\n")
	for _, name := range readLoads {
		for i, res := range r.reads[name] {
			fl := r.reads[loadFloor][i]
			ratio, p99 := res.rps/fl.rps, float64(res.p99)/float64(fl.p99)
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%.2f\t%.2f\t%s\t\n", name, i+1, res.requests, res.rps,
				ms(res.p50), ms(res.p99), ratio, p99, readGoal(name, ratio, p99))
		}
	}
	if c := r.checkout; c != nil && r.checkoutErr == nil {
		want := 80.0
		if s.checkoutBaseline > 0 {
			want = 3 * s.checkoutBaseline
		}
		fmt.Fprintf(tw, "%s\t\t%d\t%.1f paid/s\t%s\t%s\t\t\t%s\t\n", loadPaid, c.paid, c.paidPerSecond,
			ms(c.p50), ms(c.p99), verdict(c.paidPerSecond >= want, fmt.Sprintf("≥ %.0f paid/s", want)))
		fmt.Fprintf(tw, "  order created → paid\t\t\t\t%s\t%s\t\t\t\t\n", ms(c.toPaid50), ms(c.toPaid99))
	}
	if c := r.paced; c != nil && r.pacedErr == nil {
		fmt.Fprintf(tw, "%s, half pace\t\t%d\t%.1f paid/s\t%s\t%s\t\t\t%s\t\n", loadPaid, c.paid, c.paidPerSecond,
			ms(c.p50), ms(c.p99), verdict(c.p99 <= 150*time.Millisecond, "checkout p99 ≤ 150 ms"))
		p99 := deliveryP99(r.pacedDeliveries)
		fmt.Fprintf(tw, "  outbox commit → consumer\t\t%d\t\t\t%s\t\t\t%s\t\n", len(r.pacedDeliveries),
			ms(p99), verdict(p99 <= 50*time.Millisecond && r.pacedMissing == 0, "p99 ≤ 50 ms"))
	}
	tw.Flush()
	rss, pss := r.systemMemory()
	fmt.Fprintf(w, "\napps + sidecars RSS after the loads: %.0f MiB  %s; PSS (shared pages counted once): %.0f MiB\n",
		float64(rss)/1024, verdict(rss <= 1<<20, "≤ 1024 MiB"), float64(pss)/1024)

	loads := slices.Concat(readLoads, []string{loadPaid})
	fmt.Fprintf(w, "\nCPU ms per request (per paid order for checkout), from /proc/<pid>/stat utime+stime:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "process\t")
	for _, l := range loads {
		fmt.Fprintf(tw, "%s\t", l)
	}
	fmt.Fprintf(tw, "RSS MiB\t\n")
	total := map[string]float64{}
	for _, role := range r.roles() {
		fmt.Fprintf(tw, "%s\t", role)
		for _, l := range loads {
			if r.done[l] == 0 {
				fmt.Fprintf(tw, "—\t")
				continue
			}
			per := r.cpu[l][role] / float64(r.done[l])
			total[l] += per
			fmt.Fprintf(tw, "%.3f\t", per)
		}
		fmt.Fprintf(tw, "%.0f\t\n", float64(r.rss[role].rssKiB)/1024)
	}
	fmt.Fprintf(tw, "total\t")
	for _, l := range loads {
		fmt.Fprintf(tw, "%.3f\t", total[l])
	}
	fmt.Fprintf(tw, "\t\n")
	tw.Flush()
	if r.checkout != nil {
		printActivity(w, "paid order", r.pgBefore, r.pgAfter, r.checkout.paid)
	}
	printDeliveries(w, "checkout load", r.deliveries, r.deliveriesMissing)
	printDeliveries(w, "checkout load at half pace", r.pacedDeliveries, r.pacedMissing)
}

// roles lists every process role seen, the costliest over all loads first.
func (r *report) roles() []string {
	sum := map[string]float64{}
	for l, byRole := range r.cpu {
		for role, v := range byRole {
			if r.done[l] > 0 {
				sum[role] += v / float64(r.done[l])
			}
		}
	}
	for role := range r.rss {
		if _, ok := sum[role]; !ok {
			sum[role] = 0
		}
	}
	roles := make([]string, 0, len(sum))
	for role := range sum {
		roles = append(roles, role)
	}
	slices.SortFunc(roles, func(a, b string) int {
		switch {
		case sum[a] > sum[b]:
			return -1
		case sum[a] < sum[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
	return roles
}

// readGoal is the goal of issue 14 for a read load.
func readGoal(name string, ratio, p99 float64) string {
	switch name {
	case loadProduct, loadList:
		return verdict(ratio >= 0.8 && p99 <= 1.5, "≥ 0.8×, p99 ≤ 1.5×")
	case loadOrder:
		return verdict(ratio >= 0.6, "≥ 0.6×")
	}
	return ""
}

func verdict(ok bool, goal string) string {
	if ok {
		return "met (" + goal + ")"
	}
	return "MISSED (" + goal + ")"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
