//! A parallel, error-tolerant parser for Python codebases, on tree-sitter.
//!
//! `pyatlas-parser` finds the Python files of a codebase (respecting
//! `.gitignore`, skipping virtual environments), names their modules, parses
//! them on a worker pool and extracts, per file, a plain serde-serialisable
//! [`FileRecord`]: units (classes, functions, methods with their
//! `__qualname__`), imports, calls, comments, import bindings, docstrings,
//! `__all__` and diagnostics. The other pyatlas crates (chunker, classifier,
//! graph, intent tags) build on these records.
//!
//! Parsing never fails on input: a file that cannot be read, decoded or
//! parsed still yields a record with what could be extracted, plus
//! [`Diagnostic`]s with their line and column. Only a root that cannot be
//! read or an invalid glob ([`DiscoverError`]), or a parser that cannot
//! start ([`StartError`]) is an error; [`Error`] is either, for
//! [`parse_codebase`], which walks and parses.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pyatlas_parser::{Config, parse_codebase};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir(root.path().join("shop"))?;
//! std::fs::write(root.path().join("shop/__init__.py"), "")?;
//! std::fs::write(
//!     root.path().join("shop/orders.py"),
//!     "from .db import session\n\nclass Order:\n    def total(self):\n        return sum(self.lines)\n",
//! )?;
//!
//! let codebase = parse_codebase(root.path(), &Config::default())?;
//! let orders = &codebase.files[1];
//! assert_eq!(orders.module.as_str(), "shop.orders");
//! assert_eq!(orders.units[1].qualname.as_str(), "Order.total");
//! assert_eq!(orders.bindings[0].target, "shop.db.session");
//! assert_eq!(codebase.stats.files_with_errors, 0);
//! # Ok(()) }
//! ```
//!
//! # Conventions
//! Lines are 1-based, as `ast` `lineno`; columns are 1-based character
//! columns; byte offsets index the decoded text ([`ParsedFile::text`]).
//! Units, imports, calls and comments are in source order.
//!
//! # Stack safety
//! The extraction walks the tree with a cursor and an explicit stack, so
//! 50,000 nested brackets or thousands of nested blocks parse on a normal
//! thread stack.
//!
//! # Feature flags
//! None: discovery (`ignore`) and the worker pool (`crossbeam-channel`)
//! are always on.

mod config;
mod decode;
mod discover;
mod error;
mod extract;
mod model;
mod names;
mod parse;
mod pool;
mod scan;
mod stamp;
mod strings;

pub use config::{Config, DEFAULT_MAX_FILE_SIZE};
pub use discover::{Discovery, SourceFile, WalkProblem, discover};
pub use error::{DiscoverError, Error, GrammarError, StartError};
pub use model::{
    Binding, BindingKind, ByteRange, Call, Comment, Diagnostic, DiagnosticKind, FileRecord, Import, ImportKind,
    ImportedName, Keyword, ModuleName, Parameter, ParameterKind, QualName, Severity, Unit, UnitKind, UnknownUnitKind,
};
pub use names::{NameRef, NameTable, resolve_relative};
pub use parse::{ParsedFile, SourceParser};
pub use pool::{Codebase, SinkFlow, Stats, parse_codebase, parse_files};
pub use scan::{scan_imports, scan_text};
pub use stamp::FileStamp;
/// The tree-sitter version the trees of [`ParsedFile::tree`] come from.
pub use tree_sitter;
