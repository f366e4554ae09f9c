-- +goose Up
CREATE TABLE items (id uuid PRIMARY KEY);

-- +goose Down
DROP TABLE items;
