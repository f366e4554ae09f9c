-- +goose Up
-- A login claims its attempt as a failure before the password is checked
-- and a success removes its claim again, by id.
ALTER TABLE login_failures ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY;

-- Access tokens carry the version of the roles they were issued with, so a
-- role change can revoke the tokens of the versions before it.
ALTER TABLE users ADD COLUMN roles_version bigint NOT NULL DEFAULT 0 CHECK (roles_version >= 0);

-- +goose Down
ALTER TABLE users DROP COLUMN roles_version;
ALTER TABLE login_failures DROP COLUMN id;
