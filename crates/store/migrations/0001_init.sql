-- pyatlas-store schema, version 1. Runs inside the store's schema, with
-- `public` (where the `vector` extension lives) on the search path.

CREATE TABLE projects (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
    id                  bigserial PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    status              text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'failed')),
    git_commit          text,
    config_fingerprint  text NOT NULL,
    model_id            text NOT NULL,
    dimensions          integer NOT NULL CHECK (dimensions > 0),
    summary             jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_project ON runs (project_id, id DESC);

CREATE TABLE files (
    run_id        bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path          text NOT NULL,
    module        text NOT NULL,
    content_hash  text NOT NULL,
    lines         integer NOT NULL,
    PRIMARY KEY (run_id, path)
);

-- Chunk texts, content-addressed: a chunk unchanged between runs is stored once.
CREATE TABLE chunk_texts (
    id           text PRIMARY KEY,
    text         text NOT NULL,
    token_count  integer NOT NULL,
    search       tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);
CREATE INDEX chunk_texts_search ON chunk_texts USING gin (search);

-- Where each chunk is in a run.
CREATE TABLE chunks (
    run_id      bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    id          text NOT NULL REFERENCES chunk_texts (id),
    path        text NOT NULL,
    qualnames   text[] NOT NULL,
    kind        text NOT NULL,
    start_line  integer NOT NULL,
    end_line    integer NOT NULL,
    domains     text[] NOT NULL DEFAULT '{}',
    metadata    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, id, path, start_line)
);

-- Vectors, keyed by what produced them and the chunk (text) they embed;
-- shared by all runs and projects. HNSW indexes are created per dimension
-- count on demand (see `Store::ensure_vector_index`).
CREATE TABLE embeddings (
    model_id    text NOT NULL,
    dimensions  integer NOT NULL CHECK (dimensions > 0),
    chunk_id    text NOT NULL,
    embedding   vector NOT NULL CHECK (vector_dims(embedding) = dimensions),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, dimensions, chunk_id)
);
-- Vectors do not compress: out of line, uncompressed.
ALTER TABLE embeddings ALTER COLUMN embedding SET STORAGE EXTERNAL;

CREATE TABLE edges (
    run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind    text NOT NULL,
    source  text NOT NULL,
    target  text NOT NULL,
    line    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, kind, source, target, line)
);

CREATE TABLE tags (
    run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path    text NOT NULL,
    line    integer NOT NULL,
    scope   text NOT NULL,
    key     text NOT NULL,
    value   text NOT NULL,
    PRIMARY KEY (run_id, path, line, key, value)
);

CREATE TABLE findings (
    run_id       bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    fingerprint  text NOT NULL,
    rule         text NOT NULL,
    severity     text NOT NULL,
    path         text NOT NULL,
    line         integer NOT NULL,
    message      text NOT NULL,
    PRIMARY KEY (run_id, fingerprint)
);
