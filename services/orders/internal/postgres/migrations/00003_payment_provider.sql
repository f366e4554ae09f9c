-- +goose Up
-- The payment provider the customer chose at checkout, and where a PayPal
-- buyer approves the payment (from payment.created).
ALTER TABLE orders
    ADD COLUMN payment_provider text NOT NULL DEFAULT 'stripe' CHECK (payment_provider IN ('stripe', 'paypal')),
    ADD COLUMN approval_url     text;

-- +goose Down
ALTER TABLE orders
    DROP COLUMN approval_url,
    DROP COLUMN payment_provider;
