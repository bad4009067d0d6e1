//! [`Indexer`]: the pipeline, from a folder to a complete run in the store.

use std::collections::{BTreeSet, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use pyatlas_chunker::{ChunkConfig, Chunker, Tiktoken, TokenCounter};
use pyatlas_classifier::{RuleClassifier, Rules};
use pyatlas_embed::{CachedEmbedder, Embedder, EmbeddingCache, HashEmbedder};
use pyatlas_graph::{ContractsReport, EdgeKind, InternalRoots, ProjectContracts};
use pyatlas_intent_tags::{CodebaseFacts, CodebaseFactsBuilder, DriftReport, FileFacts, IntentConfig, check};
use pyatlas_parser::{Config, SourceFile, discover};
use pyatlas_store::{ChunkRow, EdgeRow, FileRow, FindingRow, RunSpec, TagRow, UnitRow};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cache::{FileCache, Previous};
use crate::events::{IndexEvent, IndexObserver, Progress, Silent, Stage};
use crate::feed::feed;
use crate::sink::{RunSink, RunTarget};
use crate::stored::{FactsFormat, Stored};
use crate::summary::{CallCounts, ContractCounts, EdgeCounts, EmbedFailure, IndexSummary};
use crate::work::{Analysis, FileWork};
use crate::{IndexError, fingerprint, git};

/// Files parsed ahead of the store and the embedder, at most.
const FILES_IN_FLIGHT: usize = 64;
/// Indexes one codebase into a [`RunTarget`] (a store, or memory): discovers its Python files,
/// parses, classifies and chunks them on a worker pool, stores files,
/// chunks, tags and domains batch by batch while embedding the chunks the
/// store does not hold yet, then links the call and import graphs, checks
/// drift, stores the edges and findings, and completes the run.
///
/// Memory is bounded by the channel and the batch, plus each file's
/// compact drift facts, kept until the end. A run that stops (cancelled,
/// killed, a lost database) stays resumable: every write is idempotent and
/// transactional, and the next run of the project with the same
/// configuration continues it.
pub struct Indexer {
    root: PathBuf,
    project: String,
    embedder: Arc<dyn Embedder>,
    analysis: Arc<Analysis>,
    known_domains: BTreeSet<String>,
    parse: Config,
    batch: usize,
    observer: Arc<dyn IndexObserver>,
    cancel: CancellationToken,
    fingerprint: String,
    git_commit: Option<String>,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("root", &self.root)
            .field("project", &self.project)
            .field("embedder", &self.embedder.spec())
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Sets up an [`Indexer`]; every setting has a default.
pub struct IndexerBuilder {
    root: PathBuf,
    project: Option<String>,
    embedder: Option<Arc<dyn Embedder>>,
    chunk_config: ChunkConfig,
    counter: Option<Arc<dyn TokenCounter>>,
    parse: Config,
    rules: Option<Rules>,
    intent: Option<IntentConfig>,
    batch: usize,
    observer: Arc<dyn IndexObserver>,
    cancel: CancellationToken,
    git_commit: Option<Option<String>>,
}

impl std::fmt::Debug for IndexerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexerBuilder")
            .field("root", &self.root)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl Indexer {
    /// An indexer of the codebase at `root`, to be configured.
    pub fn builder(root: impl Into<PathBuf>) -> IndexerBuilder {
        IndexerBuilder {
            root: root.into(),
            project: None,
            embedder: None,
            chunk_config: ChunkConfig::default(),
            counter: None,
            parse: Config::default(),
            rules: None,
            intent: None,
            batch: 512,
            observer: Arc::new(Silent),
            cancel: CancellationToken::new(),
            git_commit: None,
        }
    }

    /// The codebase's root folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The project the runs belong to.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The fingerprint of everything a run stores: a run is resumed only by
    /// an indexer with the same one.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The embedder of the runs (queries of them are embedded with it).
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// How the runs find and parse files.
    pub fn parse_config(&self) -> &Config {
        &self.parse
    }

    /// The token that cancels [`Indexer::run`].
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }
}

impl IndexerBuilder {
    /// The project's name (default: the root folder's name).
    pub fn project(mut self, name: impl Into<String>) -> Self {
        self.project = Some(name.into());
        self
    }

    /// The embedder (default: the offline [`HashEmbedder`], 384 dimensions).
    /// The store is its cache: a chunk embedded before, by any run, is not
    /// embedded again.
    pub fn embedder(mut self, embedder: impl Embedder + 'static) -> Self {
        self.embedder = Some(Arc::new(embedder));
        self
    }

    /// An embedder already shared (a boxed or `Arc` one).
    pub fn shared_embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// How to chunk (default: [`ChunkConfig::default`], so ids are the
    /// `chunk` example's).
    pub fn chunk_config(mut self, config: ChunkConfig) -> Self {
        self.chunk_config = config;
        self
    }

    /// How to count tokens for chunking (default: tiktoken `cl100k_base`).
    pub fn token_counter(mut self, counter: impl TokenCounter + 'static) -> Self {
        self.counter = Some(Arc::new(counter));
        self
    }

    /// How to find and parse files (default: [`Config::default`]).
    pub fn parse_config(mut self, config: Config) -> Self {
        self.parse = config;
        self
    }

    /// The classifier's rules (default: the project's, from `pyatlas.toml`
    /// or `pyproject.toml` at the root, over the built-in taxonomy).
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The intent configuration (default: the project's `[intent]`).
    pub fn intent_config(mut self, config: IntentConfig) -> Self {
        self.intent = Some(config);
        self
    }

    /// Chunks per store-and-embed batch (default 512).
    pub fn batch(mut self, chunks: usize) -> Self {
        self.batch = chunks.max(1);
        self
    }

    /// Who hears of the run's progress.
    pub fn observer(mut self, observer: impl IndexObserver + 'static) -> Self {
        self.observer = Arc::new(observer);
        self
    }

    /// A token that cancels the run: it stops promptly and stays resumable.
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The commit to record (default: read from the root's `.git`).
    pub fn git_commit(mut self, commit: Option<String>) -> Self {
        self.git_commit = Some(commit);
        self
    }

    /// Loads what the configuration leaves to the project and checks it.
    ///
    /// # Errors
    /// An unreadable root, invalid rules or intent configuration (each
    /// naming its file), a drift rule relying on a domain the taxonomy
    /// lacks, or a chunk cap too small.
    pub fn build(self) -> Result<Indexer, IndexError> {
        let root =
            std::fs::canonicalize(&self.root).map_err(|source| IndexError::Root { path: self.root.clone(), source })?;
        let project = match self.project {
            Some(project) => project,
            None => root.file_name().map_or_else(|| "root".to_owned(), |n| n.to_string_lossy().into_owned()),
        };
        let embedder = self.embedder.unwrap_or_else(|| Arc::new(HashEmbedder::default()));
        let rules = match self.rules {
            Some(rules) => rules,
            None => Rules::for_root(&root)?.0,
        };
        let intent = match self.intent {
            Some(intent) => intent,
            None => IntentConfig::for_root(&root)?.0,
        };
        let known_domains: BTreeSet<String> = rules.domains.iter().map(|d| d.name.clone()).collect();
        intent.check_domains(&known_domains)?;
        let counter = self.counter.unwrap_or_else(|| Arc::new(Tiktoken::cl100k_base()));
        let fingerprint = fingerprint::of(&fingerprint::Inputs {
            chunking: &self.chunk_config,
            tokenizer: counter.name(),
            parsing: &self.parse,
            rules: &rules,
            intent: &intent,
            embedder: &embedder.spec(),
            model_id: embedder.model_id(),
        });
        let chunker = Chunker::with_counter(self.chunk_config, counter)?;
        let analysis = Analysis { chunker, classifier: Box::new(RuleClassifier::new(rules)), intent };
        let git_commit = self.git_commit.unwrap_or_else(|| git::head_commit(&root));
        Ok(Indexer {
            root,
            project,
            embedder,
            analysis: Arc::new(analysis),
            known_domains,
            parse: self.parse,
            batch: self.batch,
            observer: self.observer,
            cancel: self.cancel,
            fingerprint,
            git_commit,
        })
    }
}

/// A batch of files on its way to the store.
#[derive(Default)]
struct Batch {
    files: Vec<FileRow>,
    chunks: Vec<ChunkRow>,
    units: Vec<UnitRow>,
    tags: Vec<TagRow>,
    /// Files the run holds as they are (nothing to send), and their chunks.
    held: u64,
    held_chunks: u64,
}

impl Batch {
    fn add(&mut self, work: FileWork) -> FileFacts {
        if let Some(chunks) = work.held_chunks {
            self.held += 1;
            self.held_chunks += chunks;
            return work.facts;
        }
        self.files.push(work.file);
        self.chunks.extend(work.chunks);
        self.units.extend(work.units);
        self.tags.extend(work.tags);
        work.facts
    }

    fn is_empty(&self) -> bool {
        self.files.is_empty() && self.held == 0
    }
}

/// Where a run's files go: the run, the embedder with the target's cache,
/// and the files the run holds whose facts are set again when they come
/// through as they are (see [`Stored::new`]).
struct Intake<'a> {
    run: &'a dyn RunSink,
    embedder: CachedEmbedder<Arc<dyn Embedder>, Arc<dyn EmbeddingCache>>,
    stale: HashSet<String>,
}

/// What the run's target keeps of files' facts, when it keeps them: the
/// files it holds as they are, fetched when `previous` (the cache of an
/// incremental run) may not have their rows.
///
/// With it, the paths of the files the target holds whose facts must be
/// set again (see [`Stored::new`]).
async fn stored(
    run: &dyn RunSink,
    previous: Option<&Previous>,
    roots: &InternalRoots,
) -> Result<(Option<Stored>, HashSet<String>), IndexError> {
    if !run.keeps_facts() {
        return Ok((None, HashSet::new()));
    }
    let held = if previous.is_none_or(Previous::may_need_target) { run.held_files().await? } else { Vec::new() };
    let format = FactsFormat::new(roots);
    // Reading the facts back is work for a thread of its own.
    match tokio::task::spawn_blocking(move || Stored::new(format, held)).await {
        Ok((stored, stale)) => Ok((Some(stored), stale)),
        Err(_) => Err(IndexError::Panicked),
    }
}

impl Indexer {
    /// Indexes the codebase into `target` (a [`Store`](pyatlas_store::Store),
    /// or a [`MemoryTarget`](crate::MemoryTarget)) as a new run of the
    /// project (or continues an unfinished one with the same fingerprint),
    /// and returns what it did once the run is complete. A file the run
    /// holds as it is, with facts it can use ([`RunSink::held_files`]),
    /// is not parsed when its bytes hash as they did.
    ///
    /// # Errors
    /// An unreadable root, a store error, or [`IndexError::Cancelled`]. In
    /// each case the run is left resumable, never half-written.
    pub async fn run(&self, target: &dyn RunTarget) -> Result<IndexSummary, IndexError> {
        self.run_with(target, None).await
    }

    /// Like [`Indexer::run`], but parses, classifies and chunks only the
    /// files that changed since the last run with `cache` (every file, the
    /// first time), reusing the work of the others; the graphs, drift and
    /// the contracts are linked again from every file's facts, so the run
    /// is the one [`Indexer::run`] would write. `cache` then holds this
    /// run's work. See [`FileCache`] for what counts as a change.
    ///
    /// # Errors
    /// As [`Indexer::run`]. The cache keeps what the run got through.
    pub async fn run_incremental(
        &self,
        target: &dyn RunTarget,
        cache: &mut FileCache,
    ) -> Result<IndexSummary, IndexError> {
        self.run_with(target, Some(cache)).await
    }

    async fn run_with(
        &self,
        target: &dyn RunTarget,
        cache: Option<&mut FileCache>,
    ) -> Result<IndexSummary, IndexError> {
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        self.stage(Stage::Discover);
        let (root, parse) = (self.root.clone(), self.parse.clone());
        let discovery =
            tokio::task::spawn_blocking(move || discover(root, &parse)).await.map_err(|_| IndexError::Panicked)??;
        summary.problems = discovery.problems;
        summary.stages.discover = started.elapsed().as_secs_f64();

        let spec = RunSpec::for_embedder(&self.project, self.embedder.as_ref())
            .config_fingerprint(&self.fingerprint)
            .git_commit(self.git_commit.clone());
        let handle = target.begin_run(spec).await?;
        let run = handle.as_ref();
        summary.run = Some(run.info().id);
        summary.resumed = run.resumed();
        let files = discovery.files;
        self.observer.event(&IndexEvent::Started {
            run: run.info().id,
            resumed: run.resumed(),
            files: files.len() as u64,
        });

        let facts = self.files(target, run, files, cache, &mut summary).await?;

        self.stage(Stage::Drift);
        let clock = Instant::now();
        let (intent, known, root) = (self.analysis.clone(), self.known_domains.clone(), self.root.clone());
        let (codebase, drift, contracts) = tokio::task::spawn_blocking(move || {
            let codebase = facts.link();
            let drift = check(&codebase, &intent.intent, &known);
            (codebase, drift, project_contracts(&root))
        })
        .await
        .map_err(|_| IndexError::Panicked)?;
        summary.stages.drift = clock.elapsed().as_secs_f64();
        self.checkpoint(run)?;
        match contracts {
            Ok(Some(report)) => {
                summary.contracts = Some(ContractCounts {
                    kept: report.contracts.iter().filter(|c| c.kept).count() as u64,
                    broken: report.contracts.iter().filter(|c| !c.kept).count() as u64,
                });
                run.set_contracts(&report).await?;
            }
            Ok(None) => {}
            Err(message) => self.warn(message),
        }

        self.stage(Stage::Edges);
        let clock = Instant::now();
        self.edges(run, &codebase, &drift, &mut summary).await?;
        summary.stages.edges = clock.elapsed().as_secs_f64();
        self.checkpoint(run)?;

        self.stage(Stage::Complete);
        summary.seconds = started.elapsed().as_secs_f64();
        let clock = Instant::now();
        let record = serde_json::to_value(&summary).expect("an IndexSummary is plain data with string keys");
        handle.complete(record).await?;
        summary.stages.complete = clock.elapsed().as_secs_f64();
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    fn stage(&self, stage: Stage) {
        self.observer.event(&IndexEvent::Stage { stage });
    }

    fn warn(&self, message: String) {
        self.observer.event(&IndexEvent::Warning { message });
    }

    fn checkpoint(&self, run: &dyn RunSink) -> Result<(), IndexError> {
        if self.cancel.is_cancelled() { Err(IndexError::Cancelled { run: run.info().id }) } else { Ok(()) }
    }

    /// Streams the files through the worker pool into the store and the
    /// embedder (with a cache, only the changed files are parsed); returns
    /// every file's facts, in file order.
    async fn files(
        &self,
        target: &dyn RunTarget,
        run: &dyn RunSink,
        files: Vec<SourceFile>,
        cache: Option<&mut FileCache>,
        summary: &mut IndexSummary,
    ) -> Result<CodebaseFactsBuilder, IndexError> {
        self.stage(Stage::Files);
        let clock = Instant::now();
        let total = files.len() as u64;
        let roots = InternalRoots::new(files.iter().map(|f| f.module.as_str()));
        let files_info: Vec<(String, String, bool)> =
            files.iter().map(|f| (f.module.to_string(), f.rel_path.clone(), f.is_package)).collect();
        let (sender, mut receiver) = mpsc::channel::<FileWork>(FILES_IN_FLIGHT);
        let (analysis, config, cancel) = (self.analysis.clone(), self.parse.clone(), self.cancel.clone());
        let mut cache = cache;
        let previous = cache.as_mut().map(|c| c.take_for(&self.fingerprint, &roots));
        let (stored, stale) = match stored(run, previous.as_ref(), &roots).await {
            Ok(stored) => stored,
            Err(error) => {
                if let (Some(cache), Some(previous)) = (cache, previous) {
                    cache.put_back(previous.entries);
                }
                return Err(error);
            }
        };
        let producer = std::thread::Builder::new()
            .name("pyatlas-index-parse".into())
            .spawn(move || {
                feed(&files, previous, stored, &config, &analysis, &roots, |work| {
                    // Stops the parse when the run is cancelled or the
                    // consumer is gone (a store error).
                    if cancel.is_cancelled() || sender.blocking_send(work).is_err() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
            })
            .map_err(IndexError::Thread)?;
        let codebase = CodebaseFactsBuilder::new(files_info.iter().map(|(m, p, pkg)| (m.as_str(), p.as_str(), *pkg)));
        let intake =
            Intake { run, embedder: CachedEmbedder::new(self.embedder.clone(), target.embedding_cache()), stale };
        let consumed = self.consume(&intake, &mut receiver, codebase, total, summary).await;
        // Whatever happened, the producer stops: its sends now fail.
        drop(receiver);
        let fed = match tokio::task::spawn_blocking(move || producer.join()).await {
            Ok(Ok(fed)) => fed,
            _ => return Err(IndexError::Panicked),
        };
        if let (Some(cache), Some(entries)) = (cache, fed.entries) {
            cache.put_back(entries);
        }
        summary.reused = fed.reused;
        let (facts, paths) = consumed?;
        fed.parsed?;
        self.checkpoint(run)?;
        // The files gone since the last run leave it.
        run.retain_files(&paths).await?;
        summary.stages.files = clock.elapsed().as_secs_f64();
        Ok(facts)
    }

    async fn consume(
        &self,
        intake: &Intake<'_>,
        receiver: &mut mpsc::Receiver<FileWork>,
        mut facts: CodebaseFactsBuilder,
        total: u64,
        summary: &mut IndexSummary,
    ) -> Result<(CodebaseFactsBuilder, Vec<String>), IndexError> {
        let run = intake.run;
        // Every file of the run, carried or written: its tree.
        let mut paths = Vec::new();
        let mut batch = Batch::default();
        let mut progress = Progress { files_total: total, ..Progress::default() };
        loop {
            let next = tokio::select! {
                work = receiver.recv() => work,
                () = self.cancel.cancelled() => return Err(IndexError::Cancelled { run: run.info().id }),
            };
            let done = next.is_none();
            if let Some(work) = next {
                paths.push(work.file.path.clone());
                // Copied here, on the consumer's thread: facts kept until the
                // end then sit together, not in the worker threads' pages
                // between the parser's temporaries (which would keep those
                // pages from being reused).
                facts.push(batch.add(work).clone());
            }
            if !batch.is_empty() && (done || batch.chunks.len() >= self.batch) {
                self.store_batch(intake, std::mem::take(&mut batch), summary).await?;
                progress.files_done = summary.files;
                progress.chunks = summary.chunks;
                progress.cached = summary.cached;
                progress.embedded = summary.embedded;
                progress.failed = summary.failures.len() as u64;
                self.observer.event(&IndexEvent::Progress(progress));
            }
            if done {
                return Ok((facts, paths));
            }
        }
    }

    /// Stores a batch's files, tags and chunks, and embeds the chunks the
    /// store does not hold a vector for (their vectors land in the store as
    /// each embedding batch completes).
    async fn store_batch(
        &self,
        intake: &Intake<'_>,
        batch: Batch,
        summary: &mut IndexSummary,
    ) -> Result<(), IndexError> {
        let (run, embedder, stale) = (intake.run, &intake.embedder, &intake.stale);
        let clock = Instant::now();
        // Files the run already holds as they are keep their rows; the
        // others replace theirs, the file row last (see `RunSink`).
        let Batch { files, chunks, mut units, mut tags, held, held_chunks } = batch;
        let unchanged = run.unchanged(&files).await?;
        let carried: HashSet<String> =
            files.iter().zip(&unchanged).filter(|(_, same)| **same).map(|(f, _)| f.path.clone()).collect();
        let file_count = files.len() as u64 + held;
        summary.carried += carried.len() as u64 + held;
        let changed = |path: &String| !carried.contains(path);
        units.retain(|u| changed(&u.path));
        tags.retain(|t| changed(&t.path));
        let (files, mut refresh): (Vec<FileRow>, Vec<FileRow>) = files.into_iter().partition(|f| changed(&f.path));
        refresh.retain(|f| stale.contains(&f.path) && f.facts.is_some());
        run.set_facts(&refresh).await?;
        let (chunks, kept): (Vec<ChunkRow>, Vec<ChunkRow>) = chunks.into_iter().partition(|c| changed(&c.path));
        run.add_units(&units).await?;
        run.add_tags(&tags).await?;
        let stored = run.add_chunks(&chunks).await?;
        run.add_files(&files).await?;
        summary.stages.store += clock.elapsed().as_secs_f64();
        for rejected in stored.rejected {
            self.warn(format!("not stored: {}", rejected.reason));
            summary.rejected.push(rejected.reason);
        }
        // The chunks of a file the run holds have their vectors (see
        // `RunSink::unchanged`); the others are embedded unless held.
        let clock = Instant::now();
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        let mut ignore = |_| {};
        let report = tokio::select! {
            // Vectors the store holds are not fetched, only counted.
            report = embedder.fill_each(&texts, &mut ignore) => report,
            () = self.cancel.cancelled() => return Err(IndexError::Cancelled { run: run.info().id }),
        };
        summary.stages.embed += clock.elapsed().as_secs_f64();
        let hits = report.metrics.cache_hits;
        // The chunks of carried files have their vectors: cached too.
        summary.cached += hits + kept.len() as u64 + held_chunks;
        summary.embedded += (report.embedded as u64).saturating_sub(hits);
        summary.tokens += report.metrics.tokens;
        summary.requests += report.metrics.requests;
        summary.rate_limited += report.metrics.rate_limited;
        for failure in report.failures {
            if let Some(chunk) = chunks.get(failure.index) {
                summary.failures.push(EmbedFailure {
                    chunk: chunk.id.clone(),
                    path: chunk.path.clone(),
                    line: chunk.start_line,
                    reason: failure.error.to_string(),
                });
            }
        }
        for warning in report.warnings {
            self.warn(warning);
        }
        summary.files += file_count;
        summary.chunks += (chunks.len() + kept.len()) as u64 + held_chunks;
        Ok(())
    }

    /// Stores the graphs' edges and the drift findings.
    async fn edges(
        &self,
        run: &dyn RunSink,
        codebase: &CodebaseFacts,
        drift: &DriftReport,
        summary: &mut IndexSummary,
    ) -> Result<(), IndexError> {
        let edge = |kind, source: String, target: String, lines: Vec<u32>| EdgeRow {
            kind,
            source,
            target,
            lines,
            type_checking: false,
            function_level: false,
        };
        let imports = codebase.imports().edges().map(|(from, to, e)| EdgeRow {
            type_checking: e.type_checking,
            function_level: e.function_level,
            ..edge(EdgeKind::Import, from.to_owned(), to.to_owned(), e.lines.clone())
        });
        let calls = codebase.calls();
        let stats = calls.stats();
        summary.calls = CallCounts {
            total: stats.calls as u64,
            resolved: stats.resolved as u64,
            external: stats.external as u64,
            unresolved: stats.unresolved as u64,
        };
        let call_edges = calls.edges().map(|(from, to, lines)| {
            edge(EdgeKind::Call, calls.unit_ref(from).to_string(), calls.unit_ref(to).to_string(), lines.to_vec())
        });
        let hierarchy = calls.hierarchy();
        let inherits = hierarchy.edges().flat_map(|(class, bases)| {
            bases.iter().map(move |&base| {
                edge(
                    EdgeKind::Inherits,
                    hierarchy.unit_ref(class).to_string(),
                    hierarchy.unit_ref(base).to_string(),
                    vec![],
                )
            })
        });
        // Collected before the first write: the iterators' closures are
        // not held across an await (a run's future stays `Send`, so a
        // server can spawn it). Written a batch at a time.
        // Set as a whole: the store writes only what differs from the
        // project's last run.
        let rows: Vec<EdgeRow> = imports.chain(call_edges).chain(inherits).collect();
        let mut counts = EdgeCounts::default();
        for row in &rows {
            match row.kind {
                EdgeKind::Import => counts.imports += 1,
                EdgeKind::Call => counts.calls += 1,
                _ => counts.inherits += 1,
            }
        }
        self.checkpoint(run)?;
        let report = run.set_edges(&rows).await?;
        summary.rejected.extend(report.rejected.into_iter().map(|r| r.reason));
        summary.edges = counts;
        let findings: Vec<FindingRow> = drift
            .findings
            .iter()
            .map(|f| FindingRow {
                fingerprint: f.fingerprint(),
                rule: f.rule,
                severity: f.severity,
                path: f.path.clone(),
                line: f.line,
                message: f.message.clone(),
            })
            .collect();
        run.set_findings(&findings).await?;
        summary.findings = findings.len() as u64;
        Ok(())
    }
}

/// The verdicts of the project's own contracts (import-linter's, tach's),
/// each checked on the graph its configuration asks for; `None` when it
/// declares none. A configuration that cannot be used is a warning: the
/// run goes on without verdicts.
fn project_contracts(root: &Path) -> Result<Option<ContractsReport>, String> {
    let contracts = match ProjectContracts::discover(root) {
        Ok(Some(contracts)) => contracts,
        Ok(None) => return Ok(None),
        Err(error) => return Err(format!("contracts not checked: {error}")),
    };
    contracts.check(root, &[]).map(|checked| Some(checked.report)).map_err(|e| format!("contracts not checked: {e}"))
}
