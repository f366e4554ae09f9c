-- +goose Up
-- id names a letter to the admins: the workers list every service's letters
-- together, and an event id does not tell them apart (every subscriber of
-- an event may dead-letter it). It is random: the workers find the service
-- holding an id by asking each. last_replay_at is when a replay last ran,
-- applied or not: a replay runs after the request asking for it is
-- answered, and this tells whoever asked that it has run.
ALTER TABLE dead_letters
    ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN last_replay_at timestamptz;
CREATE UNIQUE INDEX dead_letters_id_idx ON dead_letters (id);

-- +goose Down
DROP INDEX dead_letters_id_idx;
ALTER TABLE dead_letters DROP COLUMN id, DROP COLUMN last_replay_at;
