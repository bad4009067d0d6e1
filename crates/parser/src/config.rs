//! Options for discovery and parsing.

use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Default for [`Config::max_file_size`]: 32 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// How to find and parse a codebase. Every field has a sensible
/// [`Default`]; the chainable setters of the same names change one each.
///
/// ```
/// let config = pyatlas_parser::Config::default().threads(2).include_stubs(true).exclude(["tests"]);
/// assert_eq!(config.threads.map(|n| n.get()), Some(2));
/// ```
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct Config {
    /// Also take `*.pyi` stub files (default: `false`).
    pub include_stubs: bool,
    /// When not empty, only files whose relative path matches one of these globs.
    pub include: Vec<String>,
    /// Files and folders whose relative path matches one of these globs are skipped.
    pub exclude: Vec<String>,
    /// Honour `.gitignore` and `.ignore` files, in the root and above it
    /// (default: `true`). Git's global excludes file and `.git/info/exclude`
    /// are not read.
    pub respect_gitignore: bool,
    /// Skip hidden files and folders (default: `true`).
    pub skip_hidden: bool,
    /// Skip virtual environments, `site-packages`, `__pycache__` and `node_modules` (default: `true`).
    pub skip_virtualenvs: bool,
    /// Follow symbolic links (default: `false`); loops are detected and reported.
    pub follow_symlinks: bool,
    /// Source roots, relative to the root (or absolute). Empty: the root, and
    /// `src/` when it exists and is not a package; a root that is itself a
    /// package is named from the folder that holds it.
    pub source_roots: Vec<PathBuf>,
    /// Files larger than this are not parsed; they get a diagnostic (default: 32 MiB).
    pub max_file_size: u64,
    /// Syntax errors listed per file before the rest are only counted (default: 100).
    pub max_syntax_diagnostics: usize,
    /// Worker threads for [`parse_codebase`](crate::parse_codebase); `None`: all cores.
    #[serde(skip)]
    pub threads: Option<NonZeroUsize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            include_stubs: false,
            include: Vec::new(),
            exclude: Vec::new(),
            respect_gitignore: true,
            skip_hidden: true,
            skip_virtualenvs: true,
            follow_symlinks: false,
            source_roots: Vec::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_syntax_diagnostics: 100,
            threads: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl Config {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`Config::include_stubs`].
    include_stubs: bool,
    /// Sets [`Config::respect_gitignore`].
    respect_gitignore: bool,
    /// Sets [`Config::skip_hidden`].
    skip_hidden: bool,
    /// Sets [`Config::skip_virtualenvs`].
    skip_virtualenvs: bool,
    /// Sets [`Config::follow_symlinks`].
    follow_symlinks: bool,
    /// Sets [`Config::max_file_size`].
    max_file_size: u64,
    /// Sets [`Config::max_syntax_diagnostics`].
    max_syntax_diagnostics: usize,
}

impl Config {
    /// Sets [`Config::include`].
    #[must_use]
    pub fn include<S: Into<String>>(mut self, globs: impl IntoIterator<Item = S>) -> Self {
        self.include = globs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`Config::exclude`].
    #[must_use]
    pub fn exclude<S: Into<String>>(mut self, globs: impl IntoIterator<Item = S>) -> Self {
        self.exclude = globs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`Config::source_roots`].
    #[must_use]
    pub fn source_roots<P: Into<PathBuf>>(mut self, roots: impl IntoIterator<Item = P>) -> Self {
        self.source_roots = roots.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`Config::threads`]; 0 means all cores.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = NonZeroUsize::new(threads);
        self
    }

    /// The number of worker threads to use.
    pub fn thread_count(&self) -> usize {
        self.threads.or_else(|| std::thread::available_parallelism().ok()).map_or(1, NonZeroUsize::get)
    }
}
