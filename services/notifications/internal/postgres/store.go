// Package postgres stores deliveries, preferences, templates and recipients
// in the notifications database.
package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres"
)

// Store reads and writes deliveries and preferences.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type deliveryRow struct {
	ID        uuid.UUID  `db:"id"`
	UserID    uuid.UUID  `db:"user_id"`
	EventID   string     `db:"event_id"`
	Channel   string     `db:"channel"`
	Template  string     `db:"template"`
	Recipient string     `db:"recipient"`
	Subject   string     `db:"subject"`
	Body      string     `db:"body"`
	Status    string     `db:"status"`
	Attempts  int        `db:"attempts"`
	Uncertain int        `db:"uncertain_sends"`
	Error     *string    `db:"error"`
	CreatedAt time.Time  `db:"created_at"`
	SentAt    *time.Time `db:"sent_at"`
	Total     int        `db:"total"`
}

func (r deliveryRow) delivery() notifications.Delivery {
	d := notifications.Delivery{
		ID: r.ID, UserID: r.UserID, EventID: r.EventID, Channel: notifications.Channel(r.Channel), Template: r.Template,
		Recipient: r.Recipient, Status: notifications.Status(r.Status), Attempts: r.Attempts, UncertainSends: r.Uncertain, CreatedAt: r.CreatedAt,
	}
	// One body column: the HTML of an email, the text of SMS and push.
	d.Message.Subject = r.Subject
	if d.Channel == notifications.ChannelEmail {
		d.Message.HTML = r.Body
	} else {
		d.Message.Text = r.Body
	}
	if r.Error != nil {
		d.LastError = *r.Error
	}
	if r.SentAt != nil {
		d.SentAt = *r.SentAt
	}
	return d
}

func collectDeliveries(rows pgx.Rows) ([]notifications.Delivery, int, error) {
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[deliveryRow])
	if err != nil {
		return nil, 0, err
	}
	list := make([]notifications.Delivery, len(found))
	total := 0
	for i, r := range found {
		list[i], total = r.delivery(), r.Total
	}
	return list, total, nil
}

const deliveryColumns = `id, user_id, event_id, channel, template, recipient, subject, body, status, attempts, uncertain_sends, error, created_at, sent_at`

// Deliveries returns a page of one user's deliveries, newest first, and how
// many the user has in all.
func (s *Store) Deliveries(ctx context.Context, q notifications.ListQuery) ([]notifications.Delivery, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+`, count(*) OVER () AS total
		FROM deliveries
		WHERE user_id = $1
		ORDER BY created_at DESC, id DESC
		LIMIT $2 OFFSET $3`, q.UserID, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries of %s: %w", q.UserID, err)
	}
	list, total, err := collectDeliveries(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries of %s: %w", q.UserID, err)
	}
	if len(list) == 0 && q.Offset > 0 {
		// Past the last page the window function has no row to report on.
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE user_id = $1`, q.UserID).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count deliveries of %s: %w", q.UserID, err)
		}
	}
	return list, total, nil
}

// DeadLetters returns a page of the failed deliveries of every user, the
// most recently failed first, and how many there are. q.UserID is ignored.
func (s *Store) DeadLetters(ctx context.Context, q notifications.ListQuery) ([]notifications.Delivery, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+`, count(*) OVER () AS total
		FROM deliveries
		WHERE status = 'failed'
		ORDER BY updated_at DESC, id DESC
		LIMIT $1 OFFSET $2`, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list dead letters: %w", err)
	}
	list, total, err := collectDeliveries(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list dead letters: %w", err)
	}
	if len(list) == 0 && q.Offset > 0 {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 'failed'`).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count dead letters: %w", err)
		}
	}
	return list, total, nil
}

type preferencesRow struct {
	UserID uuid.UUID `db:"user_id"`
	Email  bool      `db:"email"`
	SMS    bool      `db:"sms"`
	Push   bool      `db:"push"`
}

func preferences(ctx context.Context, q postgres.Querier, userID uuid.UUID) (notifications.Preferences, error) {
	r, err := postgres.One[preferencesRow](ctx, q, pgx.ErrNoRows, "get preferences of "+userID.String(),
		`SELECT user_id, email, sms, push FROM preferences WHERE user_id = $1`, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return notifications.DefaultPreferences(userID), nil
	}
	if err != nil {
		return notifications.Preferences{}, err
	}
	return notifications.Preferences{UserID: r.UserID, Email: r.Email, SMS: r.SMS, Push: r.Push}, nil
}

// Preferences returns the channels userID accepts; a user who never chose
// gets notifications.DefaultPreferences.
func (s *Store) Preferences(ctx context.Context, userID uuid.UUID) (notifications.Preferences, error) {
	return preferences(ctx, s.pool, userID)
}

// SetPreferences stores p, replacing the user's earlier choice.
func (s *Store) SetPreferences(ctx context.Context, p notifications.Preferences) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO preferences (user_id, email, sms, push) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, sms = EXCLUDED.sms, push = EXCLUDED.push, updated_at = now()`,
		p.UserID, p.Email, p.SMS, p.Push)
	if err != nil {
		return fmt.Errorf("set preferences of %s: %w", p.UserID, err)
	}
	return nil
}

// ConsumerName identifies notifications in processed_events.
const ConsumerName = "notifications"

// Queue applies event eventID once: unless its id is recorded already, it
// records it, calls plan and inserts the deliveries plan returns, all in
// one transaction. plan's error is returned as is.
func (s *Store) Queue(ctx context.Context, eventID string,
	plan func(ctx context.Context, in notifications.Intake) ([]notifications.Delivery, error)) error {
	return events.Once(ctx, s.pool, ConsumerName, events.Event{ID: eventID}, func(ctx context.Context, tx pgx.Tx) error {
		ds, err := plan(ctx, intake{tx})
		if err != nil {
			return err
		}
		return insertDeliveries(ctx, tx, ds)
	})
}

// intake reads and writes in the transaction of an event being queued.
type intake struct{ tx pgx.Tx }

func (in intake) Preferences(ctx context.Context, userID uuid.UUID) (notifications.Preferences, error) {
	return preferences(ctx, in.tx, userID)
}

func (in intake) Template(ctx context.Context, name string) (notifications.Template, error) {
	return template(ctx, in.tx, name)
}

// CreatePreferences stores p unless the user already has preferences: a
// user who chose before the creating event arrived keeps their choice.
func (in intake) CreatePreferences(ctx context.Context, p notifications.Preferences) error {
	_, err := in.tx.Exec(ctx, `INSERT INTO preferences (user_id, email, sms, push) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO NOTHING`, p.UserID, p.Email, p.SMS, p.Push)
	if err != nil {
		return fmt.Errorf("create preferences of %s: %w", p.UserID, err)
	}
	return nil
}

// SaveRecipient records where userID is reached by email.
func (in intake) SaveRecipient(ctx context.Context, userID uuid.UUID, email, name string) error {
	_, err := in.tx.Exec(ctx, `INSERT INTO recipients (user_id, email, name) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, updated_at = now()`,
		userID, email, name)
	if err != nil {
		return fmt.Errorf("save recipient %s: %w", userID, err)
	}
	return nil
}

// RecipientEmail returns userID's address, or "" when none is known.
func (in intake) RecipientEmail(ctx context.Context, userID uuid.UUID) (string, error) {
	var email string
	err := in.tx.QueryRow(ctx, `SELECT email FROM recipients WHERE user_id = $1`, userID).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get recipient %s: %w", userID, err)
	}
	return email, nil
}

type templateRow struct {
	Name      string    `db:"name"`
	Subject   string    `db:"subject"`
	Body      string    `db:"body"`
	Text      string    `db:"text"`
	UpdatedAt time.Time `db:"updated_at"`
}

func template(ctx context.Context, q postgres.Querier, name string) (notifications.Template, error) {
	r, err := postgres.One[templateRow](ctx, q, notifications.ErrTemplateNotFound, "get template "+name,
		`SELECT name, subject, body, text, updated_at FROM templates WHERE name = $1`, name)
	if err != nil {
		return notifications.Template{}, err
	}
	return notifications.Template{Name: r.Name, Subject: r.Subject, HTML: r.Body, Text: r.Text, UpdatedAt: r.UpdatedAt}, nil
}

// Template returns the template called name, or
// notifications.ErrTemplateNotFound.
func (s *Store) Template(ctx context.Context, name string) (notifications.Template, error) {
	return template(ctx, s.pool, name)
}

// SaveTemplate replaces the template t names and returns it as stored. It
// returns notifications.ErrTemplateNotFound when there is none by that name.
func (s *Store) SaveTemplate(ctx context.Context, t notifications.Template) (notifications.Template, error) {
	err := s.pool.QueryRow(ctx, `UPDATE templates SET subject = $2, body = $3, text = $4, updated_at = now()
		WHERE name = $1 RETURNING updated_at`, t.Name, t.Subject, t.HTML, t.Text).Scan(&t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return notifications.Template{}, notifications.ErrTemplateNotFound
	}
	if err != nil {
		return notifications.Template{}, fmt.Errorf("save template %s: %w", t.Name, err)
	}
	return t, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func body(m notifications.Message, ch notifications.Channel) string {
	if ch == notifications.ChannelEmail {
		return m.HTML
	}
	return m.Text
}

// insertDeliveries records planned deliveries in tx. A delivery whose
// event and channel are already recorded is left as it is.
func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []notifications.Delivery) error {
	for _, d := range ds {
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries
			(id, user_id, event_id, channel, template, recipient, subject, body, status, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (event_id, channel) DO NOTHING`,
			d.ID, d.UserID, d.EventID, d.Channel, d.Template, d.Recipient, d.Message.Subject, body(d.Message, d.Channel),
			d.Status, nullable(d.LastError)); err != nil {
			return fmt.Errorf("insert %s delivery for event %s: %w", d.Channel, d.EventID, err)
		}
	}
	return nil
}

// SendQueued offers each queued delivery of eventID to attempt, which
// sends it and records the outcome on it (Delivery.RecordAttempt); the
// result is saved. One sender at a time holds a delivery's send lock, a
// session advisory lock that the database drops with a dead sender's
// connection; a delivery locked by another sender is left to it. Under the
// lock the send is claimed (sending_since) and committed before attempt
// runs, and settled after: a claim found unsettled is a send whose outcome
// nobody saw, counted in uncertain_sends. A known outcome is saved with
// retries for up to settleBudget, so a database restart during a send does
// not send the message again. It returns how many of the event's
// deliveries are still queued afterwards, and how many of those it offered
// failed for good.
func (s *Store) SendQueued(ctx context.Context, eventID string, attempt func(ctx context.Context, d *notifications.Delivery) error) (pending, failed int, err error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM deliveries WHERE event_id = $1 AND status = 'queued' ORDER BY channel`, eventID)
	if err != nil {
		return 0, 0, fmt.Errorf("list queued deliveries of event %s: %w", eventID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, 0, fmt.Errorf("list queued deliveries of event %s: %w", eventID, err)
	}
	for _, id := range ids {
		d, err := s.sendOne(ctx, id, attempt)
		if err != nil {
			return 0, 0, fmt.Errorf("send delivery %s: %w", id, err)
		}
		switch d.Status {
		case notifications.StatusQueued:
			pending++
		case notifications.StatusFailed:
			failed++
		}
	}
	return pending, failed, nil
}

// settleBudget bounds how long a send's known outcome is retried into the
// database: longer than a restart of the server takes.
const settleBudget = 30 * time.Second

// sendOne sends one delivery under its send lock. The zero Delivery means
// it was not offered (settled meanwhile, or locked by another sender).
func (s *Store) sendOne(ctx context.Context, id uuid.UUID, attempt func(ctx context.Context, d *notifications.Delivery) error) (notifications.Delivery, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return notifications.Delivery{}, err
	}
	// The lock is the session's: a connection that may still hold it is
	// closed rather than given back to the pool.
	held := true
	drop := func() {
		if held {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			conn.Release()
			held = false
		}
	}
	defer drop()
	// The first eight bytes of a random UUID: collisions only serialise.
	key := int64(binary.BigEndian.Uint64(id[:8]))
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&locked); err != nil || !locked {
		return notifications.Delivery{}, err
	}
	r, err := postgres.One[claimRow](ctx, conn, pgx.ErrNoRows, "claim queued delivery", `WITH last AS (
			SELECT id, sending_since IS NOT NULL AS unsettled FROM deliveries WHERE id = $1 AND status = 'queued' FOR UPDATE)
		UPDATE deliveries d SET sending_since = clock_timestamp(), uncertain_sends = d.uncertain_sends + last.unsettled::int
		FROM last WHERE d.id = last.id
		RETURNING `+qualified("d", deliveryColumns)+`, 0 AS total, d.sending_since AS claimed`, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return notifications.Delivery{}, err
	}
	var d notifications.Delivery
	if err == nil {
		d = r.delivery()
		if err := attempt(ctx, &d); err != nil {
			return notifications.Delivery{}, err
		}
		var sentAt *time.Time
		if !d.SentAt.IsZero() {
			sentAt = &d.SentAt
		}
		settle := func(ctx context.Context, exec func(context.Context, string, ...any) (pgconn.CommandTag, error)) error {
			// Only this claim's: a sender that took over after a restart
			// ended our session has claimed it since.
			_, err := exec(ctx, `UPDATE deliveries SET status = $2, attempts = $3, error = $4, sent_at = $5,
					uncertain_sends = $6, sending_since = NULL, updated_at = now()
				WHERE id = $1 AND sending_since = $7`,
				d.ID, d.Status, d.Attempts, nullable(d.LastError), sentAt, d.UncertainSends, r.Claimed)
			return err
		}
		if err := settle(ctx, conn.Exec); err != nil {
			// The session is gone, the lock with it (a restart): its
			// connection goes before another is waited for, so that
			// senders holding all of the pool's cannot wait on each other.
			drop()
			if err := retry(ctx, settleBudget, func(ctx context.Context) error { return settle(ctx, s.pool.Exec) }); err != nil {
				return notifications.Delivery{}, fmt.Errorf("save the outcome of a send (%s): %w", d.Status, err)
			}
			return d, nil
		}
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err == nil {
		conn.Release()
		held = false
	}
	return d, nil
}

type claimRow struct {
	deliveryRow
	Claimed time.Time `db:"claimed"`
}

// qualified prefixes each of a comma-separated column list with table.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = table + "." + c
	}
	return strings.Join(cols, ", ")
}

// retry runs f until it succeeds, ctx ends or budget is spent, backing off
// from 100 ms to 2 s between tries.
func retry(ctx context.Context, budget time.Duration, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(budget)
	wait := 100 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// Requeue queues event eventID's failed deliveries again.
func (s *Store) Requeue(ctx context.Context, eventID string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE deliveries SET status = 'queued', updated_at = now()
		WHERE event_id = $1 AND status = 'failed'`, eventID); err != nil {
		return fmt.Errorf("requeue failed deliveries of event %s: %w", eventID, err)
	}
	return nil
}
