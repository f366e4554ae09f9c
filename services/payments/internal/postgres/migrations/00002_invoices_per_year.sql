-- +goose Up
-- The order's lines, kept from order.created, so that the invoice issued
-- when the payment succeeds can list them.
ALTER TABLE payments ADD COLUMN lines jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(lines) = 'array');

-- Invoice numbers restart every year (the law in most places asks for a
-- gap-free series per fiscal year). Like invoice_counter, one row per year
-- taken with UPDATE … RETURNING inside the issuing transaction: its row
-- lock serialises issuers and a rollback gives the number back. An invoice
-- number is year * 1000000 + the year's sequence, so invoices.number stays
-- unique across years.
CREATE TABLE invoice_year_counters (
    year        integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
    last_number bigint  NOT NULL CHECK (last_number BETWEEN 0 AND 999999)
);

-- +goose Down
DROP TABLE invoice_year_counters;
ALTER TABLE payments DROP COLUMN lines;
