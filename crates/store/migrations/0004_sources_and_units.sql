-- pyatlas-store schema, version 4: what a query layer reads a run by.
-- File sources, content-addressed like chunk texts (a file unchanged
-- between runs is stored once), so that a run's code can be read as it was;
-- and every unit of a run, its symbol table.
CREATE TABLE sources (
    hash  text PRIMARY KEY,
    text  text NOT NULL
);

CREATE TABLE units (
    run_id      bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path        text NOT NULL,
    qualname    text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('class', 'function', 'method')),
    line        integer NOT NULL,
    start_line  integer NOT NULL,
    end_line    integer NOT NULL,
    signature   text NOT NULL,
    doc         text NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, path, qualname, line)
);
CREATE INDEX units_by_name ON units (run_id, lower(name));
CREATE INDEX units_by_qualname ON units (run_id, qualname text_pattern_ops);
