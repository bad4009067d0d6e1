//! [`MemoryMap`]: the map of one folder, indexed into memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use pyatlas_embed::{Embedder, EmbeddingCache, TextHash};
use pyatlas_graph::{ContractsReport, Cycle, Hop, ImportGraph, Walk};
use pyatlas_index::{FileCache, FileRows, Indexer, MemoryTarget, RunRows};
use pyatlas_store::{
    ChunkRow, FileRow, FindingRow, HYBRID_POOL, RunDiff, RunId, RunInfo, SearchHit, SearchMode, TagRow, code_words,
    fuse, is_name, merge_parts,
};

pub(crate) use self::search::TokenCache;
use self::search::{Columns, Lexical, Names, Symbols, descending};
use crate::answer::{self, SymbolCandidate, best, best_symbols};
use crate::model::{
    At, DomainSummary, FileView, ModuleGraph, Project, ProjectGraph, Search, Symbol, UnitContext, UnitRef,
};
use crate::repo_map::{self, MapRequest, RepoMap};
use crate::{Answer, CodeMap, QueryError};

mod search;

/// The map of one folder, held in the process: what the pipeline writes,
/// written into memory instead of a store, with its vectors, a BM25 index
/// of its chunks and its import graph. One project, one run (id 1).
pub struct MemoryMap {
    rows: RunRows,
    embedder: Arc<dyn Embedder>,
    /// The chunks' unit vectors (rows in the order of `rows.chunks`); zeros
    /// for a chunk never embedded, which `embedded` marks.
    vectors: Columns,
    embedded: Vec<bool>,
    /// The units as symbol queries see them.
    symbols: Symbols,
    /// BM25 of the chunks' code words (documents are indexes in `rows.chunks`).
    lexical: Lexical,
    /// The chunks by the names they hold.
    names: Names,
    /// Each chunk's place in the order of chunk ids (then of rows): the
    /// tie-break of rankings.
    id_order: Vec<u32>,
    /// Path -> index in `rows.files`.
    by_path: HashMap<String, usize>,
    /// What each file holds (same order as `rows.files`).
    contents: Vec<Contents>,
    /// Module -> index in `rows.files`.
    by_module: HashMap<String, usize>,
    graph: ImportGraph,
}

/// The rows of one file: indexes in `rows.units`, `rows.chunks`,
/// `rows.tags` and `rows.findings`, in their order there.
#[derive(Default)]
struct Contents {
    units: Vec<u32>,
    chunks: Vec<u32>,
    tags: Vec<u32>,
    findings: Vec<u32>,
}

impl Contents {
    /// Each file's contents, by the files' paths in `by_path`.
    fn of(rows: &RunRows, by_path: &HashMap<String, usize>) -> Vec<Self> {
        let mut contents: Vec<Self> = rows.files.iter().map(|_| Self::default()).collect();
        let mut add = |path: &str, pick: fn(&mut Self) -> &mut Vec<u32>, i: usize| {
            if let (Some(&file), Ok(i)) = (by_path.get(path), u32::try_from(i)) {
                pick(&mut contents[file]).push(i);
            }
        };
        rows.units.iter().enumerate().for_each(|(i, u)| add(&u.path, |c| &mut c.units, i));
        rows.chunks.iter().enumerate().for_each(|(i, c)| add(&c.path, |c| &mut c.chunks, i));
        rows.tags.iter().enumerate().for_each(|(i, t)| add(&t.path, |c| &mut c.tags, i));
        rows.findings.iter().enumerate().for_each(|(i, f)| add(&f.path, |c| &mut c.findings, i));
        contents
    }
}

/// The rows of the run just written into `target`.
fn taken(target: &MemoryTarget) -> Result<RunRows, QueryError> {
    target.take_rows().ok_or_else(|| QueryError::not_found("the run just indexed"))
}

/// The rows of `all` at `indexes`.
fn picked<'a, T>(all: &'a [T], indexes: &'a [u32]) -> impl Iterator<Item = &'a T> + 'a {
    indexes.iter().filter_map(|&i| all.get(i as usize))
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
        Ok(Self::from_rows(indexer, &target, taken(&target)?, None).await)
    }

    /// The map of an incremental run of `indexer` into `target`
    /// ([`Indexer::run_incremental`] with `cache`) for a
    /// [`LiveMap`](crate::LiveMap) whose map is `previous`: the chunks' words
    /// tokenized for BM25 only when `tokens` does not hold them, and `None`
    /// when the run reused every
    /// file of `previous`, embedded nothing, and found the same edges,
    /// findings and contracts (the map would be `previous` again).
    pub(crate) async fn refreshed(
        indexer: &Indexer,
        target: &MemoryTarget,
        cache: &mut FileCache,
        tokens: &mut TokenCache,
        previous: Option<&Self>,
    ) -> Result<Option<Self>, QueryError> {
        let summary = indexer.run_incremental(target, cache).await?;
        let rows = taken(target)?;
        let same = |previous: &Self| {
            summary.reused == summary.files
                && summary.embedded == 0
                && rows.files.len() == previous.rows.files.len()
                && rows.edges == previous.rows.edges
                && rows.findings == previous.rows.findings
                && rows.contracts == previous.rows.contracts
        };
        if previous.is_some_and(same) {
            return Ok(None);
        }
        Ok(Some(Self::from_rows(indexer, target, rows, Some(tokens)).await))
    }

    /// The map of `rows`, a run `indexer` wrote into `target`.
    async fn from_rows(
        indexer: &Indexer,
        target: &MemoryTarget,
        rows: RunRows,
        tokens: Option<&mut TokenCache>,
    ) -> Self {
        let embedder = indexer.embedder().clone();
        let hashes: Vec<TextHash> = rows.chunks.iter().map(|c| TextHash::of(&c.text)).collect();
        let spec = embedder.spec();
        let cached = target.cache().get_many(embedder.model_id(), spec.dimensions, &hashes).await.unwrap_or_default();
        let mut vectors = Columns::zeros(rows.chunks.len(), spec.dimensions);
        let mut embedded = vec![false; rows.chunks.len()];
        for ((vector, row), mark) in cached.into_iter().zip(0..).zip(&mut embedded) {
            if let Some(vector) = vector.filter(|v| v.len() == spec.dimensions) {
                vectors.set(row, &unit_vector(vector));
                *mark = true;
            }
        }
        Self::assemble(rows, embedder, vectors, embedded, tokens)
    }

    fn assemble(
        rows: RunRows,
        embedder: Arc<dyn Embedder>,
        vectors: Columns,
        embedded: Vec<bool>,
        tokens: Option<&mut TokenCache>,
    ) -> Self {
        let by_path: HashMap<String, usize> = rows.files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect();
        let symbols = Symbols::new(&rows.units, |path| by_path.get(path).copied());
        let lexical = match tokens {
            Some(tokens) => Lexical::cached(&rows.chunks, lexical_document, tokens),
            None => Lexical::new(&rows.chunks, lexical_document),
        }
        .named(&rows.chunks, lexical_names, NAME_WEIGHT);
        let names = Names::new(&rows.chunks);
        let id_order = answer::places_by(&rows.chunks, |a, b| a.id.cmp(&b.id));
        let contents = Contents::of(&rows, &by_path);
        let by_module = rows.files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
        let graph = answer::import_graph(rows.files.iter().map(|f| (f.module.as_str(), f.path.as_str())), &rows.edges);
        Self {
            rows,
            embedder,
            vectors,
            embedded,
            symbols,
            lexical,
            names,
            id_order,
            by_path,
            contents,
            by_module,
            graph,
        }
    }

    /// The run's rows.
    pub fn rows(&self) -> &RunRows {
        &self.rows
    }

    /// The rows of the file at `path` (file, units, chunks, tags), as the
    /// run wrote them: where a [`LiveMap`](crate::LiveMap)'s next run finds
    /// the files it reuses.
    pub fn file_rows(&self, path: &str) -> Option<FileRows> {
        let (file, contents) = self.file_row(path).ok()?;
        Some(FileRows {
            file: file.clone(),
            units: picked(&self.rows.units, &contents.units).cloned().collect(),
            chunks: picked(&self.rows.chunks, &contents.chunks).cloned().collect(),
            tags: picked(&self.rows.tags, &contents.tags).cloned().collect(),
        })
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

    /// The file at `path` and what it holds.
    fn file_row(&self, path: &str) -> Result<(&FileRow, &Contents), QueryError> {
        self.by_path
            .get(path)
            .map(|&i| (&self.rows.files[i], &self.contents[i]))
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
        if probe.len() != self.vectors.dimensions() || probe.is_empty() {
            return Err(QueryError::bad("the query's vector does not have the run's dimensions"));
        }
        let scored = (0u32..).zip(self.vectors.scores(&probe)).zip(&self.embedded);
        Ok(self.ranked(search, scored.filter(|(_, embedded)| **embedded).map(|(scored, _)| scored), limit))
    }

    /// The best `limit` of `scored` (chunks by index, with their scores)
    /// that pass the search's filters: by score, then by chunk id (a total
    /// order, so that ties do not depend on the index's layout), compared
    /// as one number per chunk.
    fn ranked(&self, search: &Search, scored: impl Iterator<Item = (u32, f32)>, limit: usize) -> Vec<SearchHit> {
        let filtered = search.path_prefix.is_some() || search.domain.is_some() || search.kind.is_some();
        let passing = scored
            .filter(|&(i, _)| !filtered || self.rows.chunks.get(i as usize).is_some_and(|c| Self::passes(search, c)));
        let keyed = passing.map(|(i, score)| {
            let tie = self.id_order.get(i as usize).copied().unwrap_or(u32::MAX);
            (u64::from(descending(score)) << 32 | u64::from(tie), i, score)
        });
        let best = best(keyed, limit, |a, b| a.0.cmp(&b.0));
        let chunks = best.into_iter().filter_map(|(_, i, score)| Some((self.rows.chunks.get(i as usize)?, score)));
        chunks.map(|(chunk, score)| SearchHit::of(chunk, f64::from(score))).collect()
    }

    fn by_text(&self, search: &Search, text: &str, limit: usize) -> Vec<SearchHit> {
        merge_parts(self.ranked(search, self.lexical.scores(&lexical_text(text)).into_iter(), limit))
    }

    /// The chunks holding a unit named `name`, units first, then by place.
    fn exact_names(&self, search: &Search, name: &str, limit: usize) -> Vec<SearchHit> {
        let mut found: Vec<&ChunkRow> =
            picked(&self.rows.chunks, self.names.holding(name)).filter(|c| Self::passes(search, c)).collect();
        found.sort_by_key(|c| (!c.kind.holds_unit(), c.path.as_str(), c.start_line));
        found.into_iter().take(limit).map(|c| SearchHit::of(c, 1.0)).collect()
    }

    fn unit_now(&self, unit: &UnitRef) -> Result<UnitContext, QueryError> {
        let (file, contents) = self
            .by_module
            .get(&unit.module)
            .map(|&i| (&self.rows.files[i], &self.contents[i]))
            .ok_or_else(|| QueryError::not_found(format!("module {}", unit.module)))?;
        let row = picked(&self.rows.units, &contents.units)
            .filter(|u| u.qualname == unit.qualname)
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

/// How many times a word of a chunk's first docstring counts in BM25 (a
/// field weight of BM25F, as a term frequency): the store weighs the
/// docstring's words most too. Chosen with the name weight on the question
/// sets of `benches/search` (1 to 3 tried; the sweep is in benches/README.md).
const DOCSTRING_WEIGHT: usize = 2;

/// What a query word adds, times its inverse document frequency, to a
/// chunk whose own names hold it (see [`Lexical::named`]): about a word's
/// usual BM25 weight and a half. Measured on `benches/search` with 0 to 3.
const NAME_WEIGHT: f32 = 1.5;

/// A chunk as the lexical index sees it: its text's words
/// ([`lexical_text`]), then its first docstring's words again.
fn lexical_document(chunk: &ChunkRow) -> String {
    let mut document = lexical_text(&chunk.text);
    if let Some(docstring) = first_docstring(&chunk.text).map(lexical_text) {
        for _ in 1..DOCSTRING_WEIGHT {
            document.push(' ');
            document.push_str(&docstring);
        }
    }
    document
}

/// A chunk's own names as the lexical index sees them.
fn lexical_names(chunk: &ChunkRow) -> String {
    lexical_text(&chunk.qualnames.join(" "))
}

/// The text between the first pair of triple double quotes, as the store
/// finds a chunk's docstring.
fn first_docstring(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("\"\"\"")?;
    Some(rest.split_once("\"\"\"")?.0)
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
            let (file, contents) = self.file_row(path)?;
            let rows = &self.rows;
            let units: Vec<_> = picked(&rows.units, &contents.units).cloned().collect();
            let domains = picked(&rows.chunks, &contents.chunks).flat_map(|c| c.domains.iter().cloned());
            let tags: Vec<TagRow> = picked(&rows.tags, &contents.tags).cloned().collect();
            let findings: Vec<FindingRow> = picked(&rows.findings, &contents.findings).cloned().collect();
            Ok(answer::file_view(answer::entry(file), file.source.clone(), &units, domains, tags, findings))
        })
    }

    fn symbols<'a>(&'a self, at: &'a At, query: &'a str, limit: usize) -> Answer<'a, Vec<Symbol>> {
        Box::pin(async move {
            self.check(at)?;
            let limit = limit.min(answer::MAX_SYMBOLS);
            let candidates = self.symbols.candidates(&query.to_lowercase(), limit).into_iter().filter_map(|i| {
                let (unit, key) = (self.rows.units.get(i as usize)?, self.symbols.key(i)?);
                let module = key.file.and_then(|i| self.rows.files.get(i)).map_or("", |f| f.module.as_str());
                Some(SymbolCandidate { unit, module, name: &key.name, qualname: &key.qualname, place: key.place })
            });
            Ok(best_symbols(query, candidates, limit))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docstring_counts_again_and_names_are_words() {
        let text = "# file: a.py\ndef load(path):\n    \"\"\"Read the configFile.\"\"\"\n    return open(path)\n";
        assert_eq!(first_docstring(text), Some("Read the configFile."));
        assert_eq!(first_docstring("x = '''no'''"), None);
        assert_eq!(first_docstring("\"\"\"open"), None);
        let chunk = ChunkRow {
            id: pyatlas_chunker::ChunkId::of(text),
            path: "a.py".into(),
            qualnames: vec!["Loader.load_file".into()],
            kind: pyatlas_chunker::ChunkKind::Method,
            start_line: 1,
            end_line: 4,
            token_count: 20,
            text: text.into(),
            domains: Vec::new(),
            metadata: serde_json::Value::Null,
        };
        let document = lexical_document(&chunk);
        let count = |word: &str| document.split(' ').filter(|w| *w == word).count();
        assert_eq!(count("config"), DOCSTRING_WEIGHT, "the docstring's words count {DOCSTRING_WEIGHT} times");
        assert_eq!(count("return"), 1, "the body's once");
        assert_eq!(
            lexical_names(&chunk).split_whitespace().collect::<Vec<_>>(),
            ["Loader", "load", "file", "loader", "loadfile"]
        );
    }
}
