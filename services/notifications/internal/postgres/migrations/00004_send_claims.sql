-- +goose Up
-- A send is claimed (sending_since, committed before the message goes out)
-- and settled after. A claim found unsettled belongs to a sender that died
-- mid-send, whose message may have gone out: uncertain_sends counts such
-- sends, and those the channel reported as possibly delivered.
ALTER TABLE deliveries
    ADD COLUMN sending_since   timestamptz,
    ADD COLUMN uncertain_sends integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN sending_since, DROP COLUMN uncertain_sends;
