//! Finding the Python files of a codebase and naming their modules.

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::DiscoverError;
use crate::model::ModuleName;

/// Folders that never hold the codebase's own code, skipped by default
/// (hidden folders such as `.venv`, `.tox` and `.git` are skipped as hidden).
const SKIPPED_FOLDERS: &[&str] = &["__pycache__", "site-packages", "dist-packages", "node_modules", "__pypackages__"];

/// A Python file found under the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourceFile {
    /// Path to open: the root joined with [`rel_path`](Self::rel_path).
    pub path: PathBuf,
    /// Path relative to the root, `/`-separated (the file name alone when the root is a file).
    pub rel_path: String,
    /// The dotted module name.
    pub module: ModuleName,
    /// `__init__.py` or `__init__.pyi`.
    pub is_package: bool,
    /// Size on disk when it was found.
    pub size: u64,
}

impl SourceFile {
    /// Describes a file that is not on disk (for [`SourceParser::parse_bytes`](crate::SourceParser::parse_bytes)).
    pub fn in_memory(rel_path: impl Into<String>, module: impl Into<String>, is_package: bool) -> Self {
        let rel_path = rel_path.into();
        Self { path: PathBuf::from(&rel_path), rel_path, module: ModuleName::new(module), is_package, size: 0 }
    }
}

/// A problem met while walking the tree, outside any one file (a symlink
/// loop, a folder that cannot be read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WalkProblem {
    /// The path concerned, relative to the root when it is under it.
    pub path: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl WalkProblem {
    /// A problem with `path` (relative to the root when it is under it).
    pub fn new(path: Option<String>, message: impl Into<String>) -> Self {
        Self { path, message: message.into() }
    }
}

impl std::fmt::Display for WalkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The files of a codebase, in a deterministic order (by relative path).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Discovery {
    /// The root that was walked.
    pub root: PathBuf,
    /// The Python files, sorted by [`SourceFile::rel_path`].
    pub files: Vec<SourceFile>,
    /// What could not be walked.
    pub problems: Vec<WalkProblem>,
}

/// Walks `root` (a folder, or a single file) and returns its Python files.
///
/// Respects `.gitignore` and `.ignore` files (git's global excludes file and
/// `.git/info/exclude` are not read: probing for them in every folder
/// doubles the cost of a walk), skips hidden folders, virtual environments
/// (folders holding `pyvenv.cfg` or `conda-meta`) and `__pycache__`,
/// `site-packages`, `dist-packages`, `node_modules` and `__pypackages__`,
/// and applies the include and exclude globs of `config`. Symlinks are not
/// followed unless configured; when they are, a loop is reported as a
/// [`WalkProblem`] and the walk goes on. The walk runs on
/// [`Config::threads`](crate::Config::threads) threads.
///
/// # Errors
/// [`DiscoverError::Root`] when the root cannot be read, [`DiscoverError::Glob`] for an
/// invalid glob.
pub fn discover(root: impl AsRef<Path>, config: &Config) -> Result<Discovery, DiscoverError> {
    let root = root.as_ref();
    let metadata =
        std::fs::metadata(root).map_err(|source| DiscoverError::Root { path: root.to_path_buf(), source })?;
    let include = glob_set(&config.include)?;
    let exclude = glob_set(&config.exclude)?;
    let names = ModuleNamer::new(root, &config.source_roots, metadata.is_dir())
        .map_err(|source| DiscoverError::Root { path: root.to_path_buf(), source })?;

    let mut discovery = Discovery { root: root.to_path_buf(), ..Discovery::default() };
    if metadata.is_file() {
        let rel_path = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(file) = names.source_file(root.to_path_buf(), &rel_path, metadata.len(), config.include_stubs) {
            discovery.files.push(file);
        }
        return Ok(discovery);
    }

    let mut walker = ignore::WalkBuilder::new(root);
    walker
        .standard_filters(false)
        .hidden(config.skip_hidden)
        .git_ignore(config.respect_gitignore)
        .ignore(config.respect_gitignore)
        .parents(config.respect_gitignore)
        .require_git(false)
        .follow_links(config.follow_symlinks)
        .threads(config.thread_count());
    let filter_root = root.to_path_buf();
    let filter_exclude = exclude.clone();
    let skip_venvs = config.skip_virtualenvs;
    walker.filter_entry(move |entry| {
        if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
            return true;
        }
        if skip_venvs && SKIPPED_FOLDERS.contains(&entry.file_name().to_string_lossy().as_ref()) {
            return false;
        }
        !filter_exclude.as_ref().is_some_and(|ex| ex.is_match(relative(&filter_root, entry.path())))
    });

    // Walk in parallel: on a large tree the time goes to system calls.
    let found = std::sync::Mutex::new(Walked::default());
    walker.build_parallel().run(|| {
        let found = &found;
        let names = &names;
        let (include, exclude) = (&include, &exclude);
        Box::new(move |entry| {
            let mut local = Walked::default();
            match entry {
                Err(error) => local.problems.push(walk_problem(root, &error)),
                Ok(entry) => {
                    if entry.file_type().is_some_and(|t| t.is_file()) {
                        local.visit(root, entry, names, include.as_ref(), exclude.as_ref(), config.include_stubs);
                    }
                }
            }
            if let Ok(mut found) = found.lock() {
                found.merge(local);
            }
            ignore::WalkState::Continue
        })
    });
    let walked = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    discovery.problems = walked.problems;
    discovery.problems.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    // Virtual environments are recognised by what they hold: `pyvenv.cfg`,
    // or a `conda-meta` folder. Nothing under them belongs to the codebase.
    let venvs: Vec<String> = if config.skip_virtualenvs { walked.venvs } else { Vec::new() };
    discovery.files =
        walked.files.into_iter().filter(|f| !venvs.iter().any(|v| f.rel_path.starts_with(v.as_str()))).collect();
    discovery.files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(discovery)
}

/// What the walk found, gathered from the walker's threads.
#[derive(Default)]
struct Walked {
    files: Vec<SourceFile>,
    problems: Vec<WalkProblem>,
    /// Relative folders (with a trailing `/`) that are virtual environments.
    venvs: Vec<String>,
}

impl Walked {
    fn visit(
        &mut self,
        root: &Path,
        entry: ignore::DirEntry,
        names: &ModuleNamer,
        include: Option<&GlobSet>,
        exclude: Option<&GlobSet>,
        include_stubs: bool,
    ) {
        let rel_path = relative(root, entry.path());
        let file_name = entry.file_name().to_string_lossy();
        if file_name == "pyvenv.cfg" || rel_path.contains("/conda-meta/") || rel_path.starts_with("conda-meta/") {
            let venv = match rel_path.rsplit_once("conda-meta/") {
                Some((env, _)) => env.to_owned(),
                None => rel_path.strip_suffix("pyvenv.cfg").unwrap_or_default().to_owned(),
            };
            if !venv.is_empty() && !self.venvs.contains(&venv) {
                self.venvs.push(venv);
            }
            return;
        }
        if exclude.is_some_and(|ex| ex.is_match(&rel_path)) || include.is_some_and(|inc| !inc.is_match(&rel_path)) {
            return;
        }
        let size = match entry.metadata() {
            Ok(metadata) => metadata.len(),
            Err(error) => {
                self.problems.push(walk_problem(root, &error));
                return;
            }
        };
        if let Some(file) = names.source_file(entry.into_path(), &rel_path, size, include_stubs) {
            self.files.push(file);
        }
    }

    fn merge(&mut self, other: Walked) {
        self.files.extend(other.files);
        self.problems.extend(other.problems);
        for venv in other.venvs {
            if !self.venvs.contains(&venv) {
                self.venvs.push(venv);
            }
        }
    }
}

fn glob_set(globs: &[String]) -> Result<Option<GlobSet>, DiscoverError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        // `tests` also means everything below `tests`.
        for pattern in [glob.clone(), format!("{}/**", glob.trim_end_matches('/'))] {
            let glob = Glob::new(&pattern).map_err(|source| DiscoverError::Glob { glob: glob.clone(), source })?;
            builder.add(glob);
        }
    }
    builder.build().map(Some).map_err(|source| DiscoverError::Glob { glob: globs.join(", "), source })
}

fn walk_problem(root: &Path, error: &ignore::Error) -> WalkProblem {
    let path = match error {
        ignore::Error::WithPath { path, .. } => Some(relative(root, path)),
        ignore::Error::WithDepth { err, .. } => return walk_problem(root, err),
        ignore::Error::Loop { child, .. } => Some(relative(root, child)),
        _ => None,
    };
    let message = match error {
        ignore::Error::Loop { ancestor, child } => {
            format!("symlink loop: {} points back to {}; not followed", relative(root, child), relative(root, ancestor))
        }
        other => other.to_string(),
    };
    WalkProblem { path, message }
}

/// `path` relative to `root`, `/`-separated.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for component in rel.components() {
        if let Component::Normal(part) = component {
            if !out.is_empty() {
                out.push('/');
            }
            out.push_str(&part.to_string_lossy());
        }
    }
    out
}

/// Maps relative paths to module names, from the source roots.
#[derive(Debug)]
struct ModuleNamer {
    /// `(source root relative to the walk root, "/"-separated, with a trailing "/" unless empty; package prefix)`,
    /// longest first.
    roots: Vec<(String, String)>,
}

impl ModuleNamer {
    fn new(root: &Path, explicit: &[PathBuf], root_is_dir: bool) -> std::io::Result<Self> {
        let mut roots = Vec::new();
        if !explicit.is_empty() {
            for source_root in explicit {
                let rel = if source_root.is_absolute() {
                    relative(root, source_root)
                } else {
                    relative(Path::new(""), source_root)
                };
                roots.push((with_slash(rel), String::new()));
            }
        } else {
            let dir =
                if root_is_dir { root.to_path_buf() } else { root.parent().map(Path::to_path_buf).unwrap_or_default() };
            roots.push((String::new(), package_prefix(&dir)?));
            let src = root.join("src");
            if root_is_dir && src.is_dir() && !src.join("__init__.py").is_file() {
                roots.push(("src/".to_owned(), String::new()));
            }
        }
        roots.sort_by_key(|(rel, _)| std::cmp::Reverse(rel.len()));
        Ok(Self { roots })
    }

    fn source_file(&self, path: PathBuf, rel_path: &str, size: u64, include_stubs: bool) -> Option<SourceFile> {
        let stem = rel_path.strip_suffix(".py").or_else(|| rel_path.strip_suffix(".pyi").filter(|_| include_stubs))?;
        let (prefix, within) = self
            .roots
            .iter()
            .find_map(|(root, prefix)| stem.strip_prefix(root.as_str()).map(|within| (prefix.as_str(), within)))
            .unwrap_or(("", stem));
        let (within, is_package) = match within.strip_suffix("__init__") {
            Some(dir) if dir.is_empty() || dir.ends_with('/') => (dir.trim_end_matches('/'), true),
            _ => (within, false),
        };
        let mut module = prefix.to_owned();
        for part in within.split('/').filter(|p| !p.is_empty()) {
            if !module.is_empty() {
                module.push('.');
            }
            module.push_str(part);
        }
        Some(SourceFile { path, rel_path: rel_path.to_owned(), module: ModuleName::new(module), is_package, size })
    }
}

fn with_slash(rel: String) -> String {
    if rel.is_empty() { rel } else { format!("{rel}/") }
}

/// When `dir` is itself a package (holds `__init__.py`), the dotted name of
/// that package: its name and those of the packages around it.
fn package_prefix(dir: &Path) -> std::io::Result<String> {
    if !dir.join("__init__.py").is_file() {
        return Ok(String::new());
    }
    let mut current = std::fs::canonicalize(dir)?;
    let mut parts = Vec::new();
    while current.join("__init__.py").is_file() {
        match current.file_name() {
            Some(name) => parts.push(name.to_string_lossy().into_owned()),
            None => break,
        }
        if !current.pop() {
            break;
        }
    }
    parts.reverse();
    Ok(parts.join("."))
}
