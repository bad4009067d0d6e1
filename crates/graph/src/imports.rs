//! The module import graph: nodes, edges, resolution as grimp does it, and
//! building it from a codebase (fast path and cache) or from parsed records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use petgraph::graph::{DiGraph, NodeIndex};
use pyatlas_parser::{Config, FileRecord, Import, ImportKind, SourceFile, WalkProblem, discover};
use serde::{Deserialize, Serialize};

use crate::BuildError as Error;
use crate::cache::ImportCache;

/// What a node of the import graph is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModuleKind {
    /// A module of the codebase.
    Internal,
    /// A package from outside the codebase, squashed to its top-level name.
    External,
    /// A module of the standard library, squashed to its top-level name.
    Stdlib,
}

/// A node: a module of the codebase, or an external package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModuleNode {
    /// Dotted name (`pkg.mod`; `requests` for an external package).
    pub name: String,
    /// Path relative to the root, for a module of the codebase with a file.
    pub path: Option<String>,
    /// Internal, external or standard library.
    pub kind: ModuleKind,
    /// A package (`__init__.py`, or a namespace package).
    pub is_package: bool,
}

/// An edge: every import of one module by another.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImportEdge {
    /// Lines of the import statements, ascending.
    pub lines: Vec<u32>,
    /// Every import on this edge is under `if TYPE_CHECKING:`.
    pub type_checking: bool,
    /// Every import on this edge is inside a function.
    pub function_level: bool,
}

impl ImportEdge {
    /// An edge of imports at `lines`.
    pub fn new(lines: Vec<u32>, type_checking: bool, function_level: bool) -> Self {
        Self { lines, type_checking, function_level }
    }
}

/// An import that looks internal (its top-level package is the codebase's)
/// but names no module of it: reported, never dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnresolvedImport {
    /// The importing module.
    pub importer: String,
    /// The absolute name it imports (`pkg.gone.thing`), or the relative
    /// import as written when it climbs above the top-level package.
    pub imported: String,
    /// Line of the import.
    pub line: u32,
}

/// Options for building an import graph.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GraphConfig {
    /// How to find the files (source roots, excludes, ...).
    pub discovery: Config,
    /// Add external and standard-library packages as nodes (default: `true`).
    pub include_external: bool,
    /// Keep imports under `if TYPE_CHECKING:` (default: `true`).
    pub include_type_checking: bool,
    /// Where to keep the per-file import cache; `None`: no cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self { discovery: Config::default(), include_external: true, include_type_checking: true, cache_dir: None }
    }
}

impl GraphConfig {
    /// Sets [`GraphConfig::discovery`].
    #[must_use]
    pub fn discovery(mut self, discovery: Config) -> Self {
        self.discovery = discovery;
        self
    }

    /// Sets [`GraphConfig::include_external`].
    #[must_use]
    pub fn include_external(mut self, include: bool) -> Self {
        self.include_external = include;
        self
    }

    /// Sets [`GraphConfig::include_type_checking`].
    #[must_use]
    pub fn include_type_checking(mut self, include: bool) -> Self {
        self.include_type_checking = include;
        self
    }

    /// Sets [`GraphConfig::cache_dir`].
    #[must_use]
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
}

/// What a build did, for reports and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BuildStats {
    /// Python files found.
    pub files: usize,
    /// Files whose imports came from the cache.
    pub cached: usize,
    /// Files scanned.
    pub scanned: usize,
    /// Seconds in all.
    pub seconds: f64,
    /// What could not be walked or read: folders of the walk, and files
    /// whose imports are therefore missing from the graph.
    pub problems: Vec<WalkProblem>,
}

/// Builds an import graph file by file once the codebase's modules are
/// known (as discovery knows them before any file is parsed): each file's
/// imports are resolved as they come, and only the edges are kept.
#[derive(Debug)]
pub struct ImportGraphBuilder {
    modules: ModuleSet,
    graph: ImportGraph,
    /// (importer, imported) -> (lines, all type-checking, all in functions)
    edges: HashMap<(NodeIndex, NodeIndex), (Vec<u32>, bool, bool)>,
    include_external: bool,
    include_type_checking: bool,
}

impl ImportGraphBuilder {
    /// A builder for the codebase whose files are `(module, path, is_package)`.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str, bool)>, config: &GraphConfig) -> Self {
        let modules = ModuleSet::new(files.into_iter());
        let mut graph = ImportGraph::default();
        for (name, (path, is_package)) in &modules.modules {
            graph.node(ModuleNode {
                name: name.clone(),
                path: path.clone(),
                kind: ModuleKind::Internal,
                is_package: *is_package,
            });
        }
        Self {
            modules,
            graph,
            edges: HashMap::new(),
            include_external: config.include_external,
            include_type_checking: config.include_type_checking,
        }
    }

    /// Resolves and adds the imports of module `importer`.
    pub fn add(&mut self, importer: &str, is_package: bool, imports: &[Import]) {
        if importer.is_empty() {
            return;
        }
        let Some(&from) = self.graph.index.get(importer) else { return };
        for import in imports {
            if import.type_checking && !self.include_type_checking {
                continue;
            }
            let names = match imported_names(import, importer, is_package) {
                Ok(names) => names,
                Err(written) => {
                    let line = import.line;
                    self.graph.unresolved.push(UnresolvedImport {
                        importer: importer.to_owned(),
                        imported: written,
                        line,
                    });
                    continue;
                }
            };
            for name in names {
                let to = match self.modules.resolve(&name) {
                    Target::Internal(module) => match self.graph.index.get(&module) {
                        Some(&to) => to,
                        None => continue,
                    },
                    Target::External(root, kind) => {
                        if !self.include_external {
                            continue;
                        }
                        self.graph.node(ModuleNode { name: root, path: None, kind, is_package: true })
                    }
                    Target::Unresolved(name) => {
                        let line = import.line;
                        self.graph.unresolved.push(UnresolvedImport {
                            importer: importer.to_owned(),
                            imported: name,
                            line,
                        });
                        continue;
                    }
                };
                if to == from {
                    continue;
                }
                let entry = self.edges.entry((from, to)).or_insert((Vec::new(), true, true));
                if !entry.0.contains(&import.line) {
                    entry.0.push(import.line);
                }
                entry.1 &= import.type_checking;
                entry.2 &= import.in_function;
            }
        }
    }

    /// The graph.
    pub fn build(self) -> ImportGraph {
        let mut graph = self.graph;
        // Edges in the order of their names, whatever the order files came in.
        let mut edges: Vec<_> = self.edges.into_iter().collect();
        edges.sort_unstable_by(|((a, b), _), ((c, d), _)| {
            (&graph.graph[*a].name, &graph.graph[*b].name).cmp(&(&graph.graph[*c].name, &graph.graph[*d].name))
        });
        graph.graph.reserve_exact_edges(edges.len());
        for ((from, to), (mut lines, type_checking, function_level)) in edges {
            lines.sort_unstable();
            lines.shrink_to_fit();
            graph.graph.add_edge(from, to, ImportEdge { lines, type_checking, function_level });
        }
        graph.unresolved.sort_by(|a, b| (&a.importer, a.line, &a.imported).cmp(&(&b.importer, b.line, &b.imported)));
        graph
    }
}

/// What the import graph needs of one file: where it is and its imports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileImports {
    /// Dotted module name.
    pub module: String,
    /// Path relative to the root.
    pub path: String,
    /// A package's `__init__`.
    pub is_package: bool,
    /// The file's import records.
    pub imports: Vec<Import>,
}

impl FileImports {
    /// The imports of a parsed file.
    pub fn of(record: &FileRecord) -> Self {
        Self {
            module: record.module.to_string(),
            path: record.path.clone(),
            is_package: record.is_package,
            imports: record.imports.clone(),
        }
    }
}

/// The import graph of a codebase.
#[derive(Clone, Debug, Default)]
pub struct ImportGraph {
    pub(crate) graph: DiGraph<ModuleNode, ImportEdge>,
    pub(crate) index: HashMap<String, NodeIndex>,
    unresolved: Vec<UnresolvedImport>,
}

/// The modules of a codebase and what names resolution can reach.
#[derive(Debug)]
struct ModuleSet {
    /// Internal module name -> (path, is_package); namespace packages have no path.
    modules: BTreeMap<String, (Option<String>, bool)>,
    /// Top-level names of internal modules.
    roots: HashSet<String>,
}

impl ModuleSet {
    fn new<'a>(files: impl Iterator<Item = (&'a str, &'a str, bool)>) -> Self {
        let mut modules: BTreeMap<String, (Option<String>, bool)> = BTreeMap::new();
        for (module, path, is_package) in files {
            if !module.is_empty() {
                modules.insert(module.to_owned(), (Some(path.to_owned()), is_package));
            }
        }
        // Folders above modules without an `__init__.py`: namespace packages.
        let names: Vec<String> = modules.keys().cloned().collect();
        for name in names {
            let mut parent = name.as_str();
            while let Some((up, _)) = parent.rsplit_once('.') {
                modules.entry(up.to_owned()).or_insert((None, true));
                parent = up;
            }
        }
        let roots = modules.keys().map(|m| m.split('.').next().unwrap_or(m).to_owned()).collect();
        Self { modules, roots }
    }

    fn contains(&self, name: &str) -> bool {
        self.modules.contains_key(name)
    }

    /// grimp's rule: the name itself if it is a module, else its parent if
    /// that is one.
    fn internal(&self, name: &str) -> Option<String> {
        if self.contains(name) {
            return Some(name.to_owned());
        }
        let (parent, _) = name.rsplit_once('.')?;
        self.contains(parent).then(|| parent.to_owned())
    }
}

/// Where an import lands.
enum Target {
    Internal(String),
    External(String, ModuleKind),
    Unresolved(String),
}

/// The absolute names an import record asks for (`from a import b, c` asks
/// for `a.b` and `a.c`; a star import for `a.*`), or `Err` with the written
/// form when a relative import climbs above the top-level package.
fn imported_names(import: &Import, importer: &str, is_package: bool) -> Result<Vec<String>, String> {
    let base = import.absolute_module(importer, is_package).ok_or_else(|| import.written_module())?;
    Ok(match import.kind {
        ImportKind::Import => vec![base],
        _ => import.names.iter().map(|n| format!("{base}.{}", n.name)).collect(),
    })
}

fn stdlib_names() -> &'static HashSet<&'static str> {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| include_str!("stdlib.txt").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect())
}

/// `true` for a top-level module of the standard library (bundled list).
pub fn is_stdlib(top_level: &str) -> bool {
    stdlib_names().contains(top_level)
}

impl ModuleSet {
    fn resolve(&self, name: &str) -> Target {
        if let Some(module) = self.internal(name) {
            return Target::Internal(module);
        }
        let root = name.split('.').next().unwrap_or(name);
        if self.roots.contains(root) {
            return Target::Unresolved(name.to_owned());
        }
        let kind = if is_stdlib(root) { ModuleKind::Stdlib } else { ModuleKind::External };
        Target::External(root.to_owned(), kind)
    }
}

impl ImportGraph {
    /// Builds the import graph of the codebase at `root` with the import-only
    /// fast path, reusing the per-file cache when configured.
    ///
    /// # Errors
    /// Discovery errors (an unreadable root, an invalid glob).
    pub fn build(root: impl AsRef<Path>, config: &GraphConfig) -> Result<(Self, BuildStats), Error> {
        let start = Instant::now();
        let discovery = discover(root.as_ref(), &config.discovery)?;
        let mut cache = match &config.cache_dir {
            Some(dir) => ImportCache::load(dir, root.as_ref()),
            None => ImportCache::disabled(),
        };
        let threads = config.discovery.thread_count();
        let (imports, cached, unreadable) = cache.imports_of(&discovery.files, threads);
        if let Some(dir) = &config.cache_dir {
            cache.save(dir)?;
        }
        let files: Vec<(&SourceFile, &[Import])> =
            discovery.files.iter().zip(&imports).map(|(f, i)| (f, i.as_slice())).collect();
        let graph = Self::assemble(
            files.iter().map(|(f, i)| (f.module.as_str(), f.rel_path.as_str(), f.is_package, *i)),
            config,
        );
        let stats = BuildStats {
            files: discovery.files.len(),
            cached,
            scanned: discovery.files.len() - cached,
            seconds: start.elapsed().as_secs_f64(),
            problems: discovery.problems.iter().cloned().chain(unreadable).collect(),
        };
        Ok((graph, stats))
    }

    /// Builds the import graph from records of the full parser.
    pub fn from_records<'a, I>(records: I, config: &GraphConfig) -> Self
    where
        I: IntoIterator<Item = &'a FileRecord>,
        I::IntoIter: Clone,
    {
        Self::assemble(
            records.into_iter().map(|r| (r.module.as_str(), r.path.as_str(), r.is_package, r.imports.as_slice())),
            config,
        )
    }

    /// Builds the import graph from each file's imports (kept without the
    /// rest of their records, see [`FileImports::of`]).
    pub fn from_files(files: &[FileImports], config: &GraphConfig) -> Self {
        Self::assemble(
            files.iter().map(|f| (f.module.as_str(), f.path.as_str(), f.is_package, f.imports.as_slice())),
            config,
        )
    }

    fn assemble<'a>(
        files: impl Iterator<Item = (&'a str, &'a str, bool, &'a [Import])> + Clone,
        config: &GraphConfig,
    ) -> Self {
        let mut builder = ImportGraphBuilder::new(files.clone().map(|(m, p, pkg, _)| (m, p, pkg)), config);
        for (importer, _, is_package, imports) in files {
            builder.add(importer, is_package, imports);
        }
        builder.build()
    }

    /// Rebuilds a graph from its parts as stored: the codebase's modules
    /// `(name, path, is_package)`, then its edges `(importer, imported,
    /// edge)`. An endpoint that is not one of `modules` is a module of the
    /// codebase when its top-level package is (a namespace package), else
    /// the standard library's or an external package.
    pub fn from_parts<'a>(
        modules: impl IntoIterator<Item = (&'a str, Option<&'a str>, bool)>,
        edges: impl IntoIterator<Item = (&'a str, &'a str, ImportEdge)>,
    ) -> Self {
        let mut graph = Self::default();
        let mut roots = HashSet::new();
        for (name, path, is_package) in modules {
            roots.insert(name.split('.').next().unwrap_or(name).to_owned());
            let node = ModuleNode {
                name: name.to_owned(),
                path: path.map(str::to_owned),
                kind: ModuleKind::Internal,
                is_package,
            };
            graph.node(node);
        }
        let kind_of = |name: &str| {
            let top = name.split('.').next().unwrap_or(name);
            if roots.contains(top) {
                ModuleKind::Internal
            } else if is_stdlib(top) {
                ModuleKind::Stdlib
            } else {
                ModuleKind::External
            }
        };
        for (importer, imported, edge) in edges {
            let [from, to] = [importer, imported].map(|name| {
                let node = ModuleNode { name: name.to_owned(), path: None, kind: kind_of(name), is_package: true };
                graph.node(node)
            });
            graph.graph.update_edge(from, to, edge);
        }
        graph
    }

    fn node(&mut self, node: ModuleNode) -> NodeIndex {
        if let Some(&index) = self.index.get(&node.name) {
            return index;
        }
        let name = node.name.clone();
        let index = self.graph.add_node(node);
        self.index.insert(name, index);
        index
    }

    /// Every node, internal modules first (by name), then external packages.
    pub fn modules(&self) -> impl Iterator<Item = &ModuleNode> {
        self.graph.node_weights()
    }

    /// The node called `name`.
    pub fn module(&self, name: &str) -> Option<&ModuleNode> {
        self.index.get(name).and_then(|&i| self.graph.node_weight(i))
    }

    /// Every edge as `(importer, imported, edge)`.
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str, &ImportEdge)> {
        self.graph.edge_indices().filter_map(|e| {
            let (a, b) = self.graph.edge_endpoints(e)?;
            Some((self.graph[a].name.as_str(), self.graph[b].name.as_str(), self.graph.edge_weight(e)?))
        })
    }

    /// The edge from `importer` to `imported`, if there is one.
    pub fn edge(&self, importer: &str, imported: &str) -> Option<&ImportEdge> {
        let (a, b) = (self.index.get(importer)?, self.index.get(imported)?);
        self.graph.find_edge(*a, *b).and_then(|e| self.graph.edge_weight(e))
    }

    /// Imports that look internal but name no module, sorted.
    pub fn unresolved(&self) -> &[UnresolvedImport] {
        &self.unresolved
    }

    /// Number of nodes.
    pub fn module_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The underlying petgraph graph, for algorithms this crate does not offer.
    pub fn petgraph(&self) -> &DiGraph<ModuleNode, ImportEdge> {
        &self.graph
    }
}
