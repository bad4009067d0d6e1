-- pyatlas-store schema, version 3: full-text search that fits code.
-- A chunk's lexemes are its words as English (stemmed, stop words out),
-- with identifiers split on snake_case, camelCase and dots, plus every
-- word whole and lower-cased without its underscores (`from_envvar` is also
-- `fromenvvar`), so that an exact name matches as one rare lexeme. The
-- words of the chunk's first docstring weigh most (weight A). Search ranks
-- them with ranked OR semantics (BM25-like weights), not "every word must
-- match". They replace the `simple` configuration's `search` column.
DROP INDEX IF EXISTS chunk_texts_search;
ALTER TABLE chunk_texts DROP COLUMN IF EXISTS search;
ALTER TABLE chunk_texts ADD COLUMN lexemes tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english',
        regexp_replace(
            regexp_replace(regexp_replace(coalesce(substring(text from '"""(.*?)"""'), ''),
                '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
            '[^A-Za-z0-9]+', ' ', 'g')), 'A')
    || to_tsvector('english',
        regexp_replace(
            regexp_replace(regexp_replace(text, '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
            '[^A-Za-z0-9]+', ' ', 'g'))
    || to_tsvector('simple', regexp_replace(regexp_replace(text, '_', '', 'g'), '[^A-Za-z0-9]+', ' ', 'g'))
) STORED;
CREATE INDEX chunk_texts_lexemes ON chunk_texts USING gin (lexemes);
