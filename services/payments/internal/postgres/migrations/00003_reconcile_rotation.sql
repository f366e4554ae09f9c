-- +goose Up
-- When reconciliation last read the payment's intent. Each run takes the
-- payments it looked at least recently first, so intents that stay
-- undecided (never confirmed by the client, or processing for days) cannot
-- crowd the others out of its batch.
ALTER TABLE payments ADD COLUMN reconciled_at timestamptz;
CREATE INDEX payments_unsettled_idx ON payments (reconciled_at NULLS FIRST, updated_at, id)
    WHERE status IN ('pending', 'requires_action', 'processing');

-- +goose Down
DROP INDEX payments_unsettled_idx;
ALTER TABLE payments DROP COLUMN reconciled_at;
