-- +goose Up
-- The trace context of the request that created the payment (the order's
-- checkout, through order.created): the provider's webhook, which carries
-- none, settles the payment within that trace, so one checkout is one
-- trace from the client's request to the receipt.
ALTER TABLE payments ADD COLUMN traceparent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE payments DROP COLUMN traceparent;
