//! Index jobs and their events, in the database: every process on the
//! store sees every job, so servers keep no state of their own. A job is
//! run by one process at a time (its *worker*), which proves it is alive by
//! a heartbeat; a job whose worker stopped beating can be taken over.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;

use crate::{RunId, Store, StoreError};

crate::id::row_id!(
    /// A job's id.
    JobId,
    "jobs.id"
);

/// Where a job is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it.
    Running,
    /// Its run is complete.
    Succeeded,
    /// It stopped on an error (see `error`).
    Failed,
    /// Cancelled on request; its run is left resumable.
    Cancelled,
    /// Its worker stopped (a server shut down); a worker allowed its root
    /// takes it up again, resuming its run.
    Interrupted,
}

impl JobState {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Whether the job has ended for good.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    const ALL: [Self; 6] =
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed, Self::Cancelled, Self::Interrupted];
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no [`JobState`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown job state {0:?}")]
pub struct UnknownJobState(pub String);

impl std::str::FromStr for JobState {
    type Err = UnknownJobState;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| UnknownJobState(text.to_owned()))
    }
}

/// One job, as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct JobInfo {
    /// Its id.
    pub id: JobId,
    /// The project it indexes.
    pub project: String,
    /// The root it indexes, as the server that accepted it resolved it.
    pub root: String,
    /// Where it is.
    pub state: JobState,
    /// Whether a cancel was asked for.
    pub cancel_requested: bool,
    /// The run it writes, once it has one.
    pub run: Option<RunId>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was asked for (ISO 8601, from the server's clock).
    pub created_at: String,
    /// When a worker first took it.
    pub started_at: Option<String>,
    /// When it ended for good.
    pub finished_at: Option<String>,
}

const JOB_COLUMNS: &str = "id, project, root, state, cancel_requested, run_id, error, created_at::text, \
     started_at::text, finished_at::text";

/// The states a worker may take a job from; `running` only when its worker
/// has not beaten for the stale interval.
const TAKEABLE: &str = "(state IN ('queued', 'interrupted') OR (state = 'running' AND heartbeat < now() - $2::float8 * interval '1 millisecond'))";

fn job_info(row: &Row) -> Result<JobInfo, StoreError> {
    let id = JobId(row.get(0));
    let state: &str = row.get(3);
    Ok(JobInfo {
        id,
        project: row.get(1),
        root: row.get(2),
        state: state.parse().map_err(|e: UnknownJobState| StoreError::Corrupt { what: format!("job {id}: {e}") })?,
        cancel_requested: row.get(4),
        run: row.get::<_, Option<i64>>(5).map(RunId::new),
        error: row.get(6),
        created_at: row.get(7),
        started_at: row.get(8),
        finished_at: row.get(9),
    })
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

impl Store {
    async fn job_rows(
        &self,
        what: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<JobInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client.query(sql, params).await.map_err(StoreError::db(what.to_owned()))?;
        rows.iter().map(job_info).collect()
    }

    async fn one_job(
        &self,
        id: JobId,
        what: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<JobInfo, StoreError> {
        self.job_rows(what, sql, params).await?.pop().ok_or_else(|| StoreError::NotFound { what: format!("job {id}") })
    }

    /// Queues a job indexing `root` into `project`.
    pub async fn enqueue_job(&self, project: &str, root: &str) -> Result<JobInfo, StoreError> {
        let sql = format!("INSERT INTO jobs (project, root) VALUES ($1, $2) RETURNING {JOB_COLUMNS}");
        let mut jobs = self.job_rows("queueing a job", &sql, &[&project, &root]).await?;
        jobs.pop().ok_or_else(|| StoreError::NotFound { what: "the queued job".to_owned() })
    }

    /// One job.
    pub async fn job(&self, id: JobId) -> Result<JobInfo, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        self.one_job(id, "reading a job", &sql, &[&id]).await
    }

    /// Jobs newest first: up to `limit` of them, older than `before` when given.
    pub async fn jobs(&self, before: Option<JobId>, limit: usize) -> Result<Vec<JobInfo>, StoreError> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.job_rows("listing jobs", &sql, &[&before.map(JobId::get), &limit]).await
    }

    /// The jobs a worker could take: queued, interrupted, or running under
    /// a worker that has not beaten for `stale`. Oldest first.
    pub async fn takeable_jobs(&self, stale: Duration) -> Result<Vec<JobInfo>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE NOT cancel_requested AND {} ORDER BY id",
            TAKEABLE.replace("$2", "$1")
        );
        self.job_rows("listing open jobs", &sql, &[&millis(stale)]).await
    }

    /// Takes `id` for `worker`, atomically: `None` when the job cannot be
    /// taken (another worker has it, it ended, or a cancel was asked).
    pub async fn claim_job(&self, id: JobId, worker: &str, stale: Duration) -> Result<Option<JobInfo>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', worker = $3, heartbeat = now(), started_at = coalesce(started_at, now()) \
             WHERE id = $1 AND NOT cancel_requested AND {TAKEABLE} RETURNING {JOB_COLUMNS}"
        );
        Ok(self.job_rows("taking a job", &sql, &[&id, &millis(stale), &worker]).await?.pop())
    }

    /// The worker's heartbeat: whether it should go on with the job (false
    /// when a cancel was asked for, or another worker took the job over).
    pub async fn job_heartbeat(&self, id: JobId, worker: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE jobs SET heartbeat = now() WHERE id = $1 AND worker = $2 AND state = 'running' \
                 RETURNING cancel_requested",
                &[&id, &worker],
            )
            .await
            .map_err(StoreError::db("a job's heartbeat"))?;
        Ok(row.is_some_and(|row| !row.get::<_, bool>(0)))
    }

    /// Records the run a job writes.
    pub async fn set_job_run(&self, id: JobId, worker: &str, run: RunId) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("UPDATE jobs SET run_id = $3 WHERE id = $1 AND worker = $2", &[&id, &worker, &run])
            .await
            .map_err(StoreError::db("recording a job's run"))?;
        Ok(())
    }

    /// Ends `worker`'s hold on a job in `state` (with `error` for a failed
    /// one). Returns the job, or `None` when it is no longer the worker's.
    pub async fn finish_job(
        &self,
        id: JobId,
        worker: &str,
        state: JobState,
        error: Option<&str>,
    ) -> Result<Option<JobInfo>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = $3, error = $4, worker = NULL, heartbeat = NULL, \
             finished_at = CASE WHEN $3 IN ('succeeded', 'failed', 'cancelled') THEN now() END \
             WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING {JOB_COLUMNS}"
        );
        Ok(self.job_rows("ending a job", &sql, &[&id, &worker, &state.as_str(), &error]).await?.pop())
    }

    /// Asks for a job to be cancelled: a queued or interrupted job is
    /// cancelled at once, a running one by its worker within a heartbeat.
    /// `None` when the job has already ended.
    pub async fn cancel_job(&self, id: JobId) -> Result<Option<JobInfo>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET cancel_requested = true, \
                 state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END, \
                 finished_at = CASE WHEN state = 'running' THEN NULL ELSE now() END \
             WHERE id = $1 AND state IN ('queued', 'running', 'interrupted') RETURNING {JOB_COLUMNS}"
        );
        match self.job_rows("cancelling a job", &sql, &[&id]).await?.pop() {
            Some(job) => Ok(Some(job)),
            None => self.job(id).await.map(|_| None),
        }
    }

    /// Appends an event to a job's log; returns its sequence number (from 1).
    pub async fn add_job_event<E: Serialize>(&self, id: JobId, event: &E) -> Result<i32, StoreError> {
        let event = serde_json::to_value(event)
            .map_err(|e| StoreError::InvalidQuery { reason: format!("a job event cannot be written as JSON: {e}") })?;
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO job_events (job_id, seq, event) \
                 SELECT $1, coalesce(max(seq), 0) + 1, $2 FROM job_events WHERE job_id = $1 RETURNING seq",
                &[&id, &event],
            )
            .await
            .map_err(StoreError::db("recording a job event"))?;
        Ok(row.get(0))
    }

    /// A job's events after sequence number `after`, in order, up to `limit`.
    pub async fn job_events<E: DeserializeOwned>(
        &self,
        id: JobId,
        after: i32,
        limit: usize,
    ) -> Result<Vec<(i32, E)>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT seq, event FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&id, &after, &limit],
            )
            .await
            .map_err(StoreError::db("reading job events"))?;
        rows.iter()
            .map(|row| {
                let seq: i32 = row.get(0);
                serde_json::from_value(row.get(1))
                    .map(|event| (seq, event))
                    .map_err(|e| StoreError::Corrupt { what: format!("job {id}, event {seq}: {e}") })
            })
            .collect()
    }
}
