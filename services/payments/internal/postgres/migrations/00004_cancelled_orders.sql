-- +goose Up
-- Orders cancelled before they were paid (order.cancelled without a
-- refund). Kept apart from payments because the cancellation may be
-- applied before order.created, when there is no payment yet: charging
-- such an order then creates no intent. Recording a payment and recording
-- a cancellation take the same per-order advisory lock, so whichever comes
-- second sees the other. A payment of a listed order never pays it: its
-- intent is cancelled, and money taken anyway (a confirmation racing the
-- cancellation) is refunded in full.
CREATE TABLE cancelled_orders (
    order_id     uuid        PRIMARY KEY,
    reason       text        NOT NULL DEFAULT '',
    cancelled_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE cancelled_orders;
