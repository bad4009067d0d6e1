//! [`StoreMap`]: the runs a store holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use pyatlas_embed::{Embedder, HashEmbedder};
use pyatlas_graph::{ContractsReport, Cycle, EdgeKind, Hop, ImportGraph, Walk};
use pyatlas_store::{
    EdgeRow, FileEntry, FindingRow, RunDiff, RunId, RunInfo, RunStatus, SearchHit, SearchQuery, Store, TagRow,
};

use crate::answer;
use crate::model::{
    At, DomainSummary, FileView, ModuleGraph, Project, ProjectGraph, Search, Symbol, UnitContext, UnitRef,
};
use crate::repo_map::{self, MapRequest, RepoMap};
use crate::{Answer, CodeMap, QueryError};

/// Import graphs of complete runs kept, at most (they never change).
const GRAPHS_KEPT: usize = 8;

/// The map of every project and run in a [`Store`]. Holds no state of its
/// own beyond a cache of complete runs' import graphs, which never change:
/// several maps (several servers) on one database give the same answers.
pub struct StoreMap {
    store: Store,
    embedder: Arc<dyn Embedder>,
    graphs: Mutex<HashMap<RunId, Arc<ImportGraph>>>,
}

impl std::fmt::Debug for StoreMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreMap")
            .field("store", &self.store)
            .field("embedder", &self.embedder.spec())
            .finish_non_exhaustive()
    }
}

impl StoreMap {
    /// The map of `store`; search queries are embedded with the offline
    /// hash embedder (runs embedded otherwise need [`StoreMap::with_embedder`]).
    pub fn new(store: Store) -> Self {
        Self::with_embedder(store, Arc::new(HashEmbedder::default()))
    }

    /// The map of `store`, embedding search queries with `embedder`: it
    /// searches the runs embedded by the same embedder.
    pub fn with_embedder(store: Store, embedder: Arc<dyn Embedder>) -> Self {
        Self { store, embedder, graphs: Mutex::new(HashMap::new()) }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn resolve(&self, at: &At) -> Result<RunInfo, QueryError> {
        if let Some(project) = at.project.as_deref().filter(|p| holds_nul(p)) {
            return Err(QueryError::not_found(format!("project {project:?}")));
        }
        if let Some(id) = at.run {
            let run = self.store.run(id).await?;
            if at.project.as_deref().is_some_and(|p| p != run.project) {
                return Err(QueryError::not_found(format!(
                    "run {id} of project {:?}",
                    at.project.as_deref().unwrap_or_default()
                )));
            }
            return Ok(run);
        }
        let project = self.store.project_or_only(at.project.as_deref()).await?;
        Ok(self.store.latest_complete_run(&project).await?)
    }

    async fn graph(&self, run: &RunInfo) -> Result<Arc<ImportGraph>, QueryError> {
        if let Some(graph) = self.graphs.lock().unwrap_or_else(PoisonError::into_inner).get(&run.id) {
            return Ok(graph.clone());
        }
        let files = self.store.files(run.id).await?;
        let imports: Vec<EdgeRow> = self.store.edges(run.id, pyatlas_graph::EdgeKind::Import).await?;
        let graph =
            Arc::new(answer::import_graph(files.iter().map(|f| (f.module.as_str(), f.path.as_str())), &imports));
        if run.status == RunStatus::Complete {
            let mut graphs = self.graphs.lock().unwrap_or_else(PoisonError::into_inner);
            if graphs.len() >= GRAPHS_KEPT {
                graphs.clear();
            }
            graphs.insert(run.id, graph.clone());
        }
        Ok(graph)
    }

    async fn search_now(&self, run: &RunInfo, search: &Search) -> Result<Vec<SearchHit>, QueryError> {
        search.check()?;
        let spec = self.embedder.spec();
        if spec != run.embedder {
            return Err(QueryError::bad(format!(
                "run {} was embedded by {} ({} dimensions); this map embeds queries with {} ({} dimensions)",
                run.id, run.embedder.model, run.embedder.dimensions, spec.model, spec.dimensions
            )));
        }
        if [&search.path_prefix, &search.domain].into_iter().flatten().any(|f| holds_nul(f)) {
            return Ok(Vec::new());
        }
        let text = search.words();
        let text = text.as_str();
        let vector = self
            .embedder
            .embed(&[text])
            .await
            .map_err(|e| QueryError::bad(format!("embedding the query: {e}")))?
            .into_iter()
            .next()
            .unwrap_or_default();
        let mut query =
            SearchQuery::new(&run.project, vector).run(run.id).k(search.offset + search.k).mode(search.mode, text);
        if let Some(prefix) = &search.path_prefix {
            query = query.path_prefix(prefix);
        }
        if let Some(domain) = &search.domain {
            query = query.domain(domain);
        }
        if let Some(kind) = search.kind {
            query = query.kind(kind);
        }
        Ok(self.store.search(&query).await?.into_iter().skip(search.offset).collect())
    }

    async fn file_now(&self, run: &RunInfo, path: &str) -> Result<FileView, QueryError> {
        if holds_nul(path) {
            return Err(QueryError::not_found(format!("file {path:?}")));
        }
        let file = self
            .store
            .file(run.id, Some(path), None)
            .await?
            .ok_or_else(|| QueryError::not_found(format!("file {path}")))?;
        let source = self.source(&file).await?;
        let units = self.store.units_in(run.id, path).await?;
        let domains = self.store.chunk_domains(run.id, Some(path)).await?.into_iter().flat_map(|(_, d)| d);
        let tags = self.store.tags(run.id, Some(path)).await?;
        let findings = self.store.findings(run.id, Some(path)).await?;
        Ok(answer::file_view(file, source, &units, domains, tags, findings))
    }

    async fn source(&self, file: &FileEntry) -> Result<String, QueryError> {
        self.store.source(&file.content_hash).await?.ok_or_else(|| {
            QueryError::not_found(format!("the source of {} (indexed before sources were stored)", file.path))
        })
    }

    async fn unit_now(&self, run: &RunInfo, unit: &UnitRef) -> Result<UnitContext, QueryError> {
        if holds_nul(&unit.module) || holds_nul(&unit.qualname) {
            return Err(QueryError::not_found(format!("unit {unit}")));
        }
        let file = self
            .store
            .file(run.id, None, Some(&unit.module))
            .await?
            .ok_or_else(|| QueryError::not_found(format!("module {}", unit.module)))?;
        let row = self
            .store
            .units_in(run.id, &file.path)
            .await?
            .into_iter()
            .filter(|u| u.qualname == unit.qualname)
            .min_by_key(|u| u.line)
            .ok_or_else(|| QueryError::not_found(format!("unit {unit}")))?;
        let source = self.source(&file).await?;
        let edges = self.store.edges_around(run.id, &unit.to_string(), &unit.module).await?;
        Ok(answer::unit_context(answer::symbol(&row, &file.module), &source, &edges))
    }
}

/// PostgreSQL text cannot hold NUL: a name with one names nothing stored.
fn holds_nul(text: &str) -> bool {
    text.contains('\0')
}

impl CodeMap for StoreMap {
    fn projects(&self) -> Answer<'_, Vec<Project>> {
        Box::pin(async move {
            let mut projects = Vec::new();
            for name in self.store.projects().await? {
                let runs = self.store.runs(&name).await?;
                let latest_complete = runs.iter().filter(|r| r.status == RunStatus::Complete).map(|r| r.id).max();
                projects.push(Project { name, runs: runs.len() as u64, latest_complete });
            }
            projects.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(projects)
        })
    }

    fn runs<'a>(&'a self, project: &'a str) -> Answer<'a, Vec<RunInfo>> {
        Box::pin(async move {
            if holds_nul(project) || !self.store.projects().await?.iter().any(|p| p == project) {
                return Err(QueryError::not_found(format!("project {project:?}")));
            }
            let mut runs = self.store.runs(project).await?;
            runs.sort_by_key(|r| std::cmp::Reverse(r.id));
            Ok(runs)
        })
    }

    fn run<'a>(&'a self, at: &'a At) -> Answer<'a, RunInfo> {
        Box::pin(self.resolve(at))
    }

    fn diff(&self, from: RunId, to: RunId) -> Answer<'_, RunDiff> {
        Box::pin(async move { Ok(self.store.diff(from, to).await?) })
    }

    fn search<'a>(&'a self, at: &'a At, search: &'a Search) -> Answer<'a, Vec<SearchHit>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            self.search_now(&run, search).await
        })
    }

    fn files<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<FileEntry>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            Ok(self.store.files(run.id).await?)
        })
    }

    fn file<'a>(&'a self, at: &'a At, path: &'a str) -> Answer<'a, FileView> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            self.file_now(&run, path).await
        })
    }

    fn symbols<'a>(&'a self, at: &'a At, query: &'a str, limit: usize) -> Answer<'a, Vec<Symbol>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            if holds_nul(query) {
                return Ok(Vec::new());
            }
            // The units a query prefixes come first in its ranking: when
            // they fill the limit, the database sorts and cuts them; else
            // every unit it may match is ranked here.
            let (lowered, limit) = (query.to_lowercase(), limit.min(answer::MAX_SYMBOLS));
            let mut candidates =
                self.store.units_prefixed(run.id, &lowered, &answer::prefix_pattern(query), limit).await?;
            if candidates.len() < limit {
                candidates = self.store.units_like(run.id, &answer::subsequence_pattern(query)).await?;
            }
            let lowered: Vec<(String, String)> =
                candidates.iter().map(|(u, _)| (u.name.to_lowercase(), u.qualname.to_lowercase())).collect();
            let places = answer::places(candidates.iter().map(|(u, _)| u));
            let candidates =
                candidates.iter().zip(&lowered).zip(places).map(|(((unit, module), (name, qualname)), place)| {
                    answer::SymbolCandidate { unit, module, name, qualname, place }
                });
            Ok(answer::best_symbols(query, candidates, limit))
        })
    }

    fn unit<'a>(&'a self, at: &'a At, unit: &'a UnitRef) -> Answer<'a, UnitContext> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            self.unit_now(&run, unit).await
        })
    }

    fn module_graph<'a>(
        &'a self,
        at: &'a At,
        module: &'a str,
        depth: usize,
        squash: Option<usize>,
    ) -> Answer<'a, ModuleGraph> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            answer::module_graph(&*self.graph(&run).await?, module, depth, squash)
        })
    }

    fn project_graph<'a>(&'a self, at: &'a At, squash: Option<usize>) -> Answer<'a, ProjectGraph> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            answer::project_graph(&*self.graph(&run).await?, squash)
        })
    }

    fn chain<'a>(&'a self, at: &'a At, from: &'a str, to: &'a str) -> Answer<'a, Option<Vec<Hop>>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            answer::chain(&*self.graph(&run).await?, from, to)
        })
    }

    fn cycles<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<Cycle>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            Ok(self.graph(&run).await?.cycles(Walk::all()))
        })
    }

    fn domains<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<DomainSummary>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            let chunks = self.store.chunk_domains(run.id, None).await?;
            Ok(answer::domain_summaries(chunks.iter().map(|(p, d)| (p.as_str(), d.as_slice()))))
        })
    }

    fn findings<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<FindingRow>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            let mut findings = self.store.findings(run.id, None).await?;
            answer::sort_findings(&mut findings);
            Ok(findings)
        })
    }

    fn repo_map<'a>(&'a self, at: &'a At, request: &'a MapRequest) -> Answer<'a, RepoMap> {
        Box::pin(async move {
            repo_map::budget(request)?;
            let run = self.resolve(at).await?;
            let files = self.store.files(run.id).await?;
            let units = self.store.units(run.id).await?;
            let mut edges = Vec::new();
            for kind in [EdgeKind::Import, EdgeKind::Call, EdgeKind::Inherits] {
                edges.extend(self.store.edges(run.id, kind).await?);
            }
            let pairs: Vec<(&str, &str)> = files.iter().map(|f| (f.path.as_str(), f.module.as_str())).collect();
            let focus = repo_map::focus_files(&pairs, &request.focus);
            let mut texts = Vec::new();
            for file in files.iter().filter(|f| focus.contains(&f.path.as_str())) {
                texts.extend(self.store.source(&file.content_hash).await?);
            }
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            repo_map::draw(&pairs, &units, &edges, request, &texts, &pyatlas_chunker::Tiktoken::cl100k_base())
        })
    }

    fn contracts<'a>(&'a self, at: &'a At) -> Answer<'a, Option<ContractsReport>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            Ok(self.store.contracts(run.id).await?)
        })
    }

    fn tags<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<TagRow>> {
        Box::pin(async move {
            let run = self.resolve(at).await?;
            let mut tags = self.store.tags(run.id, None).await?;
            answer::sort_tags(&mut tags);
            Ok(tags)
        })
    }
}
