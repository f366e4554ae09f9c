-- +goose Up
-- The events this service's subscriptions gave up on, one row per event:
-- the CloudEvent as delivered (to replay it; its bytes, since jsonb refuses
-- some JSON, \u0000 in a string, and a letter refused would come back for
-- ever), the last error its consumer met, and how many times it was
-- dead-lettered. replayed_at is set once a replay applied it; until then it
-- is unresolved.
CREATE TABLE dead_letters (
    event_id    text        PRIMARY KEY,
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    last_error  text        NOT NULL,
    count       integer     NOT NULL DEFAULT 1 CHECK (count > 0),
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL CHECK (last_seen >= first_seen),
    replayed_at timestamptz
);
CREATE INDEX dead_letters_unresolved_idx ON dead_letters (last_seen) WHERE replayed_at IS NULL;

-- +goose Down
DROP TABLE dead_letters;
