//! Where a run goes: [`RunTarget`], implemented by the [`Store`] and by
//! [`MemoryTarget`], which keeps the run's rows in the process.

use std::sync::{Arc, Mutex, PoisonError};

use pyatlas_embed::{BoxFuture, EmbeddingCache, InMemoryCache};
use pyatlas_graph::ContractsReport;
use pyatlas_store::{
    ChunkRow, EdgeRow, FileRow, FindingRow, HeldFile, IngestReport, RunHandle, RunId, RunInfo, RunSpec, Store,
    StoreError, TagRow, UnitRow,
};

/// Where the [`Indexer`](crate::Indexer) writes a run: a store, or memory.
pub trait RunTarget: Send + Sync {
    /// Starts (or resumes) a run of `spec`.
    fn begin_run(&self, spec: RunSpec) -> BoxFuture<'_, Result<Box<dyn RunSink>, StoreError>>;

    /// The vectors already paid for, shared by the target's runs.
    fn embedding_cache(&self) -> Arc<dyn EmbeddingCache>;
}

/// One run being written. Every write is idempotent: in a store, a file's
/// rows replace those the run held for it. The indexer writes a file's
/// units, tags and chunks before its file row.
pub trait RunSink: Send + Sync {
    /// The run.
    fn info(&self) -> &RunInfo;

    /// Whether it continues an unfinished run.
    fn resumed(&self) -> bool;

    /// Adds files and their sources.
    fn add_files<'a>(&'a self, rows: &'a [FileRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>>;

    /// Adds units.
    fn add_units<'a>(&'a self, rows: &'a [UnitRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>>;

    /// Adds intent tags.
    fn add_tags<'a>(&'a self, rows: &'a [TagRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>>;

    /// Adds chunks.
    fn add_chunks<'a>(&'a self, rows: &'a [ChunkRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>>;

    /// Which of `files` the run already holds as they are, their chunks'
    /// vectors included (carried over from the target's last run, or
    /// written before a resume): their other rows need not be sent, nor
    /// their chunks embedded. See [`RunHandle::unchanged`].
    fn unchanged<'a>(&'a self, files: &'a [FileRow]) -> BoxFuture<'a, Result<Vec<bool>, StoreError>>;

    /// Whether the run keeps each file's [`FileRow::facts`] (a store
    /// does): the indexer then writes them, and a run of a new process
    /// reuses them through [`RunSink::held_files`]. Default: no.
    fn keeps_facts(&self) -> bool {
        false
    }

    /// The files the run holds as they are, with the facts they were
    /// written with (see [`RunHandle::held_files`]). Default: none.
    fn held_files(&self) -> BoxFuture<'_, Result<Vec<HeldFile>, StoreError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Sets the facts of files the run holds, where they were missing or
    /// stale (see [`RunHandle::set_facts`]). Default: nothing to do.
    fn set_facts<'a>(&'a self, files: &'a [FileRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = files;
        Box::pin(async { Ok(()) })
    }

    /// Declares the run's whole tree: the files not in `paths` leave it.
    fn retain_files<'a>(&'a self, paths: &'a [String]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Sets the graph edges (the whole set).
    fn set_edges<'a>(&'a self, rows: &'a [EdgeRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>>;

    /// Sets the drift findings (the whole set).
    fn set_findings<'a>(&'a self, rows: &'a [FindingRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>>;

    /// Records the verdicts of the project's own contracts.
    fn set_contracts<'a>(&'a self, report: &'a ContractsReport) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Completes the run with its summary.
    fn complete(self: Box<Self>, summary: serde_json::Value) -> BoxFuture<'static, Result<RunInfo, StoreError>>;
}

impl RunTarget for Store {
    fn begin_run(&self, spec: RunSpec) -> BoxFuture<'_, Result<Box<dyn RunSink>, StoreError>> {
        Box::pin(async move { Ok(Box::new(Store::begin_run(self, spec).await?) as Box<dyn RunSink>) })
    }

    fn embedding_cache(&self) -> Arc<dyn EmbeddingCache> {
        Arc::new(Store::embedding_cache(self))
    }
}

impl RunSink for RunHandle {
    fn info(&self) -> &RunInfo {
        RunHandle::info(self)
    }

    fn resumed(&self) -> bool {
        RunHandle::resumed(self)
    }

    fn add_files<'a>(&'a self, rows: &'a [FileRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        Box::pin(RunHandle::add_files(self, rows))
    }

    fn add_units<'a>(&'a self, rows: &'a [UnitRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        Box::pin(RunHandle::add_units(self, rows))
    }

    fn add_tags<'a>(&'a self, rows: &'a [TagRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        Box::pin(RunHandle::add_tags(self, rows))
    }

    fn add_chunks<'a>(&'a self, rows: &'a [ChunkRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        Box::pin(RunHandle::add_chunks(self, rows))
    }

    fn unchanged<'a>(&'a self, files: &'a [FileRow]) -> BoxFuture<'a, Result<Vec<bool>, StoreError>> {
        Box::pin(RunHandle::unchanged(self, files))
    }

    fn keeps_facts(&self) -> bool {
        true
    }

    fn held_files(&self) -> BoxFuture<'_, Result<Vec<HeldFile>, StoreError>> {
        Box::pin(RunHandle::held_files(self))
    }

    fn set_facts<'a>(&'a self, files: &'a [FileRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(RunHandle::set_facts(self, files))
    }

    fn retain_files<'a>(&'a self, paths: &'a [String]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(RunHandle::retain_files(self, paths))
    }

    fn set_edges<'a>(&'a self, rows: &'a [EdgeRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        Box::pin(RunHandle::set_edges(self, rows))
    }

    fn set_findings<'a>(&'a self, rows: &'a [FindingRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        Box::pin(RunHandle::set_findings(self, rows))
    }

    fn set_contracts<'a>(&'a self, report: &'a ContractsReport) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(RunHandle::set_contracts(self, report))
    }

    fn complete(self: Box<Self>, summary: serde_json::Value) -> BoxFuture<'static, Result<RunInfo, StoreError>> {
        Box::pin(RunHandle::complete(*self, summary))
    }
}

/// Every row of one run, as the pipeline wrote it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunRows {
    /// The run (complete once the pipeline completed it).
    pub info: RunInfo,
    /// Its files, with their sources.
    pub files: Vec<FileRow>,
    /// Its units.
    pub units: Vec<UnitRow>,
    /// Its intent tags.
    pub tags: Vec<TagRow>,
    /// Its chunks.
    pub chunks: Vec<ChunkRow>,
    /// Its graph edges.
    pub edges: Vec<EdgeRow>,
    /// Its drift findings.
    pub findings: Vec<FindingRow>,
    /// The verdicts of the project's own contracts, when it declares some.
    pub contracts: Option<ContractsReport>,
}

/// A [`RunTarget`] in memory: one run, its rows and its vectors, held in
/// the process (no database).
#[derive(Debug, Default)]
pub struct MemoryTarget {
    run: Arc<Mutex<Option<RunRows>>>,
    cache: Arc<InMemoryCache>,
}

impl MemoryTarget {
    /// An empty target.
    pub fn new() -> Self {
        Self::default()
    }

    /// The run written last, taken out of the target.
    pub fn take_rows(&self) -> Option<RunRows> {
        self.run.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The vectors of the chunks the runs embedded.
    pub fn cache(&self) -> &Arc<InMemoryCache> {
        &self.cache
    }
}

impl RunTarget for MemoryTarget {
    fn begin_run(&self, spec: RunSpec) -> BoxFuture<'_, Result<Box<dyn RunSink>, StoreError>> {
        let info = spec.unstored(RunId::new(1));
        let rows = RunRows {
            info: info.clone(),
            files: Vec::new(),
            units: Vec::new(),
            tags: Vec::new(),
            chunks: Vec::new(),
            edges: Vec::new(),
            findings: Vec::new(),
            contracts: None,
        };
        *self.run.lock().unwrap_or_else(PoisonError::into_inner) = Some(rows);
        let sink = MemorySink { info, run: self.run.clone() };
        Box::pin(async move { Ok(Box::new(sink) as Box<dyn RunSink>) })
    }

    fn embedding_cache(&self) -> Arc<dyn EmbeddingCache> {
        self.cache.clone()
    }
}

struct MemorySink {
    info: RunInfo,
    run: Arc<Mutex<Option<RunRows>>>,
}

impl MemorySink {
    fn add<'a, T: Clone>(
        &'a self,
        rows: &'a [T],
        field: fn(&mut RunRows) -> &mut Vec<T>,
    ) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        let mut run = self.run.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(run) = run.as_mut() {
            field(run).extend_from_slice(rows);
        }
        let report = IngestReport::accepted(rows.len() as u64);
        Box::pin(std::future::ready(Ok(report)))
    }

    fn set<'a, T: Clone>(
        &'a self,
        rows: &'a [T],
        field: fn(&mut RunRows) -> &mut Vec<T>,
    ) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        if let Some(run) = self.run.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            field(run).clear();
        }
        self.add(rows, field)
    }
}

impl RunSink for MemorySink {
    fn info(&self) -> &RunInfo {
        &self.info
    }

    fn resumed(&self) -> bool {
        false
    }

    fn add_files<'a>(&'a self, rows: &'a [FileRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        self.add(rows, |r| &mut r.files)
    }

    fn add_units<'a>(&'a self, rows: &'a [UnitRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        self.add(rows, |r| &mut r.units)
    }

    fn add_tags<'a>(&'a self, rows: &'a [TagRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        self.add(rows, |r| &mut r.tags)
    }

    fn add_chunks<'a>(&'a self, rows: &'a [ChunkRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        self.add(rows, |r| &mut r.chunks)
    }

    /// A memory run starts empty: nothing is held yet.
    fn unchanged<'a>(&'a self, files: &'a [FileRow]) -> BoxFuture<'a, Result<Vec<bool>, StoreError>> {
        Box::pin(std::future::ready(Ok(vec![false; files.len()])))
    }

    /// A memory run holds what was added to it: nothing to retain.
    fn retain_files<'a>(&'a self, _paths: &'a [String]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn set_edges<'a>(&'a self, rows: &'a [EdgeRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        self.set(rows, |r| &mut r.edges)
    }

    fn set_findings<'a>(&'a self, rows: &'a [FindingRow]) -> BoxFuture<'a, Result<IngestReport, StoreError>> {
        self.set(rows, |r| &mut r.findings)
    }

    fn set_contracts<'a>(&'a self, report: &'a ContractsReport) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Some(run) = self.run.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            run.contracts = Some(report.clone());
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn complete(self: Box<Self>, summary: serde_json::Value) -> BoxFuture<'static, Result<RunInfo, StoreError>> {
        let mut run = self.run.lock().unwrap_or_else(PoisonError::into_inner);
        let info = self.info.clone().completed(summary);
        if let Some(run) = run.as_mut() {
            run.info = info.clone();
        }
        Box::pin(std::future::ready(Ok(info)))
    }
}
