-- +goose Up
-- The status list is repeated in order_status_history: a CHECK cannot
-- reference another table, and a text column with a CHECK is easier to
-- extend in a later migration than an enum type.
CREATE TABLE orders (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending_payment'
                     CHECK (status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    total_cents      bigint      NOT NULL CHECK (total_cents >= 0),
    currency         char(3)     NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    shipping_address jsonb       NOT NULL CHECK (jsonb_typeof(shipping_address) = 'object'),
    -- The client's Idempotency-Key: a retried checkout finds the order it
    -- already created instead of creating (and charging) a second one.
    idempotency_key  text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key),
    CHECK (updated_at >= created_at)
);
-- A customer's list, newest first; the admin list, optionally by status
-- (also how workers find unpaid orders to expire).
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);

-- Lines are priced when the order is placed and never change afterwards;
-- name is a snapshot so the order reads the same after a catalog edit.
CREATE TABLE order_items (
    order_id         uuid    NOT NULL REFERENCES orders (id),
    product_id       uuid    NOT NULL,
    name             text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint  NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, product_id)
);

-- No state is entered twice in the order state machine, so (order_id,
-- status) is unique: a redelivered event cannot add a duplicate entry.
CREATE TABLE order_status_history (
    order_id uuid        NOT NULL REFERENCES orders (id),
    status   text        NOT NULL
             CHECK (status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, status)
);

-- Events are written here in the transaction that changes the order and
-- published by a relay afterwards, so none is lost when the broker is down.
-- event_id is the CloudEvent id consumers deduplicate on.
CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    topic        text        NOT NULL CHECK (topic <> ''),
    event_id     uuid        NOT NULL UNIQUE,
    payload      jsonb       NOT NULL,
    traceparent  text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz CHECK (published_at >= created_at),
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text
);
-- The relay's queue, oldest first; published rows drop out of the index.
CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE processed_events;
DROP TABLE outbox;
DROP TABLE order_status_history;
DROP TABLE order_items;
DROP TABLE orders;
