-- +goose Up
-- The Stripe customer that saved cards are attached to, one per user.
CREATE TABLE customers (
    user_id            uuid        PRIMARY KEY,
    stripe_customer_id text        NOT NULL UNIQUE,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- One payment per order: the PaymentIntent is created with the order id as
-- Stripe idempotency key, so a redelivered order.created must land on the
-- same row rather than charge twice. Refunds are reserved by raising
-- refunded_cents in the same statement that checks it
-- (SET refunded_cents = refunded_cents + $1 WHERE refunded_cents + $1 <= amount_cents),
-- and the CHECK makes an over-refund impossible even for a buggy caller.
CREATE TABLE payments (
    id                uuid        PRIMARY KEY,
    order_id          uuid        NOT NULL UNIQUE,
    user_id           uuid        NOT NULL,
    payment_intent_id text        NOT NULL UNIQUE,
    client_secret     text        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'requires_action', 'processing', 'succeeded', 'failed', 'cancelled')),
    amount_cents      bigint      NOT NULL CHECK (amount_cents > 0),
    refunded_cents    bigint      NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
    currency          char(3)     NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    failure_message   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (refunded_cents <= amount_cents),
    -- Only money that was taken can be given back.
    CHECK (refunded_cents = 0 OR status = 'succeeded'),
    CHECK (updated_at >= created_at)
);
CREATE INDEX payments_user_created_idx ON payments (user_id, created_at DESC);

-- A refund row is written (pending) before Stripe is called, with its id
-- as the Stripe idempotency key; stripe_refund_id is known once Stripe
-- answers.
CREATE TABLE refunds (
    id               uuid        PRIMARY KEY,
    payment_id       uuid        NOT NULL REFERENCES payments (id),
    stripe_refund_id text        UNIQUE,
    amount_cents     bigint      NOT NULL CHECK (amount_cents > 0),
    currency         char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason           text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'succeeded' OR stripe_refund_id IS NOT NULL),
    CHECK (updated_at >= created_at)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

-- Invoice numbers must be sequential without gaps, which a sequence cannot
-- promise (rolled-back nextval calls leave holes). Each invoice instead
-- takes the next number from this single row in its own transaction
-- (UPDATE invoice_counter SET last_number = last_number + 1 RETURNING
-- last_number): the row lock serialises issuers and a rollback gives the
-- number back.
CREATE TABLE invoice_counter (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_number bigint  NOT NULL CHECK (last_number >= 0)
);
INSERT INTO invoice_counter (id, last_number) VALUES (true, 0);

-- An invoice is an immutable document: its lines are a snapshot of the
-- order, kept as the JSON array the API returns. One per payment, so a
-- replayed success webhook cannot issue a second one.
CREATE TABLE invoices (
    id             uuid        PRIMARY KEY,
    number         bigint      NOT NULL UNIQUE CHECK (number > 0),
    payment_id     uuid        NOT NULL UNIQUE REFERENCES payments (id),
    order_id       uuid        NOT NULL,
    user_id        uuid        NOT NULL,
    lines          jsonb       NOT NULL CHECK (jsonb_typeof(lines) = 'array'),
    subtotal_cents bigint      NOT NULL CHECK (subtotal_cents >= 0),
    tax_cents      bigint      NOT NULL CHECK (tax_cents >= 0),
    total_cents    bigint      NOT NULL,
    currency       char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    issued_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (total_cents = subtotal_cents + tax_cents)
);
CREATE INDEX invoices_order_idx ON invoices (order_id);
CREATE INDEX invoices_user_issued_idx ON invoices (user_id, issued_at DESC);

-- Stripe delivers webhooks at least once; the event id is recorded in the
-- transaction that applies the event, so a replay is acknowledged and
-- ignored. The payload is not kept: it may carry billing details.
CREATE TABLE webhook_events (
    id          text        PRIMARY KEY,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Saved cards. Only what the API shows is stored; the card itself stays at
-- Stripe. The partial unique index allows at most one default card per
-- user, so "the default card" is never ambiguous at checkout.
CREATE TABLE payment_methods (
    id                       uuid        PRIMARY KEY,
    user_id                  uuid        NOT NULL REFERENCES customers (user_id),
    stripe_payment_method_id text        NOT NULL UNIQUE,
    brand                    text        NOT NULL,
    last4                    char(4)     NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    exp_month                integer     NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year                 integer     NOT NULL CHECK (exp_year BETWEEN 2000 AND 9999),
    is_default               boolean     NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payment_methods_one_default_idx ON payment_methods (user_id) WHERE is_default;
CREATE INDEX payment_methods_user_created_idx ON payment_methods (user_id, created_at DESC);

-- Events are written here in the transaction that changes the payment and
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
DROP TABLE payment_methods;
DROP TABLE webhook_events;
DROP TABLE invoices;
DROP TABLE invoice_counter;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE customers;
