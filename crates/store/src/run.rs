//! [`RunHandle`]: one run being written. Rows go in through binary `COPY`
//! into a staging table and `INSERT ... ON CONFLICT` into the real one, one
//! transaction per batch: idempotent, and nothing half-written.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::Object;
use pyatlas_chunker::{ChunkId, ChunkKind};
use pyatlas_graph::EdgeKind;
use pyatlas_intent_tags::{RuleId, Severity};
use pyatlas_parser::UnitKind;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::store::{RUN_COLUMNS, run_info};
use crate::{RunId, RunInfo, RunSpec, Store, StoreError};

/// A file of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    /// Its path, relative to the project root, `/`-separated.
    pub path: String,
    /// Its dotted module name.
    pub module: String,
    /// A hash of its bytes (to tell changed files between runs).
    pub content_hash: String,
    /// Its line count.
    pub lines: u32,
    /// Its text, stored once per content hash (shared by runs), so that a
    /// run's code can be read as it was.
    pub source: String,
    /// What the writer keeps of the file to reuse its work in a later
    /// process, opaque to the store (the indexer's compact facts): given
    /// back by [`RunHandle::held_files`] while the row is carried.
    pub facts: Option<Vec<u8>>,
}

/// A file a run holds as it is (see [`RunHandle::unchanged`]), with what
/// its writer kept of it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeldFile {
    /// Its path.
    pub path: String,
    /// Its dotted module name.
    pub module: String,
    /// The hash of its bytes it was written with.
    pub content_hash: String,
    /// Its chunks in the run (each with its vector).
    pub chunks: u64,
    /// [`FileRow::facts`] as written, or as last set by
    /// [`RunHandle::set_facts`].
    pub facts: Option<Vec<u8>>,
}

/// A class, function or method of a run: its symbol table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnitRow {
    /// The file.
    pub path: String,
    /// `__qualname__`.
    pub qualname: String,
    /// The name after `def` or `class`.
    pub name: String,
    /// Class, function or method.
    pub kind: UnitKind,
    /// Line of the `def` or `class` keyword.
    pub line: u32,
    /// First line (its first decorator, or `line`).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The header as written, from `def` or `class` to its `:`, on one line.
    pub signature: String,
    /// The docstring's first non-blank line.
    pub doc: Option<String>,
}

/// A chunk of a run (see `pyatlas-chunker`'s `Chunk`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChunkRow {
    /// The chunk id: content-addressed (BLAKE3 of `text`), also the
    /// embedding key.
    pub id: ChunkId,
    /// The file.
    pub path: String,
    /// The qualified names it holds.
    pub qualnames: Vec<String>,
    /// What it holds.
    pub kind: ChunkKind,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
    /// Its tokens.
    pub token_count: u32,
    /// The text that was embedded.
    pub text: String,
    /// Domains the classifier found.
    pub domains: Vec<String>,
    /// Anything else (part index, parent, ...).
    pub metadata: serde_json::Value,
}

/// A graph edge of a run, as `pyatlas-graph` resolves it: an import from
/// module to module (`pkg.a` -> `pkg.b`, or an external package), a call
/// from unit to unit or an inheritance from class to class (units as
/// `module:qualname`, `<module>` for module-level code).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EdgeRow {
    /// The kind of edge.
    pub kind: EdgeKind,
    /// From.
    pub source: String,
    /// To.
    pub target: String,
    /// The lines of the imports or calls, ascending (empty for inheritance).
    pub lines: Vec<u32>,
    /// An import edge whose every import is under `if TYPE_CHECKING:`.
    pub type_checking: bool,
    /// An import edge whose every import is inside a function.
    pub function_level: bool,
}

/// An intent tag found in the code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TagRow {
    /// The file.
    pub path: String,
    /// Its line.
    pub line: u32,
    /// The unit or module it applies to.
    pub scope: String,
    /// `intent`, `layer`, ...
    pub key: String,
    /// `parallel`, `domain`, ...
    pub value: String,
}

/// A drift finding.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FindingRow {
    /// Stable across runs while the finding is the same (rule, place, subject).
    pub fingerprint: String,
    /// The drift rule.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// The file.
    pub path: String,
    /// The line.
    pub line: u32,
    /// What it says.
    pub message: String,
}

/// What a write did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct IngestReport {
    /// Rows sent (valid ones; rows already there are not written twice).
    pub sent: u64,
    /// Rows refused before sending, with why (their position in the input).
    pub rejected: Vec<Rejected>,
    /// Texts in which NUL bytes (which PostgreSQL text cannot hold) were
    /// replaced by U+FFFD.
    pub nul_replaced: u64,
}

impl IngestReport {
    /// A write of `sent` rows, all accepted.
    pub fn accepted(sent: u64) -> Self {
        Self { sent, ..Self::default() }
    }
}

/// A row refused by validation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    /// Its position in the input.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// One run being written. Holds the project's lock (a session advisory lock
/// on its own connection) until it is completed, failed or dropped.
pub struct RunHandle {
    store: Store,
    info: RunInfo,
    project_id: i64,
    resumed: bool,
    lock: Option<Object>,
    /// What this handle set whole: [`RunHandle::retain_files`] declared
    /// the run's tree ([`TREE`]), the edges or the findings were set.
    set: AtomicU8,
    /// Rows this handle wrote.
    written: AtomicU64,
}

impl std::fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle").field("info", &self.info).field("resumed", &self.resumed).finish_non_exhaustive()
    }
}

/// A value of the runs' plain tables (files, tags, findings).
enum Cell<'a> {
    Text(&'a str),
    Bytes(Option<&'a [u8]>),
    /// A name of the crates' own (an enum's), never holding NUL.
    Label(&'static str),
    Int(u32),
}

/// Bits of `RunHandle::set`: the run's tree was declared, its edges set,
/// its findings set.
const TREE: u8 = 1;
const EDGES: u8 = 2;
const FINDINGS: u8 = 4;

/// The condition that every live chunk of the file at `path` (an SQL
/// expression) in the run `$1` of project `$2` has its vector for the
/// model and dimensions of placeholders `model` and `dims`: half of what
/// [`RunHandle::unchanged`] and [`RunHandle::held_files`] ask of a file.
fn every_chunk_embedded(path: &str, model: &str, dims: &str) -> String {
    format!(
        "NOT EXISTS (
             SELECT 1 FROM chunk_rows c
             WHERE c.project_id = $2 AND c.path = {path} AND c.from_run <= $1 AND c.until_run > $1
                 AND NOT EXISTS (SELECT 1 FROM embeddings e
                                 WHERE e.model_id = {model} AND e.dimensions = {dims} AND e.chunk_id = c.id))"
    )
}

/// `until_run` of a live row: the largest bigint.
const LIVE: i64 = i64::MAX;

/// The tables whose rows belong to a file (by `path`).
const PATH_TABLES: [&str; 4] = ["file_rows", "unit_rows", "chunk_rows", "tag_rows"];

/// Every table of rows shared between runs.
const ROW_TABLES: [&str; 7] =
    ["file_rows", "unit_rows", "chunk_rows", "tag_rows", "edge_rows", "finding_rows", "lexeme_rows"];

/// The statements that make way for the rows of the paths in `staging`
/// (`$1` the run, `$2` its project): this run's own rows of those paths
/// deleted (written by an attempt before a resume), and the rows it
/// carried over closed.
fn replace_paths(table: &str) -> [String; 2] {
    [
        format!("DELETE FROM {table} WHERE project_id = $2 AND from_run = $1 AND path IN (SELECT path FROM staging)"),
        format!(
            "UPDATE {table} SET until_run = $1
             WHERE project_id = $2 AND until_run = {LIVE} AND path IN (SELECT path FROM staging)"
        ),
    ]
}

/// BLAKE3 of a set of edges, in any order: 32 hex digits.
fn edges_digest(edges: &[EdgeRow]) -> String {
    let mut rows: Vec<String> = edges
        .iter()
        .map(|e| {
            format!(
                "{}\0{}\0{}\0{:?}\0{}\0{}",
                e.kind.as_str(),
                e.source,
                e.target,
                e.lines,
                e.type_checking,
                e.function_level
            )
        })
        .collect();
    rows.sort_unstable();
    let mut hasher = blake3::Hasher::new();
    for row in &rows {
        hasher.update(row.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex()[..32].to_owned()
}

/// The statements that set a run's whole set of rows of `table` from
/// `staging` (`$1` the run, `$2` its project), writing only the
/// difference: what an earlier attempt of the run did undone; `staging`
/// deduplicated by `key`; the live rows not in it, column for column,
/// closed; its rows whose `key` is not live written.
fn set_whole(table: &str, key: &[&str], columns: &[&str]) -> [String; 5] {
    let [reset, reopen] = reset_run(table);
    let key_list = key.join(", ");
    let same = |columns: &[&str]| columns.iter().map(|c| format!("s.{c} = x.{c}")).collect::<Vec<_>>().join(" AND ");
    let listed = columns.join(", ");
    let from_incoming = columns.iter().map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ");
    [
        reset,
        reopen,
        format!(
            "CREATE TEMP TABLE incoming ON COMMIT DROP AS
             SELECT DISTINCT ON ({key_list}) * FROM staging ORDER BY {key_list}"
        ),
        format!(
            "UPDATE {table} x SET until_run = $1
             WHERE x.project_id = $2 AND x.until_run = {LIVE}
                 AND NOT EXISTS (SELECT 1 FROM incoming s WHERE {})",
            same(columns)
        ),
        format!(
            "INSERT INTO {table} (project_id, from_run, {listed})
             SELECT $2, $1, {from_incoming} FROM incoming s
             WHERE NOT EXISTS (SELECT 1 FROM {table} x WHERE x.project_id = $2 AND x.until_run = {LIVE} AND {})",
            same(key)
        ),
    ]
}

/// The statements that undo what run `$1` (of project `$2`) did to
/// `table`: its rows deleted, the rows it closed open again.
fn reset_run(table: &str) -> [String; 2] {
    [
        format!("DELETE FROM {table} WHERE project_id = $2 AND from_run = $1"),
        format!("UPDATE {table} SET until_run = {LIVE} WHERE project_id = $2 AND until_run = $1"),
    ]
}

fn i32_of(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// PostgreSQL text cannot hold NUL: replaced, and counted.
fn pg_text(text: &str, replaced: &mut bool) -> String {
    if text.contains('\0') {
        *replaced = true;
        text.replace('\0', "\u{FFFD}")
    } else {
        text.to_owned()
    }
}

impl Store {
    /// Starts a run of `spec.project` (created if new), waiting while
    /// another process runs the same project. A run of the project left
    /// `running` by a process that died is resumed when it has the same
    /// configuration, model and dimensions, and marked `failed` otherwise.
    /// What failed runs wrote is rolled back first, so that a new run
    /// starts from the project's last complete run.
    pub async fn begin_run(&self, spec: RunSpec) -> Result<RunHandle, StoreError> {
        if spec.embedder.dimensions == 0 {
            return Err(StoreError::InvalidQuery { reason: "a run needs at least one embedding dimension".into() });
        }
        // Until the handle holds it, the connection that takes the lock
        // leaves the pool if this future is dropped (a cancelled start):
        // back in the pool, it would keep the project locked.
        let mut lock = LockConnection(Some(self.client().await?));
        let project_id: i64 = lock
            .get()?
            .query_one(
                "INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                &[&spec.project],
            )
            .await
            .map_err(StoreError::db(format!("creating project {:?}", spec.project)))?
            .get(0);
        let key = format!("pyatlas:{}:project:{project_id}", self.schema());
        lock.get()?
            .execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&key])
            .await
            .map_err(StoreError::db("waiting for the project lock"))?;
        // Holding the lock: any run still `running` lost its writer.
        let orphans = lock
            .get()?
            .query(
                "SELECT id, config_fingerprint, model_id, dimensions, embedder FROM runs
                 WHERE project_id = $1 AND status = 'running' ORDER BY id DESC",
                &[&project_id],
            )
            .await
            .map_err(StoreError::db("looking for unfinished runs"))?;
        let dimensions = i32::try_from(spec.embedder.dimensions).unwrap_or(i32::MAX);
        let embedder = serde_json::to_value(&spec.embedder)
            .map_err(|e| StoreError::InvalidQuery { reason: format!("the embedder spec: {e}") })?;
        let mut resume = None;
        for row in &orphans {
            let id: i64 = row.get(0);
            let same = row.get::<_, &str>(1) == spec.config_fingerprint
                && row.get::<_, &str>(2) == spec.model_id
                && row.get::<_, i32>(3) == dimensions
                && row.get::<_, serde_json::Value>(4) == embedder;
            if same && resume.is_none() {
                resume = Some(id);
            } else {
                lock.get()?
                    .execute(
                        "UPDATE runs SET status = 'failed', finished_at = now(),
                         summary = summary || '{\"reason\": \"abandoned; a later run did not resume it\"}'
                     WHERE id = $1",
                        &[&id],
                    )
                    .await
                    .map_err(StoreError::db(format!("failing abandoned run {id}")))?;
            }
        }
        roll_back_failed(lock.get()?, project_id).await?;
        let id = match resume {
            Some(id) => {
                lock.get()?
                    .execute("UPDATE runs SET git_commit = $2 WHERE id = $1", &[&id, &spec.git_commit])
                    .await
                    .map_err(StoreError::db("resuming the run"))?;
                id
            }
            None => lock
                .get()?
                .query_one(
                    "INSERT INTO runs (project_id, config_fingerprint, model_id, dimensions, git_commit, embedder)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[&project_id, &spec.config_fingerprint, &spec.model_id, &dimensions, &spec.git_commit, &embedder],
                )
                .await
                .map_err(StoreError::db("creating the run"))?
                .get(0),
        };
        let info = lock
            .get()?
            .query_one(
                &format!("SELECT {RUN_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = $1"),
                &[&id],
            )
            .await
            .map_err(StoreError::db("reading the run"))?;
        Ok(RunHandle {
            store: self.clone(),
            info: run_info(&info)?,
            project_id,
            resumed: resume.is_some(),
            lock: lock.hand_on(),
            set: AtomicU8::new(0),
            written: AtomicU64::new(0),
        })
    }

    /// Waits before attempt `attempt + 1` of a write whose connection was
    /// lost; `None` when it is time to give up.
    pub(crate) async fn retry_pause(error: &StoreError, attempt: u32) -> Option<()> {
        if !error.is_transient() || attempt >= 6 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250) * (1 << attempt)).await;
        Some(())
    }

    /// Sends `rows` (already validated) through binary COPY into a staging
    /// table made by `staging` (with `types`), then runs the `merge`
    /// statements, each given the bigint `keys` as `$1`, `$2`, ... (a
    /// statement may leave some unused), in one transaction (also when
    /// there are no rows). Returns what the last statement changed.
    pub(crate) async fn copy_merge(
        &self,
        what: &str,
        staging: &str,
        types: &[Type],
        rows: &[Vec<&(dyn ToSql + Sync)>],
        merge: &[&str],
        keys: &[i64],
    ) -> Result<u64, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.copy_merge_once(what, staging, types, rows, merge, keys).await {
                Err(error) if Self::retry_pause(&error, attempt).await.is_some() => {}
                other => return other,
            }
        }
    }

    async fn copy_merge_once(
        &self,
        what: &str,
        staging: &str,
        types: &[Type],
        rows: &[Vec<&(dyn ToSql + Sync)>],
        merge: &[&str],
        keys: &[i64],
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        {
            let tx = client.transaction().await.map_err(StoreError::db(format!("{what}: starting")))?;
            tx.batch_execute(staging).await.map_err(StoreError::db(format!("{what}: staging table")))?;
            let sink = tx
                .copy_in("COPY staging FROM STDIN (FORMAT binary)")
                .await
                .map_err(StoreError::db(format!("{what}: COPY")))?;
            let writer = BinaryCopyInWriter::new(sink, types);
            futures_util::pin_mut!(writer);
            for row in rows {
                writer.as_mut().write(row).await.map_err(StoreError::db(format!("{what}: COPY row")))?;
            }
            writer.finish().await.map_err(StoreError::db(format!("{what}: COPY end")))?;
            let key_types = vec![Type::INT8; keys.len()];
            let params: Vec<&(dyn ToSql + Sync)> = keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
            let mut merged = 0;
            for statement in merge {
                let statement =
                    tx.prepare_typed(statement, &key_types).await.map_err(StoreError::db(format!("{what}: merge")))?;
                merged = tx.execute(&statement, &params).await.map_err(StoreError::db(format!("{what}: merge")))?;
            }
            tx.commit().await.map_err(StoreError::db(format!("{what}: commit")))?;
            Ok(merged)
        }
    }
}

impl RunHandle {
    /// The run.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// The run's id.
    pub fn id(&self) -> RunId {
        self.info.id
    }

    /// Whether this run continues one a dead process left unfinished.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Adds files, and their sources (once per content hash). A file
    /// already in the run (carried over from the project's last run, or
    /// added before) is replaced: write a file's units, chunks and tags
    /// first and its file row last, so that a run cut short between them
    /// never holds a file row that [`RunHandle::unchanged`] vouches for
    /// without its other rows.
    pub async fn add_files(&self, files: &[FileRow]) -> Result<IngestReport, StoreError> {
        let rows = files.iter().map(|f| {
            vec![
                Cell::Text(&f.path),
                Cell::Text(&f.module),
                Cell::Text(&f.content_hash),
                Cell::Int(f.lines),
                Cell::Text(&f.source),
                Cell::Bytes(f.facts.as_deref()),
            ]
        });
        let [delete, close] = replace_paths("file_rows");
        self.add_plain(
            "storing files",
            "path text, module text, content_hash text, lines integer, source text, facts bytea",
            &[
                "INSERT INTO sources SELECT DISTINCT ON (content_hash) content_hash, source FROM staging
                 ORDER BY content_hash ON CONFLICT DO NOTHING",
                &delete,
                &close,
                "INSERT INTO file_rows (project_id, from_run, path, module, content_hash, lines, facts)
                 SELECT DISTINCT ON (path) $2, $1, path, module, content_hash, lines, facts FROM staging ORDER BY path",
            ],
            rows,
            false,
        )
        .await
    }

    /// Adds units: the run's symbol table. The units of a file replace
    /// those the run held for it.
    pub async fn add_units(&self, units: &[UnitRow]) -> Result<IngestReport, StoreError> {
        let rows = units.iter().map(|u| {
            vec![
                Cell::Text(&u.path),
                Cell::Text(&u.qualname),
                Cell::Text(&u.name),
                Cell::Label(u.kind.as_str()),
                Cell::Int(u.line),
                Cell::Int(u.start_line),
                Cell::Int(u.end_line),
                Cell::Text(&u.signature),
                Cell::Text(u.doc.as_deref().unwrap_or_default()),
            ]
        });
        let [delete, close] = replace_paths("unit_rows");
        self.add_plain(
            "storing units",
            "path text, qualname text, name text, kind text, line integer, start_line integer, end_line integer,
             signature text, doc text",
            &[
                &delete,
                &close,
                "INSERT INTO unit_rows (project_id, from_run, path, qualname, name, kind, line, start_line, end_line,
                     signature, doc)
                 SELECT DISTINCT ON (path, qualname, line) $2, $1, path, qualname, name, kind, line, start_line,
                     end_line, signature, doc
                 FROM staging ORDER BY path, qualname, line",
            ],
            rows,
            false,
        )
        .await
    }

    /// Adds intent tags. The tags of a file replace those the run held
    /// for it.
    pub async fn add_tags(&self, tags: &[TagRow]) -> Result<IngestReport, StoreError> {
        let rows = tags.iter().map(|t| {
            vec![Cell::Text(&t.path), Cell::Int(t.line), Cell::Text(&t.scope), Cell::Text(&t.key), Cell::Text(&t.value)]
        });
        let [delete, close] = replace_paths("tag_rows");
        self.add_plain(
            "storing tags",
            "path text, line integer, scope text, key text, value text",
            &[
                &delete,
                &close,
                "INSERT INTO tag_rows (project_id, from_run, path, line, scope, key, value)
                 SELECT DISTINCT ON (path, line, key, value) $2, $1, path, line, scope, key, value
                 FROM staging ORDER BY path, line, key, value",
            ],
            rows,
            false,
        )
        .await
    }

    /// Adds chunks: texts once per id (shared by runs), locations per run.
    /// The chunks of a file replace those the run held for it.
    pub async fn add_chunks(&self, chunks: &[ChunkRow]) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        let mut owned = Vec::with_capacity(chunks.len());
        for (index, c) in chunks.iter().enumerate() {
            if c.start_line == 0 || c.end_line < c.start_line {
                report.rejected.push(Rejected {
                    index,
                    reason: format!("chunk {} has an empty line range {}..{}", c.id, c.start_line, c.end_line),
                });
                continue;
            }
            let mut replaced = false;
            let text = pg_text(&c.text, &mut replaced);
            let path = pg_text(&c.path, &mut replaced);
            let qualnames: Vec<String> = c.qualnames.iter().map(|q| pg_text(q, &mut replaced)).collect();
            let mut metadata = c.metadata.clone();
            if replaced {
                report.nul_replaced += 1;
                if let serde_json::Value::Object(map) = &mut metadata {
                    map.insert("nul_replaced".into(), serde_json::Value::Bool(true));
                } else {
                    metadata = serde_json::json!({ "nul_replaced": true });
                }
            }
            let metadata = if metadata.is_null() { serde_json::json!({}) } else { metadata };
            owned.push((
                c.id.as_str(),
                path,
                qualnames,
                c.kind.as_str(),
                i32_of(c.start_line),
                i32_of(c.end_line),
                i32_of(c.token_count),
                text,
                c.domains.clone(),
                metadata,
            ));
        }
        let rows: Vec<Vec<&(dyn ToSql + Sync)>> = owned
            .iter()
            .map(|(id, path, q, kind, s, e, t, text, d, m)| {
                vec![id as &(dyn ToSql + Sync), path, q, kind, s, e, t, text, d, m]
            })
            .collect();
        if rows.is_empty() {
            return Ok(report);
        }
        let [delete, close] = replace_paths("chunk_rows");
        self.store
            .copy_merge(
                "storing chunks",
                "CREATE TEMP TABLE staging (id text, path text, qualnames text[], kind text,
                     start_line integer, end_line integer, token_count integer, text text, domains text[],
                     metadata jsonb) ON COMMIT DROP",
                &[
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT_ARRAY,
                    Type::TEXT,
                    Type::INT4,
                    Type::INT4,
                    Type::INT4,
                    Type::TEXT,
                    Type::TEXT_ARRAY,
                    Type::JSONB,
                ],
                &rows,
                &[
                    "INSERT INTO chunk_texts (id, text, token_count)
                     SELECT DISTINCT ON (id) id, text, token_count FROM staging ORDER BY id
                     ON CONFLICT (id) DO NOTHING",
                    &delete,
                    &close,
                    "INSERT INTO chunk_rows (project_id, from_run, id, path, qualnames, kind, start_line, end_line,
                         domains, metadata)
                     SELECT DISTINCT ON (id, path, start_line) $2, $1, id, path, qualnames, kind, start_line,
                         end_line, domains, metadata
                     FROM staging ORDER BY id, path, start_line",
                ],
                &self.keys(),
            )
            .await?;
        report.sent = rows.len() as u64;
        self.wrote(report.sent);
        Ok(report)
    }

    /// Sets the run's graph edges: the whole set, replacing any the run
    /// held. Only the edges that differ from the project's last run are
    /// written; the others carry over.
    pub async fn set_edges(&self, edges: &[EdgeRow]) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        // The set the run holds already (its own, or the last complete
        // run's) is not sent again.
        let digest = edges_digest(edges);
        let [run, project] = self.keys();
        let client = self.store.client().await?;
        let held: Option<String> = client
            .query_one(
                "SELECT coalesce((SELECT edges_digest FROM runs WHERE id = $1),
                                 (SELECT edges_digest FROM runs WHERE project_id = $2 AND id < $1
                                      AND status = 'complete' ORDER BY id DESC LIMIT 1))",
                &[&run, &project],
            )
            .await
            .map_err(StoreError::db("reading the edges held"))?
            .get(0);
        let record = |digest: &str| {
            let (client, digest) = (&client, digest.to_owned());
            async move {
                client
                    .execute("UPDATE runs SET edges_digest = $2 WHERE id = $1", &[&run, &digest])
                    .await
                    .map_err(StoreError::db("storing edges"))
            }
        };
        if held.as_deref() == Some(digest.as_str()) {
            record(&digest).await?;
            self.set.fetch_or(EDGES, Ordering::Relaxed);
            return Ok(report);
        }
        // Until the new set is in, the run holds no set a digest names.
        record("writing").await?;
        let owned: Vec<_> = edges
            .iter()
            .map(|e| {
                let mut replaced = false;
                let row = (
                    e.kind.as_str(),
                    pg_text(&e.source, &mut replaced),
                    pg_text(&e.target, &mut replaced),
                    e.lines.iter().map(|&l| i32_of(l)).collect::<Vec<i32>>(),
                    e.type_checking,
                    e.function_level,
                );
                report.nul_replaced += u64::from(replaced);
                row
            })
            .collect();
        let rows: Vec<Vec<&(dyn ToSql + Sync)>> = owned
            .iter()
            .map(|(kind, source, target, lines, tc, fl)| {
                vec![kind as &(dyn ToSql + Sync), source, target, lines, tc, fl]
            })
            .collect();
        let merge = set_whole(
            "edge_rows",
            &["kind", "source", "target"],
            &["kind", "source", "target", "lines", "type_checking", "function_level"],
        );
        let merge: Vec<&str> = merge.iter().map(String::as_str).collect();
        let inserted = self
            .store
            .copy_merge(
                "storing edges",
                "CREATE TEMP TABLE staging (kind text, source text, target text, lines integer[],
                     type_checking boolean, function_level boolean) ON COMMIT DROP",
                &[Type::TEXT, Type::TEXT, Type::TEXT, Type::INT4_ARRAY, Type::BOOL, Type::BOOL],
                &rows,
                &merge,
                &self.keys(),
            )
            .await?;
        record(&digest).await?;
        report.sent = rows.len() as u64;
        self.wrote(inserted);
        self.set.fetch_or(EDGES, Ordering::Relaxed);
        Ok(report)
    }

    /// Sets the run's drift findings: the whole set, replacing any the run
    /// held; as [`RunHandle::set_edges`], only what differs is written.
    pub async fn set_findings(&self, findings: &[FindingRow]) -> Result<IngestReport, StoreError> {
        let rows = findings.iter().map(|f| {
            vec![
                Cell::Text(&f.fingerprint),
                Cell::Label(f.rule.as_str()),
                Cell::Label(f.severity.as_str()),
                Cell::Text(&f.path),
                Cell::Int(f.line),
                Cell::Text(&f.message),
            ]
        });
        let merge = set_whole(
            "finding_rows",
            &["fingerprint"],
            &["fingerprint", "rule", "severity", "path", "line", "message"],
        );
        let merge: Vec<&str> = merge.iter().map(String::as_str).collect();
        let report = self
            .add_plain(
                "storing findings",
                "fingerprint text, rule text, severity text, path text, line integer, message text",
                &merge,
                rows,
                true,
            )
            .await?;
        self.set.fetch_or(FINDINGS, Ordering::Relaxed);
        Ok(report)
    }

    /// Which of `files` the run already holds as they are: the same path,
    /// module and content hash, written by a run of the same configuration
    /// fingerprint (this one, or the project's last run, whose files a run
    /// carries over), and every chunk of it with its vector for the run's
    /// embedder. Such a file's units, chunks and tags are the ones it would
    /// be written with (that is what the fingerprint promises), so they
    /// need not be sent, nor its chunks embedded, again. In the order of
    /// `files`.
    pub async fn unchanged(&self, files: &[FileRow]) -> Result<Vec<bool>, StoreError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let modules: Vec<&str> = files.iter().map(|f| f.module.as_str()).collect();
        let hashes: Vec<&str> = files.iter().map(|f| f.content_hash.as_str()).collect();
        let [run, project] = self.keys();
        let dims = self.dimensions();
        let client = self.store.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT s.i FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS s (path, module, hash, i)
                     WHERE EXISTS (
                         SELECT 1 FROM file_rows f JOIN runs w ON w.id = f.from_run
                         WHERE f.project_id = $2 AND f.path = s.path AND f.from_run <= $1 AND f.until_run > $1
                             AND f.module = s.module AND f.content_hash = s.hash AND w.config_fingerprint = $6)
                     AND {}",
                    every_chunk_embedded("s.path", "$7", "$8")
                ),
                &[&run, &project, &paths, &modules, &hashes, &self.info.config_fingerprint, &self.info.model_id, &dims],
            )
            .await
            .map_err(StoreError::db("looking for unchanged files"))?;
        let mut unchanged = vec![false; files.len()];
        for row in rows {
            if let Some(slot) = usize::try_from(row.get::<_, i64>(0) - 1).ok().and_then(|i| unchanged.get_mut(i)) {
                *slot = true;
            }
        }
        Ok(unchanged)
    }

    /// Every file the run holds as it is (as [`RunHandle::unchanged`]
    /// means it), with the [`FileRow::facts`] it was written with: what a
    /// new process needs to reuse the work of the files that did not
    /// change, by their content hashes, without reading their rows back.
    /// By path.
    pub async fn held_files(&self) -> Result<Vec<HeldFile>, StoreError> {
        let [run, project] = self.keys();
        let dims = self.dimensions();
        let client = self.store.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT f.path, f.module, f.content_hash, f.facts,
                         (SELECT count(*) FROM chunk_rows c
                          WHERE c.project_id = $2 AND c.path = f.path AND c.from_run <= $1 AND c.until_run > $1)
                     FROM file_rows f JOIN runs w ON w.id = f.from_run
                     WHERE f.project_id = $2 AND f.from_run <= $1 AND f.until_run > $1 AND w.config_fingerprint = $3
                         AND {}
                     ORDER BY f.path",
                    every_chunk_embedded("f.path", "$4", "$5")
                ),
                &[&run, &project, &self.info.config_fingerprint, &self.info.model_id, &dims],
            )
            .await
            .map_err(StoreError::db("reading the files the run holds"))?;
        Ok(rows
            .into_iter()
            .map(|row| HeldFile {
                path: row.get(0),
                module: row.get(1),
                content_hash: row.get(2),
                facts: row.get(3),
                chunks: u64::try_from(row.get::<_, i64>(4)).unwrap_or_default(),
            })
            .collect())
    }

    /// Sets the [`FileRow::facts`] of files the run holds (carried or
    /// written), by path, where they were missing or made for another
    /// codebase layout. Facts are a writer's cache, not part of what a run
    /// shows, so a row carried from earlier runs is updated in place.
    pub async fn set_facts(&self, files: &[FileRow]) -> Result<(), StoreError> {
        let (paths, facts): (Vec<&str>, Vec<Option<&[u8]>>) =
            files.iter().map(|f| (f.path.as_str(), f.facts.as_deref())).unzip();
        if paths.is_empty() {
            return Ok(());
        }
        let [run, project] = self.keys();
        let client = self.store.client().await?;
        client
            .execute(
                "UPDATE file_rows f SET facts = s.facts FROM unnest($3::text[], $4::bytea[]) AS s (path, facts)
                 WHERE f.project_id = $2 AND f.path = s.path AND f.from_run <= $1 AND f.until_run > $1",
                &[&run, &project, &paths, &facts],
            )
            .await
            .map_err(StoreError::db("keeping file facts"))?;
        Ok(())
    }

    /// Declares the run's whole tree: the files, units, chunks and tags of
    /// every path not in `paths` leave the run. Without this call, a run
    /// holds only what was added to it; with it, it keeps the files of the
    /// project's last run that it did not replace (their rows carry over,
    /// unwritten), and the edges and findings until
    /// [`RunHandle::set_edges`] and [`RunHandle::set_findings`] set them.
    pub async fn retain_files(&self, paths: &[String]) -> Result<(), StoreError> {
        let [run, project] = self.keys();
        let mut client = self.store.client().await?;
        let tx = client.transaction().await.map_err(StoreError::db("retaining files: starting"))?;
        for table in PATH_TABLES {
            for statement in [
                format!(
                    "DELETE FROM {table} WHERE project_id = $2 AND from_run = $1
                     AND path NOT IN (SELECT unnest($3::text[]))"
                ),
                format!(
                    "UPDATE {table} SET until_run = $1
                     WHERE project_id = $2 AND until_run = {LIVE} AND path NOT IN (SELECT unnest($3::text[]))"
                ),
            ] {
                tx.execute(&statement, &[&run, &project, &paths])
                    .await
                    .map_err(StoreError::db(format!("retaining files: {table}")))?;
            }
        }
        tx.commit().await.map_err(StoreError::db("retaining files: commit"))?;
        self.set.fetch_or(TREE, Ordering::Relaxed);
        Ok(())
    }

    /// Records the verdicts of the project's own contracts (replacing any
    /// recorded before).
    pub async fn set_contracts(&self, report: &pyatlas_graph::ContractsReport) -> Result<(), StoreError> {
        let report = serde_json::to_value(report)
            .map_err(|e| StoreError::InvalidQuery { reason: format!("contract verdicts as JSON: {e}") })?;
        let client = self.store.client().await?;
        client
            .execute("UPDATE runs SET contracts = $2 WHERE id = $1", &[&self.info.id, &report])
            .await
            .map_err(StoreError::db("storing contract verdicts"))?;
        Ok(())
    }

    /// Stores rows of text and integer columns for this run through
    /// [`Store::copy_merge`]: `columns` defines the staging table, and the
    /// `merge` statements (`$1` the run, `$2` its project) move `staging`
    /// into the real table. No rows is nothing to do unless they are the
    /// `whole` set. NUL bytes in text are replaced and counted.
    async fn add_plain<'a>(
        &self,
        what: &str,
        columns: &str,
        merge: &[&str],
        rows: impl Iterator<Item = Vec<Cell<'a>>>,
        whole: bool,
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        let mut types = Vec::new();
        let mut owned: Vec<Vec<Box<dyn ToSql + Send + Sync>>> = Vec::new();
        for cells in rows {
            if owned.is_empty() {
                types.extend(cells.iter().map(|cell| match cell {
                    Cell::Text(_) | Cell::Label(_) => Type::TEXT,
                    Cell::Int(_) => Type::INT4,
                    Cell::Bytes(_) => Type::BYTEA,
                }));
            }
            let mut replaced = false;
            let row = cells
                .into_iter()
                .map(|cell| -> Box<dyn ToSql + Send + Sync> {
                    match cell {
                        Cell::Text(text) => Box::new(pg_text(text, &mut replaced)),
                        Cell::Label(label) => Box::new(label),
                        Cell::Int(value) => Box::new(i32_of(value)),
                        Cell::Bytes(bytes) => Box::new(bytes.map(<[u8]>::to_vec)),
                    }
                })
                .collect();
            report.nul_replaced += u64::from(replaced);
            owned.push(row);
        }
        if owned.is_empty() && !whole {
            return Ok(report);
        }
        let rows: Vec<Vec<&(dyn ToSql + Sync)>> =
            owned.iter().map(|row| row.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()).collect();
        let staging = format!("CREATE TEMP TABLE staging ({columns}) ON COMMIT DROP");
        let inserted = self.store.copy_merge(what, &staging, &types, &rows, merge, &self.keys()).await?;
        report.sent = rows.len() as u64;
        self.wrote(inserted);
        Ok(report)
    }

    /// The run's vector size, as the `embeddings.dimensions` column holds it.
    fn dimensions(&self) -> i32 {
        i32::try_from(self.info.dimensions).unwrap_or(i32::MAX)
    }

    /// The run and its project, as the merge statements' `$1` and `$2`.
    fn keys(&self) -> [i64; 2] {
        [self.info.id.get(), self.project_id]
    }

    /// Counts rows written by this handle (whether the run's tables need
    /// their statistics again when it completes).
    fn wrote(&self, rows: u64) {
        self.written.fetch_add(rows, Ordering::Relaxed);
    }

    /// Marks the run complete (visible to search) with a summary, and
    /// releases the project. Unless [`RunHandle::retain_files`] declared
    /// its tree, the rows it carried over from the project's last run and
    /// did not replace leave it first.
    pub async fn complete(mut self, summary: serde_json::Value) -> Result<RunInfo, StoreError> {
        // The HNSW index is built after the first bulk load rather than
        // before it, as pgvector advises: later runs add few vectors (the
        // rest come from the cache). On the lock's own connection while it
        // is alive.
        let keys = self.keys();
        let set = self.set.load(Ordering::Relaxed);
        let written = self.written.load(Ordering::Relaxed);
        match self.lock.as_mut() {
            Some(lock) if !lock.is_closed() => {
                Store::ensure_vector_index_on(lock, self.info.dimensions).await?;
                ready_for_search(lock, keys, set, written).await?;
            }
            _ => {
                self.store.ensure_vector_index(self.info.dimensions).await?;
                let client = self.store.client().await?;
                ready_for_search(&client, keys, set, written).await?;
            }
        }
        self.finish("complete", summary).await
    }

    /// Marks the run failed, with why, and releases the project.
    pub async fn fail(mut self, reason: &str) -> Result<RunInfo, StoreError> {
        self.finish("failed", serde_json::json!({ "reason": reason })).await
    }

    async fn finish(&mut self, status: &str, summary: serde_json::Value) -> Result<RunInfo, StoreError> {
        const FINISH: &str = "UPDATE runs SET status = $2, finished_at = now(), summary = summary || $3
                              WHERE id = $1 AND status = 'running'";
        let id = self.info.id;
        let mut updated = None;
        // On the lock's own connection while it is alive: no other needed.
        // Dropped while this waits, or lost, it leaves the pool (so that
        // its lock goes with it); released, it is closed all the same.
        if let Some(lock) = self.lock.take().map(|lock| LockConnection(Some(lock)))
            && let Some(client) = lock.0.as_ref()
            && !client.is_closed()
            && let Ok(count) = client.execute(FINISH, &[&id, &status, &summary]).await
        {
            updated = Some(count);
            let _ = client.execute("SELECT pg_advisory_unlock_all()", &[]).await;
        }
        let mut attempt = 0;
        while updated.is_none() {
            attempt += 1;
            let result = match self.store.client().await {
                Ok(client) => client
                    .execute(FINISH, &[&id, &status, &summary])
                    .await
                    .map_err(StoreError::db(format!("marking run {id} {status}"))),
                Err(error) => Err(error),
            };
            match result {
                Err(error) if Store::retry_pause(&error, attempt).await.is_some() => {}
                other => updated = Some(other?),
            }
        }
        if updated == Some(0) {
            return Err(StoreError::NotFound {
                what: format!("run {id} in state running (another process finished it)"),
            });
        }
        self.store.run(id).await
    }
}

/// What search reads of a run (`keys`: it and its project) once it
/// completes. The rows it only carried over leave it, but for what it `set`
/// whole: its tree (the files it did not replace stay), its edges, its
/// findings. How many of its chunks hold each lexeme (`lexeme_frequencies`,
/// lexical search's document frequencies) is the last run's count changed
/// by the chunks this run added and closed (a run completed again after a
/// resume is counted again). The tables get fresh statistics when the run
/// wrote more than a tenth of their rows (a bulk load): without them the
/// planner reads a bulk-loaded run as empty and searches it with scans
/// (measured: 790 ms against 41 ms per search on the standard library).
async fn ready_for_search(
    client: &tokio_postgres::Client,
    keys: [i64; 2],
    set: u8,
    written: u64,
) -> Result<(), StoreError> {
    let [reset, reopen] = reset_run("lexeme_rows");
    let mut carried: Vec<&str> = Vec::new();
    if set & TREE == 0 {
        carried.extend(PATH_TABLES);
    }
    if set & EDGES == 0 {
        carried.push("edge_rows");
    }
    if set & FINDINGS == 0 {
        carried.push("finding_rows");
    }
    let mut statements: Vec<String> = carried
        .iter()
        .map(|table| {
            format!("UPDATE {table} SET until_run = $1 WHERE project_id = $2 AND until_run = {LIVE} AND from_run < $1")
        })
        .collect();
    statements.extend([
        reset,
        reopen,
        format!(
            "WITH delta AS (
                 SELECT l.lexeme, sum(CASE WHEN c.from_run = $1 THEN 1 ELSE -1 END)::integer AS change
                 FROM chunk_rows c JOIN chunk_texts t ON t.id = c.id, unnest(t.lexemes) l
                 WHERE c.project_id = $2 AND (c.from_run = $1 OR c.until_run = $1)
                 GROUP BY l.lexeme
                 HAVING sum(CASE WHEN c.from_run = $1 THEN 1 ELSE -1 END) <> 0
             ), closed AS (
                 UPDATE lexeme_rows f SET until_run = $1 FROM delta d
                 WHERE f.project_id = $2 AND f.until_run = {LIVE} AND f.lexeme = d.lexeme
                 RETURNING f.lexeme, f.chunks
             )
             INSERT INTO lexeme_rows (project_id, from_run, lexeme, chunks)
             SELECT $2, $1, d.lexeme, coalesce(c.chunks, 0) + d.change
             FROM delta d LEFT JOIN closed c USING (lexeme)
             WHERE coalesce(c.chunks, 0) + d.change > 0"
        ),
    ]);
    let [run, project] = keys;
    for statement in &statements {
        let statement = client
            .prepare_typed(statement, &[Type::INT8, Type::INT8])
            .await
            .map_err(StoreError::db("counting the run's lexemes"))?;
        client.execute(&statement, &[&run, &project]).await.map_err(StoreError::db("counting the run's lexemes"))?;
    }
    let tables: Vec<&str> = ROW_TABLES.into_iter().filter(|t| *t != "lexeme_rows").collect();
    let rows: f64 = client
        .query_one(
            "SELECT coalesce(sum(greatest(reltuples, 0)), 0)::float8 FROM pg_class
             WHERE oid = ANY($1::text[]::regclass[])",
            &[&tables],
        )
        .await
        .map_err(StoreError::db("reading the tables' statistics"))?
        .get(0);
    if written as f64 * 10.0 < rows {
        return Ok(());
    }
    let analyze = format!("ANALYZE {}, chunk_texts, sources", ROW_TABLES.join(", "));
    client.batch_execute(&analyze).await.map_err(StoreError::db("analysing the run's tables"))
}

/// Rolls back what the project's failed runs wrote (newest first), once:
/// their rows deleted, the rows they closed open again.
async fn roll_back_failed(client: &mut Object, project: i64) -> Result<(), StoreError> {
    let failed = client
        .query(
            "SELECT id FROM runs WHERE project_id = $1 AND status = 'failed' AND NOT rolled_back ORDER BY id DESC",
            &[&project],
        )
        .await
        .map_err(StoreError::db("looking for failed runs"))?;
    for row in failed {
        let run: i64 = row.get(0);
        let tx = client.transaction().await.map_err(StoreError::db("rolling back a failed run"))?;
        for table in ROW_TABLES {
            for statement in reset_run(table) {
                tx.execute(&statement, &[&run, &project])
                    .await
                    .map_err(StoreError::db(format!("rolling back run {run}: {table}")))?;
            }
        }
        tx.execute("UPDATE runs SET rolled_back = true WHERE id = $1", &[&run])
            .await
            .map_err(StoreError::db("rolling back a failed run"))?;
        tx.commit().await.map_err(StoreError::db("rolling back a failed run"))?;
    }
    Ok(())
}

/// A connection that holds, or is about to hold, a project's lock: taken
/// out of the pool when dropped, so that closing it releases the lock.
struct LockConnection(Option<Object>);

impl LockConnection {
    fn get(&mut self) -> Result<&mut Object, StoreError> {
        self.0.as_mut().ok_or_else(|| StoreError::Connect { reason: "the project's lock was handed on".into() })
    }

    /// The connection, for the run's handle (which takes it out of the
    /// pool in its turn when dropped unfinished).
    fn hand_on(mut self) -> Option<Object> {
        self.0.take()
    }
}

impl Drop for LockConnection {
    fn drop(&mut self) {
        if let Some(lock) = self.0.take() {
            let _ = Object::take(lock);
        }
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        // A handle dropped unfinished: the lock's connection must not go
        // back to the pool still holding the project.
        if let Some(lock) = self.lock.take() {
            let _ = deadpool_postgres::Object::take(lock);
        }
    }
}
