//! [`IndexSummary`]: what a run did, as data (also stored with the run).

use pyatlas_chunker::ChunkId;
use pyatlas_parser::WalkProblem;
use pyatlas_store::RunId;
use serde::{Deserialize, Serialize};

/// What a completed run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IndexSummary {
    /// The run.
    pub run: Option<RunId>,
    /// It continued a run that a dead process left unfinished.
    pub resumed: bool,
    /// Files stored.
    pub files: u64,
    /// Of those, files not parsed: their work was reused from an earlier
    /// run ([`Indexer::run_incremental`](crate::Indexer::run_incremental)'s
    /// cache, or the facts the store kept with a file it holds as it is).
    #[serde(default)]
    pub reused: u64,
    /// Of those, files the target already held as they are (the store's
    /// last run, or an attempt before a resume): their rows were not sent
    /// again but carried over.
    #[serde(default)]
    pub carried: u64,
    /// Chunks stored.
    pub chunks: u64,
    /// Chunks whose vectors were already in the store (any run, any project).
    pub cached: u64,
    /// Chunks embedded in this run.
    pub embedded: u64,
    /// Chunks that got no vector, each with why.
    pub failures: Vec<EmbedFailure>,
    /// Rows the store refused (validation), each with why.
    pub rejected: Vec<String>,
    /// Tokens sent to the embedder.
    pub tokens: u64,
    /// Requests sent to the embedder.
    pub requests: u64,
    /// Requests the provider refused with 429.
    pub rate_limited: u64,
    /// Edges stored, by kind.
    pub edges: EdgeCounts,
    /// Calls that were not linked to a unit: counted, never guessed.
    pub calls: CallCounts,
    /// Drift findings stored.
    pub findings: u64,
    /// The project's own contracts (import-linter's, tach's), when it
    /// declares some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contracts: Option<ContractCounts>,
    /// What the walk could not read.
    pub problems: Vec<WalkProblem>,
    /// Seconds per stage.
    pub stages: StageTimes,
    /// Seconds in all.
    pub seconds: f64,
}

impl IndexSummary {
    /// Every chunk was stored and embedded.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty() && self.rejected.is_empty()
    }
}

/// One line: `run 7 complete: files 120, chunks 800, cached ...`.
impl std::fmt::Display for IndexSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(run) = self.run {
            write!(f, "run {run} ")?;
        }
        write!(
            f,
            "complete: files {}, chunks {}, cached {}, embedded {}, failed {}, tokens {}, requests {}, 429s {}, \
             edges {} imports {} calls {} inherits, findings {}, files unchanged {}, files carried {}, {:.2} s",
            self.files,
            self.chunks,
            self.cached,
            self.embedded,
            self.failures.len(),
            self.tokens,
            self.requests,
            self.rate_limited,
            self.edges.imports,
            self.edges.calls,
            self.edges.inherits,
            self.findings,
            self.reused,
            self.carried,
            self.seconds,
        )
    }
}

/// A chunk that got no vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbedFailure {
    /// The chunk.
    pub chunk: ChunkId,
    /// Its file.
    pub path: String,
    /// Its first line.
    pub line: u32,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for EmbedFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}:{}: {}", self.chunk, self.path, self.line, self.reason)
    }
}

/// The project's contracts, by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractCounts {
    /// Kept.
    pub kept: u64,
    /// Broken.
    pub broken: u64,
}

/// Edges stored, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EdgeCounts {
    /// Module imports module.
    pub imports: u64,
    /// Unit calls unit.
    pub calls: u64,
    /// Class inherits class.
    pub inherits: u64,
}

/// How the calls of the codebase were resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallCounts {
    /// Call expressions.
    pub total: u64,
    /// Linked to a unit of the codebase (the `call` edges).
    pub resolved: u64,
    /// To a module outside the codebase.
    pub external: u64,
    /// Neither: builtins, methods of values, dynamic calls.
    pub unresolved: u64,
}

/// Seconds spent per stage. `store` and `embed` are the time the pipeline
/// waited on the store and on the embedder while files streamed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StageTimes {
    /// Walking the tree.
    pub discover: f64,
    /// Parsing, classifying, chunking, storing and embedding, streamed.
    pub files: f64,
    /// Of `files`: waiting for store writes.
    pub store: f64,
    /// Of `files`: waiting for the embedder (and the cache).
    pub embed: f64,
    /// Linking the graphs and checking drift.
    pub drift: f64,
    /// Storing edges and findings.
    pub edges: f64,
    /// Completing the run.
    pub complete: f64,
}
