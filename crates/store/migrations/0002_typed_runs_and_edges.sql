-- pyatlas-store schema, version 2: the embedder of a run as a typed spec,
-- graph edges as pyatlas-graph resolves them (module to module, unit to
-- unit, class to class, with every line and the import flags), and the
-- enumerations of the crates checked by the database.

ALTER TABLE runs ADD COLUMN embedder jsonb;
-- Runs of version 1 recorded only a model id; their spec follows from it.
UPDATE runs SET embedder = CASE
    WHEN model_id LIKE 'pyatlas-hash-v1-%' THEN
        jsonb_build_object('kind', 'hash', 'model', 'pyatlas-hash-v1', 'dimensions', dimensions,
                           'request_dimensions', false)
    ELSE
        jsonb_build_object('kind', 'openai', 'model', split_part(model_id, '@', 1), 'dimensions', dimensions,
                           'request_dimensions', coalesce((summary ->> 'dimensions_requested')::boolean, false))
    END;
ALTER TABLE runs ALTER COLUMN embedder SET NOT NULL;

CREATE TABLE graph_edges (
    run_id          bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('import', 'call', 'inherits')),
    source          text NOT NULL,
    target          text NOT NULL,
    lines           integer[] NOT NULL DEFAULT '{}',
    type_checking   boolean NOT NULL DEFAULT false,
    function_level  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, kind, source, target)
);
INSERT INTO graph_edges (run_id, kind, source, target, lines)
SELECT run_id, kind, source, target, coalesce(array_agg(line ORDER BY line) FILTER (WHERE line > 0), '{}')
FROM edges WHERE kind IN ('import', 'call', 'inherits')
GROUP BY run_id, kind, source, target;
DROP TABLE edges;
ALTER TABLE graph_edges RENAME TO edges;
ALTER INDEX graph_edges_pkey RENAME TO edges_pkey;
CREATE INDEX edges_by_target ON edges (run_id, kind, target);

ALTER TABLE chunks ADD CONSTRAINT chunks_kind_known
    CHECK (kind IN ('function', 'method', 'class', 'class_head', 'module', 'part'));
ALTER TABLE findings ADD CONSTRAINT findings_severity_known CHECK (severity IN ('error', 'warning'));
ALTER TABLE findings ADD CONSTRAINT findings_rule_known CHECK (rule ~ '^D[0-9]{3}$');
