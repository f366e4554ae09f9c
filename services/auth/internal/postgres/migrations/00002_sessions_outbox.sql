-- +goose Up
-- The outbox takes the shape platform/outbox's relay expects (the table is
-- still empty: nothing wrote to it before this migration).
ALTER TABLE outbox
    ADD COLUMN event_id    uuid NOT NULL UNIQUE,
    ADD COLUMN traceparent text NOT NULL DEFAULT '',
    ADD COLUMN last_error  text,
    ADD CONSTRAINT outbox_topic_check CHECK (topic <> ''),
    ADD CONSTRAINT outbox_published_at_check CHECK (published_at >= created_at),
    ADD CONSTRAINT outbox_attempts_check CHECK (attempts >= 0);
DROP INDEX outbox_unpublished_idx;
CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;

-- The access token issued last in a session, so revoking the session can
-- denylist it until it expires.
ALTER TABLE sessions
    ADD COLUMN access_token_id   text NOT NULL DEFAULT '',
    ADD COLUMN access_expires_at timestamptz NOT NULL DEFAULT now();

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- +goose Down
DROP INDEX refresh_tokens_session_idx;
ALTER TABLE sessions DROP COLUMN access_expires_at, DROP COLUMN access_token_id;
DROP INDEX outbox_unpublished_idx;
CREATE INDEX outbox_unpublished_idx ON outbox (created_at) WHERE published_at IS NULL;
ALTER TABLE outbox
    DROP CONSTRAINT outbox_attempts_check,
    DROP CONSTRAINT outbox_published_at_check,
    DROP CONSTRAINT outbox_topic_check,
    DROP COLUMN last_error,
    DROP COLUMN traceparent,
    DROP COLUMN event_id;
