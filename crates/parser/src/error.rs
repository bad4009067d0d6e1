//! The errors that stop a whole run. Problems in one file are
//! [`Diagnostic`](crate::Diagnostic)s instead.

use std::path::PathBuf;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// The tree-sitter runtime cannot load the Python grammar (a version mismatch).
    #[error("tree-sitter cannot load the Python grammar")]
    Language(#[from] tree_sitter::LanguageError),
    /// A worker thread could not be started.
    #[error("cannot start a parser worker thread")]
    Thread(#[source] std::io::Error),
}
