//! What the questions take and answer.

use pyatlas_chunker::ChunkKind;
use pyatlas_graph::Hop;
use pyatlas_parser::UnitKind;
use pyatlas_store::{FileEntry, FindingRow, RunId, SearchMode, TagRow};
use serde::Serialize;

use crate::QueryError;

/// Which run a question asks: of a project (the only one when `None`), a
/// run (its latest complete one when `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct At {
    /// The project.
    pub project: Option<String>,
    /// The run.
    pub run: Option<RunId>,
}

impl At {
    /// The latest complete run of the only project.
    pub fn latest() -> Self {
        Self::default()
    }

    /// The latest complete run of `project`.
    pub fn project(project: impl Into<String>) -> Self {
        Self { project: Some(project.into()), run: None }
    }

    /// Run `run`.
    pub fn run(run: RunId) -> Self {
        Self { project: None, run: Some(run) }
    }
}

/// A project.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Project {
    /// Its name.
    pub name: String,
    /// How many runs it has.
    pub runs: u64,
    /// Its latest complete run.
    pub latest_complete: Option<RunId>,
}

/// Most hits one search returns.
pub const MAX_K: usize = 100;
/// Most hits a search may skip.
pub const MAX_OFFSET: usize = 1_000;
/// Longest query, in characters.
pub const MAX_QUERY: usize = 1_000;

/// A search: its words, how to rank, how many, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// The query.
    pub text: String,
    /// How hits are ranked (default hybrid).
    pub mode: SearchMode,
    /// How many hits (1 to [`MAX_K`], default 10).
    pub k: usize,
    /// Hits to skip first: the page (at most [`MAX_OFFSET`]).
    pub offset: usize,
    /// Only chunks whose path starts with this.
    pub path_prefix: Option<String>,
    /// Only chunks of this domain.
    pub domain: Option<String>,
    /// Only chunks of this kind.
    pub kind: Option<ChunkKind>,
}

impl Search {
    /// The 10 best chunks for `text`, hybrid.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            mode: SearchMode::Hybrid,
            k: 10,
            offset: 0,
            path_prefix: None,
            domain: None,
            kind: None,
        }
    }

    /// Ranks by `mode`.
    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }

    /// `k` hits.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Skips `offset` hits.
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Only under `prefix`.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Only chunks of `domain`.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Only chunks of `kind`.
    pub fn kind(mut self, kind: ChunkKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// The words both backends search for: the query trimmed, NUL bytes
    /// (which PostgreSQL text cannot hold) read as spaces.
    pub(crate) fn words(&self) -> String {
        self.text.replace('\0', " ").trim().to_owned()
    }

    /// Checks the limits.
    pub(crate) fn check(&self) -> Result<(), QueryError> {
        if self.text.trim().is_empty() {
            return Err(QueryError::bad("the query is empty"));
        }
        if self.text.chars().count() > MAX_QUERY {
            return Err(QueryError::bad(format!("the query is longer than {MAX_QUERY} characters")));
        }
        if !(1..=MAX_K).contains(&self.k) {
            return Err(QueryError::bad(format!("k must be 1 to {MAX_K}")));
        }
        if self.offset > MAX_OFFSET {
            return Err(QueryError::bad(format!("offset must be at most {MAX_OFFSET}")));
        }
        Ok(())
    }
}

/// One file, as indexed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileView {
    /// The file.
    #[serde(flatten)]
    pub file: FileEntry,
    /// Its text.
    pub source: String,
    /// Its units, by first line: the outline.
    pub units: Vec<Symbol>,
    /// The domains of its chunks, sorted.
    pub domains: Vec<String>,
    /// Its intent tags, by line.
    pub tags: Vec<TagRow>,
    /// Its drift findings, by line.
    pub findings: Vec<FindingRow>,
}

/// A unit, named as the call graph names it: `module:qualname`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitRef {
    /// The module.
    pub module: String,
    /// The qualname.
    pub qualname: String,
}

impl std::fmt::Display for UnitRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.module, self.qualname)
    }
}

impl std::str::FromStr for UnitRef {
    type Err = QueryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some((module, qualname)) if !module.is_empty() && !qualname.is_empty() => {
                Ok(Self { module: module.to_owned(), qualname: qualname.to_owned() })
            }
            _ => Err(QueryError::bad(format!("{text:?} is not a unit (expected module:qualname)"))),
        }
    }
}

impl Serialize for UnitRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A class, function or method.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// `module:qualname`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: UnitRef,
    /// Its file.
    pub path: String,
    /// The name after `def` or `class`.
    pub name: String,
    /// Class, function or method.
    pub kind: UnitKind,
    /// Line of `def` or `class`.
    pub line: u32,
    /// First line (its first decorator).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Its header on one line.
    pub signature: String,
    /// The first line of its docstring.
    pub doc: Option<String>,
}

/// A unit at the other end of a call or inheritance edge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitLink {
    /// `module:qualname` (`module:<module>` for module-level code).
    pub unit: String,
    /// Lines of the calls (empty for inheritance).
    pub lines: Vec<u32>,
}

/// One unit in context.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitContext {
    /// The unit.
    pub symbol: Symbol,
    /// Its source, from its first decorator to its last line.
    pub source: String,
    /// Who calls it, by name.
    pub callers: Vec<UnitLink>,
    /// What it calls, by name.
    pub callees: Vec<UnitLink>,
    /// The classes it derives from (a class), by name.
    pub bases: Vec<String>,
    /// The classes derived from it (a class), by name.
    pub subclasses: Vec<String>,
    /// What its module imports, by module.
    pub imports: Vec<Hop>,
}

/// A neighbourhood of the module graph.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModuleGraph {
    /// The module in the middle.
    pub module: String,
    /// How many imports away the others are, at most.
    pub depth: usize,
    /// The package depth modules were squashed to.
    pub squash: Option<usize>,
    /// The modules, sorted.
    pub modules: Vec<String>,
    /// The imports among them, by importer and imported.
    pub imports: Vec<Hop>,
}

/// The project's own modules and every import among them: the whole
/// graph, to draw, with how central each module is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectGraph {
    /// The package depth modules were squashed to.
    pub squash: Option<usize>,
    /// The modules, most central first.
    pub modules: Vec<GraphModule>,
    /// The imports among them, by importer and imported.
    pub imports: Vec<Hop>,
}

/// A module of a [`ProjectGraph`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphModule {
    /// Its dotted name.
    pub name: String,
    /// Its file, relative to the root (none for a namespace package or a
    /// squashed package).
    pub path: Option<String>,
    /// Whether it is a package (or stands for one, squashed).
    pub is_package: bool,
    /// Its PageRank over the imports of the whole graph (the external
    /// modules included), damping 0.85: the ranks of all modules sum to 1.
    pub rank: f64,
}

/// A domain's share of a run.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DomainSummary {
    /// The domain.
    pub domain: String,
    /// Its chunks.
    pub chunks: u64,
    /// The files with one of its chunks.
    pub files: u64,
}
