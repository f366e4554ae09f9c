// Package postgres stores deliveries and preferences in the notifications
// database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
)

// Store reads and writes deliveries and preferences.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type deliveryRow struct {
	ID        uuid.UUID `db:"id"`
	UserID    uuid.UUID `db:"user_id"`
	Channel   string    `db:"channel"`
	Template  string    `db:"template"`
	Status    string    `db:"status"`
	CreatedAt time.Time `db:"created_at"`
	Total     int       `db:"total"`
}

func (r deliveryRow) delivery() notifications.Delivery {
	return notifications.Delivery{
		ID: r.ID, UserID: r.UserID, Channel: notifications.Channel(r.Channel), Template: r.Template,
		Status: notifications.Status(r.Status), CreatedAt: r.CreatedAt,
	}
}

// Deliveries returns a page of one user's deliveries, newest first, and how
// many the user has in all.
func (s *Store) Deliveries(ctx context.Context, q notifications.ListQuery) ([]notifications.Delivery, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, channel, template, status, created_at,
			count(*) OVER () AS total
		FROM deliveries
		WHERE user_id = $1
		ORDER BY created_at DESC, id DESC
		LIMIT $2 OFFSET $3`, q.UserID, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries of %s: %w", q.UserID, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[deliveryRow])
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries of %s: %w", q.UserID, err)
	}
	list := make([]notifications.Delivery, len(found))
	total := 0
	for i, r := range found {
		list[i], total = r.delivery(), r.Total
	}
	if len(found) == 0 && q.Offset > 0 {
		// Past the last page the window function has no row to report on.
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE user_id = $1`, q.UserID).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count deliveries of %s: %w", q.UserID, err)
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

// Preferences returns the channels userID accepts; a user who never chose
// gets notifications.DefaultPreferences.
func (s *Store) Preferences(ctx context.Context, userID uuid.UUID) (notifications.Preferences, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, email, sms, push FROM preferences WHERE user_id = $1`, userID)
	if err != nil {
		return notifications.Preferences{}, fmt.Errorf("get preferences of %s: %w", userID, err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[preferencesRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return notifications.DefaultPreferences(userID), nil
	}
	if err != nil {
		return notifications.Preferences{}, fmt.Errorf("get preferences of %s: %w", userID, err)
	}
	return notifications.Preferences{UserID: r.UserID, Email: r.Email, SMS: r.SMS, Push: r.Push}, nil
}

// CreatePreferences stores p in tx unless the user already has
// preferences: a user who chose before the creating event arrived keeps
// their choice.
func CreatePreferences(ctx context.Context, tx pgx.Tx, p notifications.Preferences) error {
	_, err := tx.Exec(ctx, `INSERT INTO preferences (user_id, email, sms, push) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO NOTHING`, p.UserID, p.Email, p.SMS, p.Push)
	if err != nil {
		return fmt.Errorf("create preferences of %s: %w", p.UserID, err)
	}
	return nil
}
