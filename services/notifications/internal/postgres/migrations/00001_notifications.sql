-- +goose Up
-- Message templates (Go text/html templates), edited by admins. Deliveries
-- keep the template name as text, not a foreign key, so history survives a
-- template being renamed or removed.
CREATE TABLE templates (
    name       text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    subject    text        NOT NULL,
    body       text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A user without a row gets the same defaults as the column defaults
-- (email on, sms and push off); the row is created on user.registered.
CREATE TABLE preferences (
    user_id    uuid        PRIMARY KEY,
    email      boolean     NOT NULL DEFAULT true,
    sms        boolean     NOT NULL DEFAULT false,
    push       boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per message per channel. (event_id, channel) is unique, so an
-- event delivered twice cannot send the same message twice; a channel the
-- user turned off is recorded as skipped rather than left out, so the
-- history shows why nothing arrived.
CREATE TABLE deliveries (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    channel    text        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    template   text        NOT NULL,
    recipient  text        NOT NULL,
    status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    error      text,
    attempts   integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    event_id   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    UNIQUE (event_id, channel),
    -- sent_at is set exactly when the message went out.
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK (sent_at >= created_at),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX deliveries_user_created_idx ON deliveries (user_id, created_at DESC, id DESC);
-- The sender's retry queue; settled rows drop out of the index.
CREATE INDEX deliveries_pending_idx ON deliveries (created_at) WHERE status = 'pending';

CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE processed_events;
DROP TABLE deliveries;
DROP TABLE preferences;
DROP TABLE templates;
