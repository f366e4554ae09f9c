package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// dbActivity is what one database did, from pg_stat_database.
type dbActivity struct {
	Name                 string
	Xacts, Reads, Writes int64
}

// pgActivity reads the activity of the bench's databases and Dapr's
// state database (the denylist), which explains the PostgreSQL row of the
// cost table. Counters are flushed by each backend about once a second.
func pgActivity() (map[string]dbActivity, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT datname, xact_commit + xact_rollback, tup_returned + tup_fetched,
		tup_inserted + tup_updated + tup_deleted
		FROM pg_stat_database WHERE starts_with(datname, $1) OR datname = 'dapr_state'`, dbPrefix)
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbActivity])
	if err != nil {
		return nil, err
	}
	out := make(map[string]dbActivity, len(all))
	for _, a := range all {
		out[strings.TrimPrefix(a.Name, dbPrefix)] = a
	}
	return out, nil
}

// printActivity writes what each database did per unit of work between
// two readings.
func printActivity(w io.Writer, what string, before, after map[string]dbActivity, per int) {
	if per == 0 || before == nil || after == nil {
		return
	}
	fmt.Fprintf(w, "\nPostgreSQL per %s (pg_stat_database):\n", what)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\ttransactions\trows read\trows written\t\n")
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	slices.Sort(names)
	n := float64(per)
	for _, name := range names {
		a, b := after[name], before[name]
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t\n", name,
			float64(a.Xacts-b.Xacts)/n, float64(a.Reads-b.Reads)/n, float64(a.Writes-b.Writes)/n)
	}
	tw.Flush()
}
