-- +goose Up
-- Typo tolerance looks each search word up among the distinct words of
-- product names instead of comparing it with 100,000 names: the similar
-- words then join the full-text query, which the GIN index on
-- products.search answers. Words without a letter (model numbers) are left
-- out. A word stays when its last product goes: it only widens a query by
-- a term that matches nothing.
CREATE TABLE search_words (word text PRIMARY KEY);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

-- +goose StatementBegin
CREATE FUNCTION products_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- In order, so two writers adding the same new words wait for each
    -- other instead of deadlocking.
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM regexp_split_to_table(lower(NEW.name), '[^[:alnum:]]+') w
    WHERE w ~ '[[:alpha:]]'
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER products_search_words AFTER INSERT OR UPDATE OF name ON products
    FOR EACH ROW EXECUTE FUNCTION products_search_words();

INSERT INTO search_words (word)
SELECT DISTINCT w FROM products, regexp_split_to_table(lower(name), '[^[:alnum:]]+') w
WHERE w ~ '[[:alpha:]]'
ON CONFLICT DO NOTHING;

-- The trigram index on whole names served the old typo match; nothing
-- reads it now, and every write paid for it.
DROP INDEX products_name_trgm_idx;

-- +goose Down
CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
DROP TRIGGER products_search_words ON products;
DROP FUNCTION products_search_words();
DROP TABLE search_words;
