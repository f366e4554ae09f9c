-- +goose Up
-- Sales per UTC day, folded in from order and payment events. Each event
-- adds to one row in the transaction that records it in processed_events,
-- so a redelivery cannot count twice. The shop charges in one currency
-- (USD); selling in several would need the currency in the key.
CREATE TABLE daily_sales (
    day           date        PRIMARY KEY,
    orders        integer     NOT NULL DEFAULT 0 CHECK (orders >= 0),
    revenue_cents bigint      NOT NULL DEFAULT 0 CHECK (revenue_cents >= 0),
    refunds_cents bigint      NOT NULL DEFAULT 0 CHECK (refunds_cents >= 0),
    items_sold    integer     NOT NULL DEFAULT 0 CHECK (items_sold >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE processed_events;
DROP TABLE daily_sales;
