-- +goose Up
-- The reservations still holding stock, counted at each metrics scrape:
-- few, among every settled one kept since the catalog began.
CREATE INDEX reservations_held_idx ON reservations (order_id) WHERE status = 'reserved';

-- +goose Down
DROP INDEX reservations_held_idx;
