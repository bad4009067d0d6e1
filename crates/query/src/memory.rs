//! [`MemoryMap`]: the map of one folder, indexed into memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bm25::{Embedder as Bm25, EmbedderBuilder, Language, Scorer};
use pyatlas_embed::{Embedder, EmbeddingCache, TextHash};
use pyatlas_graph::{ContractsReport, Cycle, Hop, ImportGraph, Walk};
use pyatlas_index::{Indexer, MemoryTarget, RunRows};
use pyatlas_store::{
    ChunkRow, FileRow, FindingRow, HYBRID_POOL, RunDiff, RunId, RunInfo, SearchHit, SearchMode, TagRow, code_words,
    fuse, is_name, merge_parts,
};

use crate::answer::{self, best_symbols};
use crate::model::{
    At, DomainSummary, FileView, ModuleGraph, Project, ProjectGraph, Search, Symbol, UnitContext, UnitRef,
};
use crate::repo_map::{self, MapRequest, RepoMap};
use crate::{Answer, CodeMap, QueryError};

/// The map of one folder, held in the process: what the pipeline writes,
/// written into memory instead of a store, with its vectors, a BM25 index
/// of its chunks and its import graph. One project, one run (id 1).
pub struct MemoryMap {
    rows: RunRows,
    embedder: Arc<dyn Embedder>,
    /// The chunks' unit vectors, one row of `dimensions` per chunk (same
    /// order as `rows.chunks`), in one block; zeros for a chunk never
    /// embedded, which `embedded` marks.
    vectors: Vec<f32>,
    embedded: Vec<bool>,
    dimensions: usize,
    /// Each unit's name and qualname, lower-cased (same order as `rows.units`).
    lowered: Vec<(String, String)>,
    /// BM25 of the chunks' code words: the tokenizer fit to them, and the
    /// scorer of their sparse vectors (ids are indexes in `rows.chunks`).
    lexical: (Bm25, Scorer<u32>),
    /// Path -> index in `rows.files`.
    by_path: HashMap<String, usize>,
    /// Module -> index in `rows.files`.
    by_module: HashMap<String, usize>,
    graph: ImportGraph,
}

impl std::fmt::Debug for MemoryMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryMap")
            .field("project", &self.rows.info.project)
            .field("files", &self.rows.files.len())
            .field("chunks", &self.rows.chunks.len())
            .finish_non_exhaustive()
    }
}

impl MemoryMap {
    /// Indexes the folder `root` with the default settings (the offline
    /// hash embedder) into memory.
    ///
    /// # Errors
    /// An unreadable root or an invalid project configuration.
    pub async fn index(root: impl AsRef<Path>) -> Result<Self, QueryError> {
        Self::with_indexer(&Indexer::builder(root.as_ref()).build()?).await
    }

    /// Runs `indexer` into memory; queries are embedded with its embedder.
    ///
    /// # Errors
    /// What stops the run ([`pyatlas_index::IndexError`]).
    pub async fn with_indexer(indexer: &Indexer) -> Result<Self, QueryError> {
        let target = MemoryTarget::new();
        indexer.run(&target).await?;
        let rows = target.take_rows().ok_or_else(|| QueryError::not_found("the run just indexed"))?;
        let embedder = indexer.embedder().clone();
        let hashes: Vec<TextHash> = rows.chunks.iter().map(|c| TextHash::of(&c.text)).collect();
        let spec = embedder.spec();
        let cached = target.cache().get_many(embedder.model_id(), spec.dimensions, &hashes).await.unwrap_or_default();
        let dimensions = spec.dimensions;
        let mut vectors = vec![0.0; rows.chunks.len() * dimensions];
        let mut embedded = vec![false; rows.chunks.len()];
        for ((vector, row), mark) in cached.into_iter().zip(vectors.chunks_exact_mut(dimensions)).zip(&mut embedded) {
            if let Some(vector) = vector.filter(|v| v.len() == dimensions) {
                row.copy_from_slice(&unit_vector(vector));
                *mark = true;
            }
        }
        let lowered = rows.units.iter().map(|u| (u.name.to_lowercase(), u.qualname.to_lowercase())).collect();
        Ok(Self::assemble(rows, embedder, (vectors, embedded, dimensions), lowered))
    }

    fn assemble(
        rows: RunRows,
        embedder: Arc<dyn Embedder>,
        (vectors, embedded, dimensions): (Vec<f32>, Vec<bool>, usize),
        lowered: Vec<(String, String)>,
    ) -> Self {
        let texts: Vec<String> = rows.chunks.iter().map(|chunk| lexical_text(&chunk.text)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let bm25: Bm25 = EmbedderBuilder::with_fit_to_corpus(Language::English, &refs).build();
        let mut scorer = Scorer::new();
        for (text, i) in texts.iter().zip(0u32..) {
            scorer.upsert(&i, bm25.embed(text));
        }
        let lexical = (bm25, scorer);
        let by_path = rows.files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect();
        let by_module = rows.files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
        let graph = answer::import_graph(rows.files.iter().map(|f| (f.module.as_str(), f.path.as_str())), &rows.edges);
        Self { rows, embedder, vectors, embedded, dimensions, lowered, lexical, by_path, by_module, graph }
    }

    /// The run's rows.
    pub fn rows(&self) -> &RunRows {
        &self.rows
    }

    fn check(&self, at: &At) -> Result<(), QueryError> {
        let info = &self.rows.info;
        if at.project.as_deref().is_some_and(|p| p != info.project) {
            return Err(QueryError::not_found(format!("project {:?}", at.project.as_deref().unwrap_or_default())));
        }
        if at.run.is_some_and(|r| r != info.id) {
            return Err(QueryError::not_found(format!("run {}", at.run.map(|r| r.get()).unwrap_or_default())));
        }
        Ok(())
    }

    fn file_row(&self, path: &str) -> Result<&FileRow, QueryError> {
        self.by_path
            .get(path)
            .map(|&i| &self.rows.files[i])
            .ok_or_else(|| QueryError::not_found(format!("file {path}")))
    }

    fn passes(search: &Search, chunk: &ChunkRow) -> bool {
        search.path_prefix.as_ref().is_none_or(|p| chunk.path.starts_with(p.as_str()))
            && search.domain.as_ref().is_none_or(|d| chunk.domains.contains(d))
            && search.kind.is_none_or(|k| chunk.kind == k)
    }

    async fn search_now(&self, search: &Search) -> Result<Vec<SearchHit>, QueryError> {
        search.check()?;
        let text = search.words();
        let text = text.as_str();
        let want = search.offset + search.k;
        let pool = HYBRID_POOL.max(want);
        let ranked = match search.mode {
            SearchMode::Lexical => self.by_text(search, text, want),
            SearchMode::Hybrid => {
                fuse(self.by_vector(search, text, pool).await?, self.by_text(search, text, pool), pool)
            }
            _ => self.by_vector(search, text, want).await?,
        };
        let exact = if search.mode != SearchMode::Vector && is_name(text) {
            self.exact_names(search, text, want)
        } else {
            Vec::new()
        };
        let mut hits = merge_parts(exact.into_iter().chain(ranked).collect());
        hits.truncate(want);
        Ok(hits.into_iter().skip(search.offset).collect())
    }

    async fn by_vector(&self, search: &Search, text: &str, limit: usize) -> Result<Vec<SearchHit>, QueryError> {
        let vectors =
            self.embedder.embed(&[text]).await.map_err(|e| QueryError::bad(format!("embedding the query: {e}")))?;
        let Some(probe) = vectors.into_iter().next().map(unit_vector) else { return Ok(Vec::new()) };
        if probe.len() != self.dimensions || self.dimensions == 0 {
            return Err(QueryError::bad("the query's vector does not have the run's dimensions"));
        }
        let mut scored: Vec<(f64, usize)> = self
            .vectors
            .chunks_exact(self.dimensions)
            .enumerate()
            .filter(|&(i, _)| self.embedded[i] && Self::passes(search, &self.rows.chunks[i]))
            .map(|(i, vector)| (f64::from(dot(vector, &probe)), i))
            .collect();
        let order = |a: &(f64, usize), b: &(f64, usize)| {
            b.0.total_cmp(&a.0).then_with(|| self.rows.chunks[a.1].id.cmp(&self.rows.chunks[b.1].id))
        };
        // The best `limit` first (a total order: the same as sorting all).
        if scored.len() > limit {
            scored.select_nth_unstable_by(limit, order);
            scored.truncate(limit);
        }
        scored.sort_by(order);
        Ok(scored.into_iter().map(|(score, i)| SearchHit::of(&self.rows.chunks[i], score)).collect())
    }

    fn by_text(&self, search: &Search, text: &str, limit: usize) -> Vec<SearchHit> {
        let (bm25, scorer) = &self.lexical;
        let hits = scorer
            .matches(&bm25.embed(&lexical_text(text)))
            .into_iter()
            .filter_map(|r| self.rows.chunks.get(r.id as usize).map(|c| (c, r.score)))
            .filter(|(chunk, _)| Self::passes(search, chunk))
            .take(limit)
            .map(|(chunk, score)| SearchHit::of(chunk, f64::from(score)))
            .collect();
        merge_parts(hits)
    }

    /// The chunks holding a unit named `name`, units first, then by place.
    fn exact_names(&self, search: &Search, name: &str, limit: usize) -> Vec<SearchHit> {
        let suffix = format!(".{name}");
        let mut found: Vec<&ChunkRow> = self
            .rows
            .chunks
            .iter()
            .filter(|c| Self::passes(search, c) && c.qualnames.iter().any(|q| q == name || q.ends_with(&suffix)))
            .collect();
        found.sort_by_key(|c| (!c.kind.holds_unit(), c.path.as_str(), c.start_line));
        found.into_iter().take(limit).map(|c| SearchHit::of(c, 1.0)).collect()
    }

    fn unit_now(&self, unit: &UnitRef) -> Result<UnitContext, QueryError> {
        let file = self
            .by_module
            .get(&unit.module)
            .map(|&i| &self.rows.files[i])
            .ok_or_else(|| QueryError::not_found(format!("module {}", unit.module)))?;
        let row = self
            .rows
            .units
            .iter()
            .filter(|u| u.path == file.path && u.qualname == unit.qualname)
            .min_by_key(|u| u.line)
            .ok_or_else(|| QueryError::not_found(format!("unit {unit}")))?;
        let id = unit.to_string();
        let edges: Vec<_> = self
            .rows
            .edges
            .iter()
            .filter(|e| e.source == id || e.target == id || e.source == unit.module)
            .cloned()
            .collect();
        Ok(answer::unit_context(answer::symbol(row, &file.module), &file.source, &edges))
    }
}

/// The dot product, in eight lanes (so that it vectorises).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        if let (Ok(x), Ok(y)) = (<&[f32; 8]>::try_from(x), <&[f32; 8]>::try_from(y)) {
            for lane in 0..8 {
                lanes[lane] += x[lane] * y[lane];
            }
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `vector` scaled to length 1 (cosine becomes a dot product).
fn unit_vector(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
    vector
}

/// A text as the lexical index sees it: identifiers split into words, and
/// whole, as the store builds a chunk's lexemes.
fn lexical_text(text: &str) -> String {
    let (prose, whole) = code_words(text);
    prose + " " + &whole
}

impl CodeMap for MemoryMap {
    fn projects(&self) -> Answer<'_, Vec<Project>> {
        let info = &self.rows.info;
        let project = Project { name: info.project.clone(), runs: 1, latest_complete: Some(info.id) };
        Box::pin(async move { Ok(vec![project]) })
    }

    fn runs<'a>(&'a self, project: &'a str) -> Answer<'a, Vec<RunInfo>> {
        Box::pin(async move {
            self.check(&At::project(project))?;
            Ok(vec![self.rows.info.clone()])
        })
    }

    fn run<'a>(&'a self, at: &'a At) -> Answer<'a, RunInfo> {
        Box::pin(async move {
            self.check(at)?;
            Ok(self.rows.info.clone())
        })
    }

    fn diff(&self, from: RunId, to: RunId) -> Answer<'_, RunDiff> {
        Box::pin(async move {
            // One run: a run and itself.
            for id in [from, to] {
                self.check(&At::run(id))?;
            }
            Ok(RunDiff::unchanged(from, to))
        })
    }

    fn search<'a>(&'a self, at: &'a At, search: &'a Search) -> Answer<'a, Vec<SearchHit>> {
        Box::pin(async move {
            self.check(at)?;
            self.search_now(search).await
        })
    }

    fn files<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<pyatlas_store::FileEntry>> {
        Box::pin(async move {
            self.check(at)?;
            let mut files: Vec<_> = self.rows.files.iter().map(answer::entry).collect();
            files.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(files)
        })
    }

    fn file<'a>(&'a self, at: &'a At, path: &'a str) -> Answer<'a, FileView> {
        Box::pin(async move {
            self.check(at)?;
            let file = self.file_row(path)?;
            let units: Vec<_> = self.rows.units.iter().filter(|u| u.path == path).cloned().collect();
            let domains = self.rows.chunks.iter().filter(|c| c.path == path).flat_map(|c| c.domains.iter().cloned());
            let tags: Vec<TagRow> = self.rows.tags.iter().filter(|t| t.path == path).cloned().collect();
            let findings: Vec<FindingRow> = self.rows.findings.iter().filter(|f| f.path == path).cloned().collect();
            Ok(answer::file_view(answer::entry(file), file.source.clone(), &units, domains, tags, findings))
        })
    }

    fn symbols<'a>(&'a self, at: &'a At, query: &'a str, limit: usize) -> Answer<'a, Vec<Symbol>> {
        Box::pin(async move {
            self.check(at)?;
            let module = |path: &str| self.by_path.get(path).map_or("", |&i| self.rows.files[i].module.as_str());
            let candidates = self.rows.units.iter().zip(&self.lowered);
            Ok(best_symbols(
                query,
                candidates.map(|(u, (name, qualname))| (u, module(&u.path), name.as_str(), qualname.as_str())),
                limit,
            ))
        })
    }

    fn unit<'a>(&'a self, at: &'a At, unit: &'a UnitRef) -> Answer<'a, UnitContext> {
        Box::pin(async move {
            self.check(at)?;
            self.unit_now(unit)
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
            self.check(at)?;
            answer::module_graph(&self.graph, module, depth, squash)
        })
    }

    fn project_graph<'a>(&'a self, at: &'a At, squash: Option<usize>) -> Answer<'a, ProjectGraph> {
        Box::pin(async move {
            self.check(at)?;
            answer::project_graph(&self.graph, squash)
        })
    }

    fn chain<'a>(&'a self, at: &'a At, from: &'a str, to: &'a str) -> Answer<'a, Option<Vec<Hop>>> {
        Box::pin(async move {
            self.check(at)?;
            answer::chain(&self.graph, from, to)
        })
    }

    fn cycles<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<Cycle>> {
        Box::pin(async move {
            self.check(at)?;
            Ok(self.graph.cycles(Walk::all()))
        })
    }

    fn domains<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<DomainSummary>> {
        Box::pin(async move {
            self.check(at)?;
            Ok(answer::domain_summaries(self.rows.chunks.iter().map(|c| (c.path.as_str(), c.domains.as_slice()))))
        })
    }

    fn findings<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<FindingRow>> {
        Box::pin(async move {
            self.check(at)?;
            let mut findings = self.rows.findings.clone();
            answer::sort_findings(&mut findings);
            Ok(findings)
        })
    }

    fn repo_map<'a>(&'a self, at: &'a At, request: &'a MapRequest) -> Answer<'a, RepoMap> {
        Box::pin(async move {
            self.check(at)?;
            let files: Vec<(&str, &str)> =
                self.rows.files.iter().map(|f| (f.path.as_str(), f.module.as_str())).collect();
            let focus = repo_map::focus_files(&files, &request.focus);
            let texts: Vec<&str> = self
                .rows
                .files
                .iter()
                .filter(|f| focus.contains(&f.path.as_str()))
                .map(|f| f.source.as_str())
                .collect();
            repo_map::draw(
                &files,
                &self.rows.units,
                &self.rows.edges,
                request,
                &texts,
                &pyatlas_chunker::Tiktoken::cl100k_base(),
            )
        })
    }

    fn contracts<'a>(&'a self, at: &'a At) -> Answer<'a, Option<ContractsReport>> {
        Box::pin(async move {
            self.check(at)?;
            Ok(self.rows.contracts.clone())
        })
    }

    fn tags<'a>(&'a self, at: &'a At) -> Answer<'a, Vec<TagRow>> {
        Box::pin(async move {
            self.check(at)?;
            let mut tags = self.rows.tags.clone();
            answer::sort_tags(&mut tags);
            Ok(tags)
        })
    }
}
