-- pyatlas-store schema, version 10: runs share the rows that did not change.
--
-- A row of a project now lives from the run that wrote it (`from_run`) to
-- the run that replaced or removed it (`until_run`, exclusive; the largest
-- bigint while it is live): it belongs to every run `r` of its project with
-- `from_run <= r < until_run`. A run where k files changed writes the rows
-- of those k files (and closes the rows they replace); every other row
-- carries over untouched. The tables keep their names as views that give
-- each run its rows with a `run_id`, so that every read stays as it was.
--
-- Rows of a run that failed are rolled back when the project's next run
-- begins (`runs.rolled_back`): its own rows deleted, the rows it closed
-- reopened. The rows of earlier versions belonged to one run each: they
-- live from it to the next id (`until_run = run_id + 1`), the run sequence
-- moves past that, and the runs left running are failed (their rows stay,
-- readable, but are never rolled back into a later run).

ALTER TABLE runs ADD COLUMN rolled_back boolean NOT NULL DEFAULT false;
-- A digest of the edges a run set (`RunHandle::set_edges`): the same set
-- again is not sent.
ALTER TABLE runs ADD COLUMN edges_digest text;
UPDATE runs SET status = 'failed', finished_at = now(),
    summary = summary || '{"reason": "abandoned: the store''s schema changed under it"}'
WHERE status = 'running';
UPDATE runs SET rolled_back = true WHERE status = 'failed';
SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM runs));

-- Each table: renamed, `run_id` becomes `from_run`, with the project and
-- `until_run` beside it.
ALTER TABLE files RENAME TO file_rows;
ALTER TABLE units RENAME TO unit_rows;
ALTER TABLE chunks RENAME TO chunk_rows;
ALTER TABLE tags RENAME TO tag_rows;
ALTER TABLE edges RENAME TO edge_rows;
ALTER TABLE findings RENAME TO finding_rows;
ALTER TABLE lexeme_frequencies RENAME TO lexeme_rows;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['file_rows', 'unit_rows', 'chunk_rows', 'tag_rows', 'edge_rows', 'finding_rows',
                             'lexeme_rows'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME COLUMN run_id TO from_run', t);
        EXECUTE format('ALTER TABLE %I ADD COLUMN project_id bigint, ADD COLUMN until_run bigint', t);
        EXECUTE format('UPDATE %I x SET project_id = r.project_id, until_run = x.from_run + 1
                        FROM runs r WHERE r.id = x.from_run', t);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN project_id SET NOT NULL, ALTER COLUMN until_run SET NOT NULL,
                        ALTER COLUMN until_run SET DEFAULT 9223372036854775807', t);
        -- A run's rows, and what a rollback finds.
        EXECUTE format('CREATE INDEX %I ON %I (project_id, until_run)', t || '_live', t);
        EXECUTE format('CREATE INDEX %I ON %I (project_id, from_run)', t || '_written', t);
    END LOOP;
END
$$;

ALTER TABLE file_rows DROP CONSTRAINT files_pkey;
ALTER TABLE unit_rows DROP CONSTRAINT units_pkey;
ALTER TABLE chunk_rows DROP CONSTRAINT chunks_pkey;
ALTER TABLE tag_rows DROP CONSTRAINT tags_pkey;
ALTER TABLE edge_rows DROP CONSTRAINT edges_pkey;
ALTER TABLE finding_rows DROP CONSTRAINT findings_pkey;
ALTER TABLE lexeme_rows DROP CONSTRAINT lexeme_frequencies_pkey;
DROP INDEX units_by_name, units_by_qualname, units_by_name_prefix, units_by_qualname_prefix, edges_by_target;

-- A file's rows, replaced when it changes.
CREATE INDEX file_rows_by_path ON file_rows (project_id, path, until_run);
CREATE INDEX unit_rows_by_path ON unit_rows (project_id, path, until_run);
CREATE INDEX chunk_rows_by_path ON chunk_rows (project_id, path, until_run);
CREATE INDEX tag_rows_by_path ON tag_rows (project_id, path, until_run);
-- What the reads look up.
CREATE INDEX chunk_rows_by_id ON chunk_rows (id, project_id);
CREATE INDEX unit_rows_by_name ON unit_rows (project_id, lower(name));
CREATE INDEX unit_rows_by_qualname ON unit_rows (project_id, qualname text_pattern_ops);
CREATE INDEX unit_rows_by_name_prefix ON unit_rows (project_id, lower(name) text_pattern_ops);
CREATE INDEX unit_rows_by_qualname_prefix ON unit_rows (project_id, lower(qualname) text_pattern_ops);
CREATE INDEX edge_rows_by_source ON edge_rows (project_id, kind, source);
CREATE INDEX edge_rows_by_target ON edge_rows (project_id, kind, target);
CREATE INDEX lexeme_rows_by_lexeme ON lexeme_rows (project_id, lexeme, until_run);

-- Each run's rows, under the names and columns the tables had.
CREATE VIEW files AS
SELECT r.id AS run_id, x.path, x.module, x.content_hash, x.lines
FROM runs r JOIN file_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

CREATE VIEW units AS
SELECT r.id AS run_id, x.path, x.qualname, x.name, x.kind, x.line, x.start_line, x.end_line, x.signature, x.doc
FROM runs r JOIN unit_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

CREATE VIEW chunks AS
SELECT r.id AS run_id, x.id, x.path, x.qualnames, x.kind, x.start_line, x.end_line, x.domains, x.metadata,
       x.name_lexemes, x.name_keys
FROM runs r JOIN chunk_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

CREATE VIEW tags AS
SELECT r.id AS run_id, x.path, x.line, x.scope, x.key, x.value
FROM runs r JOIN tag_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

CREATE VIEW edges AS
SELECT r.id AS run_id, x.kind, x.source, x.target, x.lines, x.type_checking, x.function_level
FROM runs r JOIN edge_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

CREATE VIEW findings AS
SELECT r.id AS run_id, x.fingerprint, x.rule, x.severity, x.path, x.line, x.message
FROM runs r JOIN finding_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

CREATE VIEW lexeme_frequencies AS
SELECT r.id AS run_id, x.lexeme, x.chunks
FROM runs r JOIN lexeme_rows x ON x.project_id = r.project_id AND x.from_run <= r.id AND x.until_run > r.id;

-- The same for one run, as functions that PostgreSQL inlines: the run is
-- then a value the planner sees (through a view joined to `runs` it is
-- not, and the planner, guessing how many rows a run has, walked every
-- chunk of a run to find the few a word matches: 109 ms against a few).
-- The store's own reads go through these.
CREATE FUNCTION files_in(run bigint) RETURNS SETOF files LANGUAGE sql STABLE AS $$
    SELECT run, x.path, x.module, x.content_hash, x.lines FROM file_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;

CREATE FUNCTION units_in(run bigint) RETURNS SETOF units LANGUAGE sql STABLE AS $$
    SELECT run, x.path, x.qualname, x.name, x.kind, x.line, x.start_line, x.end_line, x.signature, x.doc
    FROM unit_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;

CREATE FUNCTION chunks_in(run bigint) RETURNS SETOF chunks LANGUAGE sql STABLE AS $$
    SELECT run, x.id, x.path, x.qualnames, x.kind, x.start_line, x.end_line, x.domains, x.metadata,
           x.name_lexemes, x.name_keys
    FROM chunk_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;

CREATE FUNCTION tags_in(run bigint) RETURNS SETOF tags LANGUAGE sql STABLE AS $$
    SELECT run, x.path, x.line, x.scope, x.key, x.value FROM tag_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;

CREATE FUNCTION edges_in(run bigint) RETURNS SETOF edges LANGUAGE sql STABLE AS $$
    SELECT run, x.kind, x.source, x.target, x.lines, x.type_checking, x.function_level FROM edge_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;

CREATE FUNCTION findings_in(run bigint) RETURNS SETOF findings LANGUAGE sql STABLE AS $$
    SELECT run, x.fingerprint, x.rule, x.severity, x.path, x.line, x.message FROM finding_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;

CREATE FUNCTION lexemes_in(run bigint) RETURNS SETOF lexeme_frequencies LANGUAGE sql STABLE AS $$
    SELECT run, x.lexeme, x.chunks FROM lexeme_rows x
    WHERE x.project_id = (SELECT project_id FROM runs WHERE id = run) AND x.from_run <= run AND x.until_run > run
$$;
