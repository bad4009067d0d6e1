-- pyatlas-store schema, version 9: how many of a complete run's chunks
-- hold each lexeme (the document frequency of lexical search), counted
-- once when the run completes rather than by every search (a common word
-- cost a search tens of milliseconds of counting).
CREATE TABLE lexeme_frequencies (
    run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    lexeme  text NOT NULL,
    chunks  integer NOT NULL CHECK (chunks > 0),
    PRIMARY KEY (run_id, lexeme)
);

-- The complete runs of earlier versions, counted as a completing run is.
INSERT INTO lexeme_frequencies (run_id, lexeme, chunks)
SELECT c.run_id, l.lexeme, count(*)
FROM runs r JOIN chunks c ON c.run_id = r.id JOIN chunk_texts t ON t.id = c.id, unnest(t.lexemes) l
WHERE r.status = 'complete'
GROUP BY c.run_id, l.lexeme;
