-- +goose Up
-- One row per (user, Idempotency-Key), inserted before any work so that a
-- concurrent duplicate finds it and waits on its row lock. order_id is
-- fixed at claim time: a request that crashed half-way is finished by its
-- retry under the same order (and the same stock reservation). result
-- holds the recorded outcome once completed_at is set.
CREATE TABLE checkout_requests (
    user_id         uuid        NOT NULL,
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash    text        NOT NULL CHECK (request_hash <> ''),
    order_id        uuid        NOT NULL UNIQUE,
    result          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    PRIMARY KEY (user_id, idempotency_key),
    CHECK ((result IS NULL) = (completed_at IS NULL))
);

-- What payments has told us about the order's payment (payment.* events);
-- NULL until the first one arrives.
ALTER TABLE orders
    ADD COLUMN payment_status    text,
    ADD COLUMN payment_id        uuid,
    ADD COLUMN payment_intent_id text,
    ADD COLUMN client_secret     text;

-- +goose Down
ALTER TABLE orders
    DROP COLUMN client_secret,
    DROP COLUMN payment_intent_id,
    DROP COLUMN payment_id,
    DROP COLUMN payment_status;
DROP TABLE checkout_requests;
