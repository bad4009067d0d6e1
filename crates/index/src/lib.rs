//! The pyatlas index pipeline as a library: a Python codebase into a
//! versioned, searchable run in PostgreSQL with pgvector.
//!
//! An [`Indexer`] composes the crates: discovery and parsing on a worker
//! pool (`pyatlas-parser`), domains (`pyatlas-classifier`), chunks
//! (`pyatlas-chunker`), intent tags and drift (`pyatlas-intent-tags`), the
//! import graph, call graph and class hierarchy (`pyatlas-graph`), any
//! [`Embedder`](pyatlas_embed::Embedder) with the store as its cache
//! (`pyatlas-embed`), and the store (`pyatlas-store`).
//!
//! ```no_run
//! use pyatlas_embed::HashEmbedder;
//! use pyatlas_index::{IndexEvent, Indexer};
//! use pyatlas_store::{Store, StoreConfig};
//!
//! # async fn index() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::connect(StoreConfig::new("postgres://localhost/pyatlas")?).await?;
//! let indexer = Indexer::builder("path/to/project")
//!     .embedder(HashEmbedder::default())
//!     .observer(|event: &IndexEvent| eprintln!("{event:?}"))
//!     .build()?;
//! let summary = indexer.run(&store).await?;
//! println!("run {:?}: {} files, {} chunks, {} embedded", summary.run, summary.files, summary.chunks, summary.embedded);
//! # Ok(()) }
//! ```
//!
//! # What a run is
//! - **Streaming, compact memory.** Files are parsed, classified and chunked
//!   on the parser's worker pool and reach the store through a bounded
//!   channel, in batches of chunks; only each file's compact drift facts
//!   (units, calls, imports, tags, the domains the rules follow) are kept
//!   until the end, when the graphs are linked and drift is checked once.
//! - **Events.** An [`IndexObserver`] hears typed [`IndexEvent`]s: stages,
//!   progress after every batch, warnings. A terminal draws a bar from
//!   them; a server streams them.
//! - **Cancellation.** A [`CancellationToken`]
//!   stops a run promptly: the parse stops, nothing more is written, and
//!   [`Indexer::run`] returns [`IndexError::Cancelled`]. A cancelled (or
//!   killed) run is resumable, never half-written: every write is one
//!   idempotent transaction, and the next run of the project with the same
//!   fingerprint continues it.
//! - **One fingerprint** ([`Indexer::fingerprint`]) covers everything a run
//!   stores: the chunker's configuration and tokenizer, the discovery
//!   options, the classifier's rules as loaded, the intent configuration,
//!   the embedder (kind, model, dimensions, options) and the pyatlas
//!   version. A run is resumed only with the same fingerprint, so a resumed
//!   run never mixes two configurations.
//! - **The project's own contracts**: when the root declares
//!   import-linter contracts or a `tach.toml`, their verdicts are checked
//!   as lint-imports and tach check them and stored with the run.
//! - **Edges as the graphs resolve them**: imports module to module (with
//!   lines, `TYPE_CHECKING` and function-level flags, external packages
//!   squashed), calls unit to unit and inheritance class to class, resolved
//!   ones only; the unresolved calls are counted in the [`IndexSummary`].
//! - **Incremental runs.** [`Indexer::run_incremental`] with a
//!   [`FileCache`] parses, classifies and chunks only the files that changed
//!   since the last run with that cache (size and modification time, then
//!   the BLAKE3 of the bytes; deletions and renames are seen by the walk),
//!   and links the graphs, drift and contracts again from every file's
//!   facts, so the run equals a cold run of the tree. Into a store, even
//!   [`Indexer::run`] of a new process parses only the files whose bytes
//!   changed: the store keeps each file's compact facts with its row
//!   ([`RunSink::held_files`]). [`watch`] reports a folder's saves once a
//!   burst is quiet, for `index --watch` and live maps.
//! - **A typed [`IndexSummary`]**, also stored with the run: files, chunks,
//!   cached, embedded, failures with their reasons, tokens, requests, 429s,
//!   edges, findings and the seconds of each stage.

mod cache;
mod events;
mod feed;
mod fingerprint;
mod git;
mod indexer;
mod sink;
mod stored;
mod summary;
mod watch;
mod work;

use std::path::PathBuf;

pub use cache::{FileCache, RowSource};
pub use events::{IndexEvent, IndexObserver, Progress, Stage};
pub use indexer::{Indexer, IndexerBuilder};
pub use sink::{MemoryTarget, RunRows, RunSink, RunTarget};
pub use summary::{CallCounts, ContractCounts, EdgeCounts, EmbedFailure, IndexSummary, StageTimes};
/// The token that cancels a run.
pub use tokio_util::sync::CancellationToken;
pub use watch::{DEFAULT_DEBOUNCE, Heard, Watch, WatchError, watch};
pub use work::FileRows;

/// What stops a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The root cannot be read.
    #[error("cannot read the root {}", path.display())]
    Root {
        /// The root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The tree cannot be walked.
    #[error("cannot discover the codebase")]
    Discover(#[from] pyatlas_parser::DiscoverError),
    /// The parser cannot start (its grammar, or its worker threads).
    #[error("cannot start the parser")]
    Parser(#[from] pyatlas_parser::StartError),
    /// The classifier's rules are invalid.
    #[error("the classifier's rules")]
    Rules(#[from] pyatlas_classifier::Error),
    /// The intent configuration is invalid, or relies on a domain the
    /// classifier does not have.
    #[error("the intent configuration")]
    Intent(#[from] pyatlas_intent_tags::ConfigError),
    /// The chunker cannot work with its configuration.
    #[error("the chunker's configuration")]
    Chunker(#[from] pyatlas_chunker::Error),
    /// A store operation failed; the run is left to be resumed.
    #[error("the store")]
    Store(#[from] pyatlas_store::StoreError),
    /// The run was cancelled; the next run of the project resumes it.
    #[error("run {run} was cancelled; the next index of the project with the same configuration resumes it")]
    Cancelled {
        /// The run left unfinished.
        run: pyatlas_store::RunId,
    },
    /// The pipeline's parse thread cannot start.
    #[error("cannot start the pipeline's parse thread")]
    Thread(#[source] std::io::Error),
    /// A worker thread panicked (a bug: please report it).
    #[error("a worker thread of the pipeline panicked")]
    Panicked,
}
