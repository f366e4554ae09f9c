-- +goose Up
-- An admin's refund is asked for with an Idempotency-Key. The refund id is
-- derived from (payment, key), so the refund row is the claim of the key:
-- request_hash tells a retry from another request reusing the key, and
-- answered_status is the status the first 201 carried, replayed to every
-- retry. Refunds of cancelled orders carry no key.
ALTER TABLE refunds
    ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    ADD COLUMN request_hash    text CHECK (request_hash <> ''),
    ADD COLUMN answered_status text CHECK (answered_status IN ('pending', 'succeeded')),
    -- When reconciliation last asked Stripe about a pending refund, so
    -- refunds that stay pending there cannot crowd the others out.
    ADD COLUMN reconciled_at   timestamptz,
    ADD CHECK ((idempotency_key IS NULL) = (request_hash IS NULL));
CREATE INDEX refunds_pending_idx ON refunds (reconciled_at NULLS FIRST, updated_at, id) WHERE status = 'pending';

-- +goose Down
DROP INDEX refunds_pending_idx;
ALTER TABLE refunds
    DROP COLUMN reconciled_at,
    DROP COLUMN answered_status,
    DROP COLUMN request_hash,
    DROP COLUMN idempotency_key;
