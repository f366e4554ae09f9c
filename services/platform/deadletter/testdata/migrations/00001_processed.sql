-- +goose Up
CREATE TABLE processed_events (
    consumer text NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE effects (event_id text NOT NULL);

-- +goose Down
DROP TABLE effects;
DROP TABLE processed_events;
