package deadletter

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/platform/purge"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable records the dead-letter migrations in a service's
// database, apart from the service's own.
const VersionTable = "dead_letters_db_version"

// Migrate creates or updates the dead_letters table in pool's database.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if err := postgres.MigrateShared(ctx, pool, VersionTable, migrations); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return nil
}

// Store keeps a service's dead letters in its own database.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool, whose database Migrate prepared.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const letterColumns = `id, event_id, topic, payload, last_error, count, first_seen, last_seen, replayed_at, last_replay_at`

type letterRow struct {
	ID           uuid.UUID  `db:"id"`
	EventID      string     `db:"event_id"`
	Topic        string     `db:"topic"`
	Payload      []byte     `db:"payload"`
	LastError    string     `db:"last_error"`
	Count        int        `db:"count"`
	FirstSeen    time.Time  `db:"first_seen"`
	LastSeen     time.Time  `db:"last_seen"`
	ReplayedAt   *time.Time `db:"replayed_at"`
	LastReplayAt *time.Time `db:"last_replay_at"`
}

func (r letterRow) letter() Letter {
	return Letter{
		ID: r.ID, EventID: r.EventID, Topic: r.Topic, Payload: r.Payload, LastError: r.LastError, Count: r.Count,
		FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, ReplayedAt: r.ReplayedAt, LastReplayAt: r.LastReplayAt,
	}
}

func collectLetters(rows pgx.Rows) ([]Letter, error) {
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[letterRow])
	if err != nil {
		return nil, err
	}
	letters := make([]Letter, len(found))
	for i, r := range found {
		letters[i] = r.letter()
	}
	return letters, nil
}

// Record stores e, dead-lettered at `at` after lastError. An event
// dead-lettered again counts once more, keeps its first sighting and is
// unresolved again, since whatever replayed it did not stop it failing.
func (s *Store) Record(ctx context.Context, e events.Event, lastError string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO dead_letters (event_id, topic, payload, last_error, first_seen, last_seen)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (event_id) DO UPDATE SET
			topic = EXCLUDED.topic,
			payload = EXCLUDED.payload,
			last_error = EXCLUDED.last_error,
			count = dead_letters.count + 1,
			last_seen = greatest(dead_letters.last_seen, EXCLUDED.last_seen),
			replayed_at = NULL`,
		e.ID, e.Topic, []byte(e.Raw), lastError, at)
	if err != nil {
		return fmt.Errorf("record dead letter %s: %w", e.ID, err)
	}
	return nil
}

// List returns up to limit letters of topic (every topic when empty)
// from offset, the unresolved first and the most recently seen first
// among them, and how many there are.
func (s *Store) List(ctx context.Context, topic string, offset, limit int) ([]Letter, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+letterColumns+`
		FROM dead_letters
		WHERE $3 = '' OR topic = $3
		ORDER BY replayed_at IS NOT NULL, last_seen DESC, event_id COLLATE "C"
		LIMIT $1 OFFSET $2`, limit, offset, topic)
	if err != nil {
		return nil, 0, fmt.Errorf("list dead letters: %w", err)
	}
	letters, err := collectLetters(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list dead letters: %w", err)
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE $1 = '' OR topic = $1`, topic).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dead letters: %w", err)
	}
	return letters, total, nil
}

// Get returns the letter named id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Letter, error) {
	r, err := postgres.One[letterRow](ctx, s.pool, ErrNotFound, "read dead letter "+id.String(),
		`SELECT `+letterColumns+` FROM dead_letters WHERE id = $1`, id)
	return r.letter(), err
}

// Unresolved returns up to limit unresolved letters of topic (every topic
// when empty), the longest unseen first: a letter whose replay just failed
// goes to the back.
func (s *Store) Unresolved(ctx context.Context, topic string, limit int) ([]Letter, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+letterColumns+`
		FROM dead_letters
		WHERE replayed_at IS NULL AND ($2 = '' OR topic = $2)
		ORDER BY last_seen, event_id
		LIMIT $1`, limit, topic)
	if err != nil {
		return nil, fmt.Errorf("list unresolved dead letters: %w", err)
	}
	letters, err := collectLetters(rows)
	if err != nil {
		return nil, fmt.Errorf("list unresolved dead letters: %w", err)
	}
	return letters, nil
}

// UnresolvedByTopic counts the unresolved letters of each topic that has
// letters at all (resolved ones count zero).
func (s *Store) UnresolvedByTopic(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT topic, count(*) FILTER (WHERE replayed_at IS NULL)
		FROM dead_letters GROUP BY topic`)
	if err != nil {
		return nil, fmt.Errorf("count unresolved dead letters: %w", err)
	}
	counts := map[string]int{}
	var topic string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&topic, &n}, func() error {
		counts[topic] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count unresolved dead letters: %w", err)
	}
	return counts, nil
}

// Replayed marks the letter of eventID applied by a replay at `at`; a
// letter replayed before keeps the time of its first replay. It returns
// the letter, or ErrNotFound.
func (s *Store) Replayed(ctx context.Context, eventID string, at time.Time) (Letter, error) {
	r, err := postgres.One[letterRow](ctx, s.pool, ErrNotFound, "mark dead letter "+eventID+" replayed",
		`UPDATE dead_letters SET replayed_at = coalesce(replayed_at, $2), last_replay_at = $2
		WHERE event_id = $1 RETURNING `+letterColumns, eventID, at)
	return r.letter(), err
}

// ReplayFailed records that replaying the letter of eventID failed at `at`
// with lastError. It returns the letter, or ErrNotFound.
func (s *Store) ReplayFailed(ctx context.Context, eventID, lastError string, at time.Time) (Letter, error) {
	r, err := postgres.One[letterRow](ctx, s.pool, ErrNotFound, "record the failed replay of dead letter "+eventID,
		`UPDATE dead_letters SET last_error = $2, last_seen = greatest(last_seen, $3), last_replay_at = $3
		WHERE event_id = $1 RETURNING `+letterColumns, eventID, lastError, at)
	return r.letter(), err
}

// PurgeReplayed forgets letters replayed longer than retention ago. Pass
// the retention of processed_events: past it, the consumer no longer knows
// the event was applied, and a letter kept could apply it twice.
func PurgeReplayed(pool *pgxpool.Pool, retention time.Duration) purge.Task {
	return purge.Older(pool, "dead_letters", "replayed_at", retention)
}
