-- +goose Up
-- A committed reservation is restocked when its order, paid, was cancelled
-- and refunded before it shipped: its units are back on hand.
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('reserved', 'committed', 'released', 'restocked'));

-- When order.created told the catalog that the checkout holding the
-- reservation placed its order. A reservation held without it for long
-- belongs to a checkout that died half-way. Held reservations from before
-- the catalog listened for order.created count as placed: the abandoned
-- ones among them are released by orders within 15 minutes anyway.
ALTER TABLE reservations ADD COLUMN placed_at timestamptz;
UPDATE reservations SET placed_at = now() WHERE status = 'reserved';
-- The abandoned holds are read from this handful of rows.
CREATE INDEX reservations_unplaced_idx ON reservations (created_at) WHERE status = 'reserved' AND placed_at IS NULL;

-- +goose Down
DROP INDEX reservations_unplaced_idx;
ALTER TABLE reservations DROP COLUMN placed_at;
-- A restocked reservation was committed first.
UPDATE reservations SET status = 'committed' WHERE status = 'restocked';
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('reserved', 'committed', 'released'));
