package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// eventDatabases are the services' databases, which may hold an outbox
// (events produced) and processed_events (events consumed); workers' is
// analytics.
var eventDatabases = []string{"auth", "products", "orders", "payments", "notifications", "analytics"}

// delivery is one event reaching one consumer: from the producer's
// transaction that committed it to its outbox to the consumer's transaction
// that recorded it as processed. Both are now() of one PostgreSQL server,
// so one clock; the span holds the relay, the broker and both sidecars.
type delivery struct {
	topic, consumer string
	delay           time.Duration
}

type outboxRow struct {
	ID, Topic string
	Created   time.Time
}

type processedRow struct {
	Consumer, EventID string
	Processed         time.Time
}

// eventDelays reads every event committed to an outbox between from and to and
// every consumer's record of it. Consumers record an event some time after
// its commit, so it polls until each (topic, consumer) pair that recorded
// any of the window's events has recorded all of them of that topic, or
// until wait runs out (then it returns what arrived, and how many did not).
func eventDelays(ctx context.Context, from, to time.Time, wait time.Duration) (_ []delivery, missing int, _ error) {
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	dbs := map[string]*pgx.Conn{}
	defer func() {
		for _, c := range dbs {
			c.Close(context.Background())
		}
	}()
	for _, db := range eventDatabases {
		c, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/"+dbPrefix+db+"?sslmode=disable")
		if err != nil {
			return nil, 0, err
		}
		dbs[db] = c
	}
	var events []outboxRow
	for _, db := range eventDatabases {
		rows, _ := dbs[db].Query(ctx, `SELECT event_id::text, topic, created_at FROM outbox
			WHERE created_at BETWEEN $1 AND $2`, from, to)
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[outboxRow])
		if isUndefinedTable(err) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s outbox: %w", db, err)
		}
		events = append(events, got...)
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	deadline := time.Now().Add(wait)
	for {
		var recorded []processedRow
		for _, db := range eventDatabases {
			rows, _ := dbs[db].Query(ctx, `SELECT consumer, event_id, processed_at FROM processed_events
				WHERE event_id = ANY($1)`, ids)
			got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[processedRow])
			if isUndefinedTable(err) {
				continue
			}
			if err != nil {
				return nil, 0, fmt.Errorf("%s processed events: %w", db, err)
			}
			recorded = append(recorded, got...)
		}
		out, missing := pairDeliveries(events, recorded)
		if missing == 0 || time.Now().After(deadline) {
			return out, missing, nil
		}
		select {
		case <-ctx.Done():
			return out, missing, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// pairDeliveries joins the events with the consumers' records, and counts
// the records still missing: an event of a topic that its consumer has
// recorded for other events of the window.
func pairDeliveries(events []outboxRow, recorded []processedRow) ([]delivery, int) {
	byID := make(map[string]outboxRow, len(events))
	perTopic := map[string]int{}
	for _, e := range events {
		byID[e.ID] = e
		perTopic[e.Topic]++
	}
	type pair struct{ topic, consumer string }
	seen := map[pair]int{}
	var out []delivery
	for _, r := range recorded {
		e, ok := byID[r.EventID]
		if !ok {
			continue
		}
		seen[pair{e.Topic, r.Consumer}]++
		out = append(out, delivery{topic: e.Topic, consumer: r.Consumer, delay: r.Processed.Sub(e.Created)})
	}
	missing := 0
	for p, n := range seen {
		missing += perTopic[p.topic] - n
	}
	return out, missing
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

// printDeliveries writes the commit → consumer delays of a load: all
// deliveries, then per topic and consumer.
func printDeliveries(w io.Writer, what string, ds []delivery, missing int) {
	if len(ds) == 0 {
		return
	}
	fmt.Fprintf(w, "\noutbox commit → consumer, %s (%d deliveries", what, len(ds))
	if missing > 0 {
		fmt.Fprintf(w, ", %d not recorded in time", missing)
	}
	fmt.Fprintln(w, "):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "topic\tconsumer\tdeliveries\tp50 ms\tp99 ms\t\n")
	all := make([]time.Duration, len(ds))
	groups := map[[2]string][]time.Duration{}
	for i, d := range ds {
		all[i] = d.delay
		k := [2]string{d.topic, d.consumer}
		groups[k] = append(groups[k], d.delay)
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		s := sortedDurations(groups[k])
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", k[0], k[1], len(s), ms(percentile(s, 0.5)), ms(percentile(s, 0.99)))
	}
	s := sortedDurations(all)
	fmt.Fprintf(tw, "all\t\t%d\t%s\t%s\t\n", len(s), ms(percentile(s, 0.5)), ms(percentile(s, 0.99)))
	tw.Flush()
}

// deliveryP99 is the 99th percentile of every delivery's delay.
func deliveryP99(ds []delivery) time.Duration {
	all := make([]time.Duration, len(ds))
	for i, d := range ds {
		all[i] = d.delay
	}
	return percentile(sortedDurations(all), 0.99)
}
