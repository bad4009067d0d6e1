-- pyatlas-store schema, version 5: a chunk's own names, computed once
-- when the chunk is stored rather than for every row a search ranks.
-- Their lexemes are built as `chunk_texts.lexemes` is (identifiers split on
-- snake_case, camelCase and dots as English words, plus each name whole,
-- lower-cased, without underscores).
CREATE FUNCTION name_lexemes(names text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('english', regexp_replace(regexp_replace(regexp_replace(
           array_to_string(names, ' '), '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
           '[^A-Za-z0-9]+', ' ', 'g'))
    || to_tsvector('simple', regexp_replace(regexp_replace(array_to_string(names, ' '), '_', '', 'g'), '[^A-Za-z0-9]+', ' ', 'g'));

ALTER TABLE chunks ADD COLUMN name_lexemes tsvector GENERATED ALWAYS AS (name_lexemes(qualnames)) STORED;

-- Every name a query may call a chunk's units by: each qualname and each
-- of its dotted tails (`Config.from_envvar`, `from_envvar`), indexed, so
-- that a query that is a name finds its units without a scan.
CREATE FUNCTION name_keys(names text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(
    SELECT DISTINCT array_to_string(parts[i:], '.')
    FROM unnest(names) AS qn, string_to_array(qn, '.') AS parts, generate_subscripts(parts, 1) AS i
);

ALTER TABLE chunks ADD COLUMN name_keys text[] GENERATED ALWAYS AS (name_keys(qualnames)) STORED;
CREATE INDEX chunks_name_keys ON chunks USING gin (name_keys);
