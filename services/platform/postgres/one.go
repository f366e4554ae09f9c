package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier runs a query: a *pgxpool.Pool, a *pgx.Conn and a pgx.Tx are
// each one.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// One runs sql, which yields at most one row, on q and reads that row into
// an R by column name (pgx.RowToStructByName). When there is no row it
// returns notFound as it is, so errors.Is(err, notFound) holds; a caller
// that handles the absence itself passes pgx.ErrNoRows. Every other
// failure (the query, a second row, a column R lacks) is wrapped with
// what, which says what the query reads.
func One[R any](ctx context.Context, q Querier, notFound error, what, sql string, args ...any) (R, error) {
	var zero R
	rows, _ := q.Query(ctx, sql, args...) // CollectExactlyOneRow returns the query's error
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[R])
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, notFound
	}
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}
