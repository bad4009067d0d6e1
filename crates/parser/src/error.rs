//! The errors that stop a whole run, one type per operation: what
//! [`discover`](crate::discover) can meet, what starting the parser can
//! meet, and [`Error`] for [`parse_codebase`](crate::parse_codebase), which
//! does both. Problems in one file are [`Diagnostic`](crate::Diagnostic)s
//! instead.

use std::path::PathBuf;

/// Why [`discover`](crate::discover) could not walk the tree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// The root folder or file cannot be read.
    #[error("cannot read the root {}", path.display())]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An include or exclude glob is not valid.
    #[error("invalid glob `{glob}`")]
    Glob {
        /// The glob as given.
        glob: String,
        /// The cause.
        #[source]
        source: globset::Error,
    },
}

/// The tree-sitter runtime cannot load the Python grammar (a version
/// mismatch): what [`SourceParser::new`](crate::SourceParser::new) can meet.
#[derive(Debug, thiserror::Error)]
#[error("tree-sitter cannot load the Python grammar")]
pub struct GrammarError(#[from] tree_sitter::LanguageError);

/// Why [`parse_files`](crate::parse_files) could not start its workers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The Python grammar cannot be loaded.
    #[error(transparent)]
    Grammar(#[from] GrammarError),
    /// A worker thread could not be started.
    #[error("cannot start a parser worker thread")]
    Thread(#[source] std::io::Error),
}

/// Why [`parse_codebase`](crate::parse_codebase) could not run: the tree
/// could not be walked, or the parser could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tree could not be walked.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// The parser could not start.
    #[error(transparent)]
    Start(#[from] StartError),
}
