-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Full-text search weighs the name over the description; the generated
-- column keeps the vector in step with every write.
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', description), 'B')
) STORED;
CREATE INDEX products_search_idx ON products USING gin (search);
-- Typo tolerance: word_similarity(q, name) through the <% operator.
CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
-- Sorted listings of active products read these in order, id breaking ties.
CREATE INDEX products_created_idx ON products (created_at DESC, id) WHERE active;
CREATE INDEX products_price_idx ON products (price_cents, id) WHERE active;
CREATE INDEX products_name_idx ON products (name, id) WHERE active;
CREATE INDEX categories_parent_idx ON categories (parent_id);

-- inventory.low_stock fires when available falls below the threshold;
-- 0 turns it off.
ALTER TABLE inventory ADD COLUMN low_stock_threshold integer NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0);

-- One row per admin adjustment: who changed on_hand, by how much, and why.
CREATE TABLE inventory_adjustments (
    id            uuid PRIMARY KEY,
    product_id    uuid        NOT NULL REFERENCES products (id),
    delta         integer     NOT NULL CHECK (delta <> 0),
    reason        text        NOT NULL CHECK (reason <> ''),
    actor_id      text        NOT NULL,
    on_hand_after integer     NOT NULL CHECK (on_hand_after >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_adjustments_product_idx ON inventory_adjustments (product_id, created_at);

-- A reservation holds stock for one order; the order id makes reserving,
-- committing and releasing idempotent.
CREATE TABLE reservations (
    order_id   uuid PRIMARY KEY,
    status     text        NOT NULL CHECK (status IN ('reserved', 'committed', 'released')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reservation_lines (
    order_id         uuid    NOT NULL REFERENCES reservations (order_id),
    product_id       uuid    NOT NULL REFERENCES products (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint  NOT NULL CHECK (unit_price_cents >= 0),
    currency         char(3) NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

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
CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;

-- +goose Down
DROP TABLE outbox;
DROP TABLE reservation_lines;
DROP TABLE reservations;
DROP TABLE inventory_adjustments;
ALTER TABLE inventory DROP COLUMN low_stock_threshold;
DROP INDEX categories_parent_idx;
DROP INDEX products_name_idx;
DROP INDEX products_price_idx;
DROP INDEX products_created_idx;
DROP INDEX products_name_trgm_idx;
DROP INDEX products_search_idx;
ALTER TABLE products DROP COLUMN search;
