-- +goose Up
-- The provider a payment goes through (PayPal beside Stripe), and where a
-- PayPal buyer approves it; payments from before the choice are Stripe's.
ALTER TABLE payments ADD COLUMN provider text NOT NULL DEFAULT 'stripe'
    CHECK (provider IN ('stripe', 'paypal'));
ALTER TABLE payments ADD COLUMN approval_url text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE payments DROP COLUMN approval_url;
ALTER TABLE payments DROP COLUMN provider;
