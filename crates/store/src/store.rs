//! [`Store`]: the pool, migrations, projects and runs.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use pyatlas_embed::{Embedder, EmbedderSpec};
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;
use tokio_postgres::types::Type;

use crate::{StoreConfig, StoreError};

/// The migrations, in order. Each runs once per schema, in one transaction
/// with the others that are missing, under an advisory lock.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "typed runs and edges", include_str!("../migrations/0002_typed_runs_and_edges.sql")),
    (3, "code lexemes", include_str!("../migrations/0003_code_lexemes.sql")),
    (4, "sources and units", include_str!("../migrations/0004_sources_and_units.sql")),
    (5, "name lexemes", include_str!("../migrations/0005_name_lexemes.sql")),
    (6, "jobs", include_str!("../migrations/0006_jobs.sql")),
    (7, "contracts", include_str!("../migrations/0007_contracts.sql")),
    (8, "symbol prefixes", include_str!("../migrations/0008_symbol_prefixes.sql")),
    (9, "lexeme frequencies", include_str!("../migrations/0009_lexeme_frequencies.sql")),
    (10, "shared rows", include_str!("../migrations/0010_shared_rows.sql")),
    (11, "file facts", include_str!("../migrations/0011_file_facts.sql")),
];

/// Advisory-lock key of migrations and index creation (any schema).
const DDL_LOCK: &str = "pyatlas-store ddl";

/// A handle on the database: cheap to clone, shared by tasks.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) schema: String,
    vector_type: OnceCell<Type>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("Store")
            .field("schema", &self.inner.schema)
            .field("pool_size", &status.max_size)
            .field("pool_available", &status.available)
            .finish_non_exhaustive()
    }
}

crate::id::row_id!(
    /// A run's id.
    RunId,
    "runs.id"
);

/// Whether a run can be searched.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Being written (or abandoned by a process that died: the next run of
    /// the project resumes or fails it).
    Running,
    /// Finished: visible to search.
    Complete,
    /// Given up.
    Failed,
}

impl RunStatus {
    /// The name stored and printed: `running`, `complete`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no [`RunStatus`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown run status {0:?} (expected running, complete or failed)")]
pub struct UnknownRunStatus(pub String);

impl std::str::FromStr for RunStatus {
    type Err = UnknownRunStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Running, Self::Complete, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownRunStatus(text.to_owned()))
    }
}

/// One run, as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// The run's id.
    pub id: RunId,
    /// The project's name.
    pub project: String,
    /// Its status.
    pub status: RunStatus,
    /// When it started (ISO 8601, from the server's clock).
    pub started_at: String,
    /// When it finished, if it did.
    pub finished_at: Option<String>,
    /// The git commit of the tree, when there is one.
    pub git_commit: Option<String>,
    /// A fingerprint of the configuration that produced it.
    pub config_fingerprint: String,
    /// The embedding model id: the key of the run's vectors in the cache.
    pub model_id: String,
    /// The embedder, as data: what a query must be embedded with.
    pub embedder: EmbedderSpec,
    /// The embedding dimensions.
    pub dimensions: usize,
    /// What the run's writer recorded at the end (counts, timings).
    pub summary: serde_json::Value,
}

/// What a new run is.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub(crate) project: String,
    pub(crate) config_fingerprint: String,
    pub(crate) model_id: String,
    pub(crate) embedder: EmbedderSpec,
    pub(crate) git_commit: Option<String>,
}

impl RunSpec {
    /// A run of `project` whose chunks are embedded by `embedder`.
    pub fn for_embedder(project: impl Into<String>, embedder: &dyn Embedder) -> Self {
        Self::new(project, embedder.model_id(), embedder.spec())
    }

    /// A run of `project` whose vectors are keyed by `model_id` in the
    /// cache and made by the embedder `spec` describes.
    pub fn new(project: impl Into<String>, model_id: impl Into<String>, spec: EmbedderSpec) -> Self {
        Self {
            project: project.into(),
            config_fingerprint: String::new(),
            model_id: model_id.into(),
            embedder: spec,
            git_commit: None,
        }
    }

    /// A fingerprint of the configuration (only a run with the same one is resumed).
    pub fn config_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.config_fingerprint = fingerprint.into();
        self
    }

    /// The tree's git commit.
    pub fn git_commit(mut self, commit: Option<String>) -> Self {
        self.git_commit = commit;
        self
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// A run of this spec that no store holds (an index held in memory),
    /// started now.
    pub fn unstored(&self, id: RunId) -> RunInfo {
        RunInfo {
            id,
            project: self.project.clone(),
            status: RunStatus::Running,
            started_at: utc_now(),
            finished_at: None,
            git_commit: self.git_commit.clone(),
            config_fingerprint: self.config_fingerprint.clone(),
            model_id: self.model_id.clone(),
            embedder: self.embedder.clone(),
            dimensions: self.embedder.dimensions,
            summary: serde_json::Value::Object(serde_json::Map::new()),
        }
    }
}

impl RunInfo {
    /// Marks a run that no store holds complete, now, with its summary.
    pub fn completed(mut self, summary: serde_json::Value) -> Self {
        self.status = RunStatus::Complete;
        self.finished_at = Some(utc_now());
        self.summary = summary;
        self
    }
}

/// Now, as PostgreSQL prints a `timestamptz` in UTC (`2026-11-30 09:35:23+00`).
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}+00", rest / 3_600, rest % 3_600 / 60, rest % 60)
}

pub(crate) const RUN_COLUMNS: &str = "r.id, p.name, r.status, r.started_at::text, r.finished_at::text, r.git_commit, \
     r.config_fingerprint, r.model_id, r.dimensions, r.summary, r.embedder";

pub(crate) fn run_info(row: &tokio_postgres::Row) -> Result<RunInfo, StoreError> {
    let id = RunId(row.get(0));
    let corrupt = |what: String| StoreError::Corrupt { what: format!("run {id}: {what}") };
    let status: &str = row.get(2);
    let embedder: serde_json::Value = row.get(10);
    Ok(RunInfo {
        id,
        project: row.get(1),
        status: status.parse().map_err(|e: UnknownRunStatus| corrupt(e.to_string()))?,
        started_at: row.get(3),
        finished_at: row.get(4),
        git_commit: row.get(5),
        config_fingerprint: row.get(6),
        model_id: row.get(7),
        dimensions: usize::try_from(row.get::<_, i32>(8)).map_err(|e| corrupt(format!("dimensions: {e}")))?,
        summary: row.get(9),
        embedder: serde_json::from_value(embedder).map_err(|e| corrupt(format!("embedder: {e}")))?,
    })
}

impl Store {
    /// Connects, creates the schema and the `vector` extension if needed,
    /// and applies the migrations this crate has and the database lacks.
    pub async fn connect(config: StoreConfig) -> Result<Self, StoreError> {
        config.check()?;
        let mut postgres = config.postgres.clone();
        let mut options = format!("-c search_path={},public", config.schema);
        if let Some(timeout) = config.statement_timeout {
            options.push_str(&format!(" -c statement_timeout={}", timeout.as_millis().max(1)));
        }
        postgres.options(options);
        if postgres.get_application_name().is_none() {
            postgres.application_name("pyatlas-store");
        }
        postgres.connect_timeout(Duration::from_secs(10));
        let manager = Manager::from_config(postgres, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(Duration::from_secs(15)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Config { reason: format!("cannot build the connection pool: {e}") })?;
        let store = Self { inner: Arc::new(Inner { pool, schema: config.schema, vector_type: OnceCell::new() }) };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.inner.pool.get().await.map_err(|e| StoreError::Connect { reason: describe_pool_error(&e) })
    }

    /// Applies missing migrations; returns the versions applied. Safe to
    /// run twice, and from two processes at once.
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::db("starting the migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&DDL_LOCK])
            .await
            .map_err(StoreError::db("waiting for the migration lock"))?;
        tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public").await.map_err(|e| {
            StoreError::NoVector { reason: e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned()) }
        })?;
        let schema = &self.inner.schema;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                 version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await
        .map_err(StoreError::db("creating the schema"))?;
        let current: i32 = tx
            .query_one(&format!("SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations"), &[])
            .await
            .map_err(StoreError::db("reading the schema version"))?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > known {
            return Err(StoreError::SchemaTooNew { found: current, known });
        }
        let mut applied = Vec::new();
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(&format!("SET LOCAL search_path TO {schema}, public;\n{sql}"))
                .await
                .map_err(StoreError::db(format!("applying migration {version} ({name})")))?;
            tx.execute(
                &format!("INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)"),
                &[version, name],
            )
            .await
            .map_err(StoreError::db("recording the migration"))?;
            applied.push(*version);
        }
        tx.commit().await.map_err(StoreError::db("committing the migration"))?;
        Ok(applied)
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i32, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
            .await
            .map_err(StoreError::db("reading the schema version"))?;
        Ok(row.get(0))
    }

    /// The `vector` type, whose oid differs from database to database
    /// (looked up once, on the first call).
    pub(crate) async fn vector_type(&self) -> Result<Type, StoreError> {
        self.inner
            .vector_type
            .get_or_try_init(|| async {
                let client = self.client().await?;
                let statement =
                    client.prepare("SELECT $1::vector").await.map_err(StoreError::db("looking up the vector type"))?;
                Ok(statement.params()[0].clone())
            })
            .await
            .cloned()
    }

    /// Creates the HNSW index (cosine) for vectors of `dimensions`, unless
    /// it exists: `vector` up to 2,000 dimensions, `halfvec` up to 4,000
    /// (pgvector's limits); above that, search scans exactly.
    pub async fn ensure_vector_index(&self, dimensions: usize) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        Self::ensure_vector_index_on(&mut client, dimensions).await
    }

    /// [`Store::ensure_vector_index`] on a connection the caller has.
    pub(crate) async fn ensure_vector_index_on(client: &mut Object, dimensions: usize) -> Result<(), StoreError> {
        let Some((cast, ops)) = index_cast(dimensions) else { return Ok(()) };
        let tx = client.transaction().await.map_err(StoreError::db("starting the index creation"))?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&DDL_LOCK])
            .await
            .map_err(StoreError::db("waiting for the DDL lock"))?;
        // The HNSW build is much faster when its graph fits in memory
        // (pgvector's advice); the server's own setting wins if larger.
        tx.batch_execute(
            "SELECT set_config('maintenance_work_mem',
                 greatest(pg_size_bytes(current_setting('maintenance_work_mem')), pg_size_bytes('1GB')) / 1024 || 'kB',
                 true)",
        )
        .await
        .map_err(StoreError::db("raising maintenance_work_mem for the index build"))?;
        // `dimensions` is a number, not text: nothing to inject.
        tx.batch_execute(&format!(
            "CREATE INDEX IF NOT EXISTS embeddings_hnsw_{dimensions} ON embeddings
                 USING hnsw ((embedding::{cast}) {ops}) WHERE dimensions = {dimensions}"
        ))
        .await
        .map_err(StoreError::db(format!("creating the HNSW index for {dimensions} dimensions")))?;
        tx.commit().await.map_err(StoreError::db("committing the index creation"))?;
        // Fresh statistics, so that the planner sees the bulk load and the index.
        client.batch_execute("ANALYZE embeddings").await.map_err(StoreError::db("analysing the embeddings"))
    }

    /// `name` when given; else the only project of the database, or an
    /// error that says there is none or names them all.
    pub async fn project_or_only(&self, name: Option<&str>) -> Result<String, StoreError> {
        if let Some(name) = name {
            return Ok(name.to_owned());
        }
        match self.projects().await?.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(StoreError::NotFound { what: "a project (the database holds none yet)".into() }),
            many => Err(StoreError::InvalidQuery {
                reason: format!("several projects ({}): name the one to use", many.join(", ")),
            }),
        }
    }

    /// Run `run` when given, else the newest complete run of `project`.
    pub async fn run_or_latest(&self, project: &str, run: Option<RunId>) -> Result<RunInfo, StoreError> {
        match run {
            Some(id) => self.run(id).await,
            None => self.latest_complete_run(project).await,
        }
    }

    /// The names of the projects, sorted.
    pub async fn projects(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT name FROM projects ORDER BY name", &[])
            .await
            .map_err(StoreError::db("listing the projects"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The runs of `project`, newest first.
    pub async fn runs(&self, project: &str) -> Result<Vec<RunInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id
                     WHERE p.name = $1 ORDER BY r.id DESC"
                ),
                &[&project],
            )
            .await
            .map_err(StoreError::db(format!("listing the runs of project {project:?}")))?;
        rows.iter().map(run_info).collect()
    }

    /// One run.
    pub async fn run(&self, id: RunId) -> Result<RunInfo, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = $1"),
                &[&id],
            )
            .await
            .map_err(StoreError::db(format!("reading run {id}")))?;
        row.as_ref().map(run_info).ok_or_else(|| StoreError::NotFound { what: format!("run {id}") })?
    }

    /// The newest complete run of `project`: what search sees by default.
    pub async fn latest_complete_run(&self, project: &str) -> Result<RunInfo, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id
                     WHERE p.name = $1 AND r.status = 'complete' ORDER BY r.id DESC LIMIT 1"
                ),
                &[&project],
            )
            .await
            .map_err(StoreError::db(format!("finding the latest run of project {project:?}")))?;
        row.as_ref()
            .map(run_info)
            .ok_or_else(|| StoreError::NotFound { what: format!("a complete run of project {project:?}") })?
    }
}

/// The cast and operator class of the HNSW index for `dimensions`.
pub(crate) fn index_cast(dimensions: usize) -> Option<(String, &'static str)> {
    match dimensions {
        1..=2000 => Some((format!("vector({dimensions})"), "vector_cosine_ops")),
        2001..=4000 => Some((format!("halfvec({dimensions})"), "halfvec_cosine_ops")),
        _ => None,
    }
}

fn describe_pool_error(error: &deadpool_postgres::PoolError) -> String {
    use deadpool_postgres::PoolError;
    match error {
        PoolError::Timeout(_) => "timed out waiting for a free connection (pool exhausted)".into(),
        PoolError::Backend(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
        other => other.to_string(),
    }
}
