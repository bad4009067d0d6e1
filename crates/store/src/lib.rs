//! PostgreSQL + pgvector storage for pyatlas: versioned analysis runs,
//! binary `COPY` ingest, an embedding cache, and semantic and hybrid search.
//!
//! - [`Store::connect`] builds a `deadpool-postgres` pool and applies the
//!   embedded, versioned migrations (safe to run twice, and from two
//!   processes at once: they run under an advisory lock).
//! - [`Store::begin_run`] starts a run of a project, holding the project's
//!   lock (a second writer of the same project waits); a run left `running`
//!   by a process that died is resumed or failed. [`RunHandle`] writes
//!   files, chunks, edges, tags and findings; [`RunHandle::complete`] makes
//!   the run visible to search, atomically.
//! - **Runs share the rows that did not change.** A row lives from the run
//!   that wrote it to the run that replaced or removed it, so a run where
//!   k files changed writes the rows of those k files, the edges and
//!   findings that differ, and the lexeme counts that moved; storage grows
//!   with what changed. [`RunHandle::unchanged`] tells the files a run
//!   already holds as they are, [`RunHandle::retain_files`] declares the
//!   run's tree (the rest leave it), [`RunHandle::set_edges`] and
//!   [`RunHandle::set_findings`] set whole sets and write their
//!   difference. What a failed run wrote is rolled back when the project's
//!   next run begins. Reads see each run whole, through views.
//! - Every write goes through binary `COPY` into a staging table and
//!   SQL that merges it into the real one, in one transaction per batch:
//!   idempotent, nothing half-written, retried on a new connection when
//!   the connection was lost. Rows are validated first: vector sizes and
//!   finite values; NUL bytes, which PostgreSQL text cannot hold, are
//!   replaced by U+FFFD and counted, never fatal.
//! - [`Store::embedding_cache`] is the embed crate's [`EmbeddingCache`]:
//!   vectors are keyed by (model id, dimensions, chunk id), so a chunk
//!   already embedded, by any run, is not embedded again.
//! - [`Store::search`], in three [`SearchMode`]s, filtered by project, run
//!   (latest complete by default), path prefix, domain and kind: cosine
//!   nearest neighbours on an HNSW index; full-text search that fits code
//!   (ranked OR with BM25-like word weights, identifiers split and kept
//!   whole, docstrings and names weighted, exact names first); and both,
//!   fused by weighted reciprocal rank fusion, the parts of a split unit
//!   merged into one hit.
//! - [`Store::runs`] and [`Store::diff`]: history.
//! - Index jobs ([`Store::enqueue_job`], [`Store::claim_job`], ...) and
//!   their event logs live in the database, so that any process on it can
//!   see, stream or cancel a job that another runs.
//!
//! All queries are parametrised; the only values written into SQL text are
//! the schema name (checked to be a plain identifier), dimension counts
//! (numbers), and the crate's own table names and constants.
//!
//! [`EmbeddingCache`]: pyatlas_embed::EmbeddingCache
//!
//! # Schema (version 10)
//!
//! In schema `pyatlas` (configurable); the `vector` extension in `public`.
//!
//! | table | key | columns |
//! |---|---|---|
//! | `schema_migrations` | `version` | `name`, `applied_at` |
//! | `projects` | `id` | `name` (unique), `created_at` |
//! | `runs` | `id` | `project_id`, `started_at`, `finished_at`, `status` (`running`/`complete`/`failed`), `git_commit`, `config_fingerprint`, `model_id` (the cache key), `dimensions`, `embedder` (jsonb, an `EmbedderSpec`), `summary` (jsonb), `contracts` (jsonb), `rolled_back` |
//! | `files` | `(run_id, path)` | `module`, `content_hash`, `lines` |
//! | `chunk_texts` | `id` (chunk id) | `text`, `token_count`, `lexemes` (tsvector: English words with identifiers split and kept whole, the docstring weighted; GIN index) |
//! | `chunks` | `(run_id, id, path, start_line)` | `qualnames`, `kind` (a `ChunkKind`, checked), `end_line`, `domains`, `metadata` (jsonb), `name_lexemes`, `name_keys` |
//! | `embeddings` | `(model_id, dimensions, chunk_id)` | `embedding` (`vector`), `created_at` |
//! | `edges` | `(run_id, kind, source, target)` | `kind` (`import`/`call`/`inherits`), `lines` (integer[]), `type_checking`, `function_level` |
//! | `tags` | `(run_id, path, line, key, value)` | `scope` |
//! | `findings` | `(run_id, fingerprint)` | `rule` (`D001`...), `severity` (`error`/`warning`), `path`, `line`, `message` |
//! | `sources` | `hash` (a file's `content_hash`) | `text`: the file as indexed, shared by runs |
//! | `units` | `(run_id, path, qualname, line)` | `name`, `kind`, `start_line`, `end_line`, `signature`, `doc` (first docstring line) |
//! | `jobs` | `id` | `project`, `root`, `state` (`queued`/`running`/`succeeded`/`failed`/`cancelled`/`interrupted`), `cancel_requested`, `run_id`, `worker`, `heartbeat`, `error`, `created_at`, `started_at`, `finished_at` |
//! | `job_events` | `(job_id, seq)` | `event` (jsonb), `at` |
//! | `lexeme_frequencies` | `(run_id, lexeme)` | `chunks`: how many of the complete run's chunks hold the lexeme |
//!
//! `files`, `units`, `chunks`, `tags`, `edges`, `findings` and
//! `lexeme_frequencies` are views: each run's rows, with its `run_id`,
//! over the tables `file_rows`, `unit_rows`, `chunk_rows`, `tag_rows`,
//! `edge_rows`, `finding_rows` and `lexeme_rows`, whose rows carry their
//! `project_id`, `from_run` (the run that wrote them) and `until_run` (the
//! run that replaced or removed them, exclusive; the largest bigint while
//! live): a row belongs to every run of its project from the one to the
//! other. The functions `files_in(run)`, `units_in(run)`, `chunks_in(run)`,
//! `tags_in(run)`, `edges_in(run)`, `findings_in(run)` and
//! `lexemes_in(run)` return the same rows for one run; PostgreSQL inlines
//! them, so the planner sees the run (through the views it cannot), and
//! the store's own reads use them.
//!
//! Version 2 (migrated in place from version 1) records each run's
//! embedder, stores graph edges with all their lines and flags, and checks
//! the enumerations of chunk kinds, edge kinds, rules and severities.
//! Version 3 adds code lexemes to chunk texts; version 4 the sources and
//! the symbol table; version 5 each chunk's name lexemes and name keys
//! (GIN-indexed, for exact-name look-up); version 6 index jobs and their
//! events; version 7 `runs.contracts`, the verdicts of the project's own
//! contracts (jsonb, NULL when it declares none); version 8 indexes units
//! by the prefixes of their lower-cased names and qualnames (symbol
//! look-up); version 9 keeps each complete run's lexeme frequencies
//! (counted when the run completes; lexical search's document
//! frequencies); version 10 lets runs share the rows that did not change
//! (the rows of earlier versions belong to their one run); version 11
//! keeps with each file's row what its writer made of it
//! (`file_rows.facts`, opaque bytes: the indexer's compact facts; see
//! [`RunHandle::held_files`]).
//!
//! Chunk texts are content-addressed and shared by runs, so an unchanged
//! chunk costs a location row per run, not a text. `embeddings.embedding` is
//! a `vector` of any size; for each dimension count in use there is a
//! partial HNSW index (cosine), built when the first run with that count
//! completes (after its bulk load, as pgvector advises), on `embedding::vector(n)`, or on
//! `embedding::halfvec(n)` from 2,001 to 4,000 dimensions (pgvector's index
//! limits); above 4,000, search scans exactly.
//!
//! # Example
//!
//! ```no_run
//! use pyatlas_store::{RunSpec, SearchQuery, Store, StoreConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::connect(StoreConfig::from_env()?).await?;
//! let run = store.begin_run(RunSpec::for_embedder("shop", &pyatlas_embed::HashEmbedder::new(384)?)).await?;
//! // run.add_files(..), run.add_chunks(..), store.put_embeddings(..)
//! run.complete(serde_json::json!({ "files": 0 })).await?;
//! let hits = store.search(&SearchQuery::new("shop", vec![0.0; 384]).k(5)).await?;
//! # Ok(()) }
//! ```

mod cache;
mod config;
mod error;
mod history;
mod id;
mod jobs;
mod read;
mod run;
mod search;
mod store;

pub use cache::StoreCache;
pub use config::StoreConfig;
pub use error::StoreError;
pub use history::{ChunkRef, RunDiff};
pub use jobs::{JobId, JobInfo, JobState, UnknownJobState};
pub use read::FileEntry;
pub use run::{ChunkRow, EdgeRow, FileRow, FindingRow, HeldFile, IngestReport, Rejected, RunHandle, TagRow, UnitRow};
pub use search::{HYBRID_POOL, SearchHit, SearchMode, SearchQuery, code_words, fuse, is_name, merge_parts};
pub use store::{RunId, RunInfo, RunSpec, RunStatus, Store, UnknownRunStatus};
