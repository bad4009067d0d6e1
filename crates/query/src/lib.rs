//! One query layer over a Python codebase's map: the questions a person or
//! a program asks of it, as one trait, [`CodeMap`], with two backends that
//! give the same answers.
//!
//! - [`MemoryMap`]: the embedded default, no database. The
//!   [`Indexer`](pyatlas_index::Indexer) runs over one folder into memory
//!   (parse, domains, chunks, hash embeddings, the import and call graphs,
//!   the class hierarchy, drift), and the map answers from the rows it
//!   wrote. Search is exact cosine over the vectors plus BM25 (the `bm25`
//!   crate's weights) over the chunks' code words, with the docstring's
//!   words and the unit's own names weighing more, as in the store, fused
//!   as the store fuses them; indexes (vectors by dimension, postings lists, names, symbols by
//!   prefix) give a full scan's answers at the cost of what a query touches.
//!   [`LiveMap`] keeps one up to date as the folder's files change: each
//!   answer looks first, a change is indexed incrementally (only changed
//!   files are parsed), and [`LiveMap::watch`] refreshes it after saves.
//! - [`StoreMap`]: the projects and runs that the pipeline stored in
//!   PostgreSQL ([`pyatlas_store::Store`]); any run can be asked, the latest
//!   complete one by default.
//!
//! Besides search, files, symbols, a unit in context, the module graph,
//! domains, drift and contract verdicts, a map answers with a
//! [`RepoMap`]: the units that matter most to a focus, as signatures and
//! first docstring lines, within a token budget (after aider's repo map).
//!
//! ```no_run
//! use pyatlas_query::{At, CodeMap, MemoryMap, Search};
//!
//! # async fn ask() -> Result<(), pyatlas_query::QueryError> {
//! let map = MemoryMap::index("path/to/project").await?;
//! let at = At::latest();
//! for hit in map.search(&at, &Search::new("parse a config file")).await? {
//!     println!("{}:{} {:?}", hit.path, hit.start_line, hit.qualnames);
//! }
//! let symbols = map.symbols(&at, "load_conf", 5).await?;
//! # Ok(()) }
//! ```
//!
//! # Invariants
//! - Both backends answer from the same rows, those the pipeline writes
//!   (`pyatlas_store::{FileRow, UnitRow, ChunkRow, EdgeRow, TagRow,
//!   FindingRow}`), and share every step after loading them: ordering,
//!   symbol matching, the views of a file and a unit, the module graph
//!   (rebuilt with [`ImportGraph::from_parts`](pyatlas_graph::ImportGraph::from_parts)).
//!   The shared test suite (`tests/backends.rs`) holds them to it.
//! - Source text comes only from the index: no question reads a file by a
//!   path it names.
//! - Every list is sorted by a stated key, so that answers are stable.

mod answer;
mod live;
mod memory;
mod model;
mod repo_map;
mod store;

use pyatlas_embed::BoxFuture;
use pyatlas_graph::{ContractsReport, Cycle, Hop};
use pyatlas_store::{FindingRow, RunInfo, StoreError, TagRow};

pub use live::LiveMap;
pub use memory::MemoryMap;
pub use model::{
    At, DomainSummary, FileView, GraphModule, MAX_K, MAX_OFFSET, MAX_QUERY, ModuleGraph, Project, ProjectGraph, Search,
    Symbol, UnitContext, UnitLink, UnitRef,
};
/// A folder's watch ([`LiveMap::watch`]), and why one cannot start.
pub use pyatlas_index::{Watch, WatchError};
pub use pyatlas_store::{FileEntry, RunDiff, RunId, SearchHit, SearchMode};
pub use repo_map::{DEFAULT_MAP_TOKENS, MAX_FOCUS, MAX_MAP_TOKENS, MapRequest, RepoMap};
pub use store::StoreMap;

/// Why a question has no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The project, run, file, unit or module asked for does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The question itself is wrong (a bad parameter).
    #[error("bad request: {reason}")]
    BadRequest {
        /// Why.
        reason: String,
    },
    /// The backend cannot answer now (the database is down or busy).
    #[error("unavailable: {0}")]
    Unavailable(#[source] StoreError),
    /// Indexing the folder failed.
    #[error("indexing failed: {0}")]
    Index(#[from] pyatlas_index::IndexError),
}

impl QueryError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self::BadRequest { reason: reason.into() }
    }
}

impl From<StoreError> for QueryError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what } => Self::NotFound { what },
            StoreError::InvalidQuery { reason } => Self::BadRequest { reason },
            other => Self::Unavailable(other),
        }
    }
}

/// The answer to a question, or why there is none.
pub type Answer<'a, T> = BoxFuture<'a, Result<T, QueryError>>;

/// The questions asked of a codebase's map. `Send + Sync`, usable as
/// `Arc<dyn CodeMap>`; every question names the run it asks with an [`At`].
pub trait CodeMap: Send + Sync {
    /// Every project, by name.
    fn projects(&self) -> Answer<'_, Vec<Project>>;

    /// The runs of `project`, newest first.
    fn runs<'a>(&'a self, project: &'a str) -> Answer<'a, Vec<RunInfo>>;

    /// The run `at` names.
    fn run<'a>(&'a self, at: &'a At) -> Answer<'a, RunInfo>;

    /// What changed from run `from` to run `to`.
    fn diff(&self, from: RunId, to: RunId) -> Answer<'_, RunDiff>;

    /// The chunks that answer `search`, best first.
    fn search<'a>(&'a self, at: &'a At, search: &'a Search) -> Answer<'a, Vec<SearchHit>>;

    /// Every file, by path.
    fn files<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<FileEntry>>;

    /// One file: its source as indexed, its units, domains, tags and findings.
    fn file<'a>(&'a self, at: &'a At, path: &'a str) -> Answer<'a, FileView>;

    /// Units whose name matches `query` (exactly, as a prefix, as a part, or
    /// its letters in order) or whose qualname starts with it, best first.
    fn symbols<'a>(&'a self, at: &'a At, query: &'a str, limit: usize) -> Answer<'a, Vec<Symbol>>;

    /// One unit in context: its source, callers, callees, bases,
    /// subclasses and its module's imports.
    fn unit<'a>(&'a self, at: &'a At, unit: &'a UnitRef) -> Answer<'a, UnitContext>;

    /// The modules within `depth` imports of `module`, with the imports
    /// among them; `squash` first merges modules to that package depth.
    fn module_graph<'a>(
        &'a self,
        at: &'a At,
        module: &'a str,
        depth: usize,
        squash: Option<usize>,
    ) -> Answer<'a, ModuleGraph>;

    /// The project's own modules, most central first, and the imports
    /// among them; `squash` first merges modules to that package depth.
    fn project_graph<'a>(&'a self, at: &'a At, squash: Option<usize>) -> Answer<'a, ProjectGraph>;

    /// A shortest chain of imports from `from` to `to`, with lines (`None`
    /// when there is none).
    fn chain<'a>(&'a self, at: &'a At, from: &'a str, to: &'a str) -> Answer<'a, Option<Vec<Hop>>>;

    /// The import cycles.
    fn cycles<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<Cycle>>;

    /// Chunks and files per domain, by domain.
    fn domains<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<DomainSummary>>;

    /// The drift findings, by path and line.
    fn findings<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<FindingRow>>;

    /// The intent tags, by path and line.
    fn tags<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<TagRow>>;

    /// The verdicts of the project's own contracts (import-linter's,
    /// tach's) when the run was made; `None` when it declares none.
    fn contracts<'a>(&'a self, at: &'a At) -> Answer<'a, Option<ContractsReport>>;

    /// A map of the codebase within a token budget, for an agent's
    /// context: the units that matter most to the focus (PageRank over
    /// calls, inheritance and imports), as signatures and first docstring
    /// lines, grouped by file.
    fn repo_map<'a>(&'a self, at: &'a At, request: &'a MapRequest) -> Answer<'a, RepoMap>;
}
