//! [`LiveMap`]: the in-memory map of a folder, kept up to date as its
//! files change, at the cost of what changed.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use pyatlas_graph::{ContractsReport, Cycle, Hop};
use pyatlas_index::{DEFAULT_DEBOUNCE, FileCache, Heard, Indexer, MemoryTarget, Watch, WatchError, watch};
use pyatlas_parser::{Config, FileStamp, discover};
use pyatlas_store::{FileEntry, FindingRow, RunDiff, RunId, RunInfo, SearchHit, TagRow};
use tokio::sync::Mutex;

use crate::memory::TokenCache;
use crate::model::{
    At, DomainSummary, FileView, ModuleGraph, Project, ProjectGraph, Search, Symbol, UnitContext, UnitRef,
};
use crate::repo_map::{MapRequest, RepoMap};
use crate::{Answer, CodeMap, MemoryMap, QueryError};

/// The in-memory map of a folder, kept up to date: before each answer the
/// size and modification time of every Python file are compared with
/// those the map was built from, and when one differs (or a file came or
/// went) the folder is indexed again incrementally
/// ([`Indexer::run_incremental`]): only the changed files are parsed,
/// chunked and embedded, the graphs and drift are linked again from every
/// file's facts. The answer is then the one a fresh [`MemoryMap`] of the
/// folder as it is would give. [`LiveMap::refresh`] does the same ahead of
/// a question (a watcher of the folder calls it on every save).
///
/// A file saved within two seconds of being looked at could change again
/// in the same tick of the file system's clock with the same size: until
/// two seconds have passed, such a folder is looked at again on each
/// answer (the changed files are found by their content hash, and only
/// they are parsed). After [`LiveMap::trust_watch`], the folder is looked
/// at only when its watch has heard something since the last look.
pub struct LiveMap {
    indexer: Indexer,
    state: Mutex<State>,
    /// The map as last brought up to date, readable while a refresh runs.
    last: std::sync::Mutex<Arc<MemoryMap>>,
    /// What the folder's watch has heard, while one lasts.
    heard: std::sync::Mutex<Option<Heard>>,
}

struct State {
    seen: Seen,
    /// The watch's count when the folder was last looked at.
    heard_at: Option<u64>,
    map: Arc<MemoryMap>,
    target: MemoryTarget,
    cache: FileCache,
    tokens: TokenCache,
}

/// The Python files of the folder as they were looked at.
#[derive(PartialEq)]
struct Seen {
    files: Vec<(String, FileStamp)>,
    at: SystemTime,
}

impl Seen {
    /// `now` shows nothing new since `self`, and `self` can vouch for it.
    fn vouches_for(&self, now: &Self) -> bool {
        self.files.len() == now.files.len()
            && self.files.iter().zip(&now.files).all(|((p, s), (q, t))| p == q && s.vouches_for(t, self.at))
    }
}

impl std::fmt::Debug for LiveMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveMap").field("root", &self.indexer.root()).finish_non_exhaustive()
    }
}

impl LiveMap {
    /// Indexes the folder `root` into memory with the default settings (the
    /// offline hash embedder), to keep it up to date.
    ///
    /// # Errors
    /// An unreadable root or an invalid project configuration.
    pub async fn new(root: impl AsRef<Path>) -> Result<Self, QueryError> {
        Self::with_indexer(Indexer::builder(root.as_ref()).build()?).await
    }

    /// Indexes with `indexer` (its root, configuration and embedder) into
    /// memory, to keep it up to date. The configuration is the one read
    /// when `indexer` was built.
    ///
    /// # Errors
    /// What stops the first run.
    pub async fn with_indexer(indexer: Indexer) -> Result<Self, QueryError> {
        let target = MemoryTarget::new();
        // The maps hold the files' rows: the cache keeps only their facts.
        let (mut cache, mut tokens) = (FileCache::without_rows(), TokenCache::default());
        let seen = look(indexer.root(), indexer.parse_config()).await?;
        let map = MemoryMap::refreshed(&indexer, &target, &mut cache, &mut tokens, None).await?;
        let map = Arc::new(map.ok_or_else(|| QueryError::not_found("the run just indexed"))?);
        let last = std::sync::Mutex::new(Arc::clone(&map));
        let state = State { seen, heard_at: None, map, target, cache, tokens };
        Ok(Self { indexer, state: Mutex::new(state), last, heard: std::sync::Mutex::new(None) })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        self.indexer.root()
    }

    /// The map as the files are now: indexed again first when one changed.
    ///
    /// # Errors
    /// The root can no longer be walked, or the run fails.
    pub async fn current(&self) -> Result<Arc<MemoryMap>, QueryError> {
        let mut state = self.state.lock().await;
        self.update(&mut state).await?;
        Ok(Arc::clone(&state.map))
    }

    /// The map as it was last brought up to date, without looking at the
    /// folder (and without waiting for a refresh under way).
    pub fn last(&self) -> Arc<MemoryMap> {
        Arc::clone(&self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Brings the map up to date now; `true` when something had changed.
    ///
    /// # Errors
    /// As [`LiveMap::current`].
    pub async fn refresh(&self) -> Result<bool, QueryError> {
        let mut state = self.state.lock().await;
        self.update(&mut state).await
    }

    /// Watches the folder and brings the map up to date after each burst
    /// of saves (200 ms quiet), so that the next answer does not wait for
    /// the indexing; until the returned [`Watch`] is dropped. Call it
    /// within a multi-threaded Tokio runtime.
    ///
    /// # Errors
    /// The platform cannot watch the folder.
    pub fn watch(self: &Arc<Self>) -> Result<Watch, WatchError> {
        let live = Arc::downgrade(self);
        let runtime = tokio::runtime::Handle::current();
        watch(self.root(), DEFAULT_DEBOUNCE, move |_| {
            if let Some(live) = live.upgrade() {
                // An error shows in the next answer, which looks again.
                let _ = runtime.block_on(live.refresh());
            }
        })
    }

    /// Answers, from now on, without looking at the folder while `watch`
    /// (a watch of this folder) has heard nothing since the last look: an
    /// answer then costs no walk, and concurrent answers do not queue
    /// behind one. A save is seen once its event arrives, a few
    /// milliseconds after it (an answer asked within those sees the map
    /// before it). Once the watch stops, every answer looks again.
    pub fn trust_watch(&self, watch: &Watch) {
        *self.heard.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(watch.heard());
    }

    async fn update(&self, state: &mut State) -> Result<bool, QueryError> {
        // While a watch lasts, a folder it heard nothing from since the last
        // look is not looked at again (every write is heard).
        let heard =
            self.heard.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref().and_then(Heard::count);
        if heard.is_some() && heard == state.heard_at {
            return Ok(false);
        }
        let now = look(self.indexer.root(), self.indexer.parse_config()).await?;
        if state.seen.vouches_for(&now) {
            state.heard_at = heard;
            return Ok(false);
        }
        let previous = Arc::clone(&state.map);
        state.cache.set_row_source(Arc::new(move |path: &str| previous.file_rows(path)));
        let (target, cache, tokens) = (&state.target, &mut state.cache, &mut state.tokens);
        let map = MemoryMap::refreshed(&self.indexer, target, cache, tokens, Some(&state.map)).await?;
        state.seen = now;
        state.heard_at = heard;
        // Nothing changed (a file saved as it was, or a look within two
        // seconds of a save): the map stays.
        let Some(map) = map else { return Ok(false) };
        state.map = Arc::new(map);
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&state.map);
        Ok(true)
    }
}

/// The Python files under `root`, with their stamps, in path order.
async fn look(root: &Path, config: &Config) -> Result<Seen, QueryError> {
    let (root, config) = (root.to_owned(), config.clone());
    tokio::task::spawn_blocking(move || {
        let at = SystemTime::now();
        let found = discover(&root, &config)
            .map_err(|e| QueryError::BadRequest { reason: format!("cannot walk the root: {e}") })?;
        let files = found
            .files
            .into_iter()
            .map(|file| {
                let stamp = FileStamp::of(&file.path).unwrap_or_default();
                (file.rel_path, stamp)
            })
            .collect();
        Ok(Seen { files, at })
    })
    .await
    .map_err(|_| QueryError::BadRequest { reason: "the walk of the root stopped".to_owned() })?
}

/// Each question: asked of the map as the files are now.
macro_rules! now {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(fn $name<'a>(&'a self $(, $arg: $ty)*) -> Answer<'a, $out> {
            Box::pin(async move { self.current().await?.$name($($arg),*).await })
        })*
    };
}

impl CodeMap for LiveMap {
    now! {
        projects() -> Vec<Project>;
        runs(project: &'a str) -> Vec<RunInfo>;
        run(at: &'a At) -> RunInfo;
        diff(from: RunId, to: RunId) -> RunDiff;
        search(at: &'a At, search: &'a Search) -> Vec<SearchHit>;
        files(at: &'a At) -> Vec<FileEntry>;
        file(at: &'a At, path: &'a str) -> FileView;
        symbols(at: &'a At, query: &'a str, limit: usize) -> Vec<Symbol>;
        unit(at: &'a At, unit: &'a UnitRef) -> UnitContext;
        module_graph(at: &'a At, module: &'a str, depth: usize, squash: Option<usize>) -> ModuleGraph;
        project_graph(at: &'a At, squash: Option<usize>) -> ProjectGraph;
        chain(at: &'a At, from: &'a str, to: &'a str) -> Option<Vec<Hop>>;
        cycles(at: &'a At) -> Vec<Cycle>;
        domains(at: &'a At) -> Vec<DomainSummary>;
        findings(at: &'a At) -> Vec<FindingRow>;
        tags(at: &'a At) -> Vec<TagRow>;
        contracts(at: &'a At) -> Option<ContractsReport>;
        repo_map(at: &'a At, request: &'a MapRequest) -> RepoMap;
    }
}
