-- pyatlas-store schema, version 6: index jobs and their events, so that
-- every server on the database sees every job, whichever runs it.
CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    project          text NOT NULL,
    root             text NOT NULL,
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    -- Set by any server; the one running the job sees it within a heartbeat.
    cancel_requested boolean NOT NULL DEFAULT false,
    run_id           bigint REFERENCES runs (id) ON DELETE SET NULL,
    -- Which process runs it, and when that process last said so.
    worker           text,
    heartbeat        timestamptz,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX jobs_open ON jobs (state) WHERE state IN ('queued', 'running', 'interrupted');

CREATE TABLE job_events (
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    integer NOT NULL,
    at     timestamptz NOT NULL DEFAULT now(),
    event  jsonb NOT NULL,
    PRIMARY KEY (job_id, seq)
);
