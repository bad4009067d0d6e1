-- pyatlas-store schema, version 5: the lexemes of a chunk's own names
-- (its qualnames, built as `chunk_texts.lexemes` is: identifiers split on
-- snake_case, camelCase and dots as English words, plus each name whole,
-- lower-cased, without underscores), computed once when the chunk is
-- stored rather than for every row that lexical search ranks.
CREATE FUNCTION name_lexemes(names text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('english', regexp_replace(regexp_replace(regexp_replace(
           array_to_string(names, ' '), '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g'),
           '[^A-Za-z0-9]+', ' ', 'g'))
    || to_tsvector('simple', regexp_replace(regexp_replace(array_to_string(names, ' '), '_', '', 'g'), '[^A-Za-z0-9]+', ' ', 'g'));

ALTER TABLE chunks ADD COLUMN name_lexemes tsvector GENERATED ALWAYS AS (name_lexemes(qualnames)) STORED;
