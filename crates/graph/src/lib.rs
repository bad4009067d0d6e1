//! The structure of a Python codebase, on petgraph: the module import graph,
//! the call graph, the class hierarchy, and the architecture queries of
//! grimp, import-linter and tach.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pyatlas_graph::{Contract, ContractKind, GraphConfig, ImportGraph, Layer, Scope, Walk};
//!
//! let root = tempfile::tempdir()?;
//! let write = |path: &str, text: &str| std::fs::write(root.path().join(path), text);
//! std::fs::create_dir_all(root.path().join("shop"))?;
//! write("shop/__init__.py", "")?;
//! write("shop/api.py", "from shop import services\n")?;
//! write("shop/services.py", "from . import domain\nimport requests\n")?;
//! write("shop/domain.py", "from shop.api import router\n")?; // a lower layer reaching up
//!
//! let (graph, _) = ImportGraph::build(root.path(), &GraphConfig::default())?;
//! assert!(graph.edge("shop.services", "shop.domain").is_some());
//! assert_eq!(graph.module("requests").map(|m| m.kind), Some(pyatlas_graph::ModuleKind::External));
//! assert_eq!(graph.cycles(Walk::default())[0].example, ["shop.api", "shop.services", "shop.domain", "shop.api"]);
//!
//! let layers = Contract::new("layers", ContractKind::Layers {
//!     layers: vec![Layer::new(["api"]), Layer::new(["services"]), Layer::new(["domain"])],
//!     containers: vec!["shop".parse()?],
//!     exhaustive: false,
//!     exhaustive_ignores: vec![],
//! });
//! let report = graph.check(&layers, &Scope::new(["shop"]))?;
//! assert!(!report.kept);
//! let (importer, imported) = (&report.violations[0].importer, &report.violations[0].imported);
//! assert_eq!((importer.as_str(), imported.as_str()), ("shop.domain", "shop.api"));
//! assert_eq!(report.violations[0].chains[0][0].lines, [1]); // shop.domain imports shop.api at line 1
//! # Ok(()) }
//! ```
//!
//! # Resolution, as grimp does it
//! - `import a.b.c` imports `a.b.c`; `from a.b import c` imports `a.b.c` when
//!   that is a module, else `a.b`; `from a import *` imports `a`.
//! - Relative imports resolve against the importing module's package (a
//!   package's `__init__` is the package itself).
//! - A name that is not a module of the codebase, and whose parent is not
//!   either, is external: it becomes a node for its top-level package,
//!   flagged `stdlib` when it is in the standard library (a bundled list of
//!   CPython 3.11's `sys.stdlib_module_names`), else `external`.
//! - Namespace packages (folders without `__init__.py`) are modules, as in grimp.
//!
//! # Deliberate differences from grimp
//! - An import whose top-level package is the codebase's own but which names
//!   no module of it, nor its parent (`import shop.gone.away`), is reported by
//!   [`ImportGraph::unresolved`] instead of being treated as an external
//!   package; so is a relative import that climbs above the top-level package.
//! - Imports in the `else` branch of `if TYPE_CHECKING:` are not flagged as
//!   type-checking (grimp flags both branches).
//! - An external name is squashed to its top-level package even when it
//!   shares a namespace package with the codebase (grimp keeps the deepest
//!   non-clashing portion).
//! - An import of a module by itself adds no edge.
//! - Edges carry every line, a `TYPE_CHECKING`-only flag and a
//!   function-level-only flag.

//! # Contracts, as import-linter checks them
//! [`Contract`]s of every built-in import-linter type (layers, forbidden,
//! independence, protected, acyclic siblings), with ignored imports, are
//! checked by [`ImportGraph::check`] within a [`Scope`] (the root packages)
//! the way import-linter 2.17 checks them on grimp: the same verdicts and
//! the same violating pairs (tested against `lint-imports` on sqlfluff,
//! import-linter and Django). [`importlinter::Config`] reads a project's
//! `.importlinter`, `setup.cfg` or `pyproject.toml` as lint-imports does;
//! [`tach::Config`] reads `tach.toml` and checks it as `tach check` does;
//! [`ContractsReport`] renders lint-imports' text, a JSON contract and SARIF.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pyatlas_graph::{ContractsReport, ImportGraph, importlinter::Config};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("src/shop"))?;
//! std::fs::write(root.path().join("src/shop/__init__.py"), "")?;
//! std::fs::write(root.path().join("src/shop/api.py"), "")?;
//! std::fs::write(root.path().join("src/shop/db.py"), "from shop import api\n")?;
//! std::fs::write(
//!     root.path().join("pyproject.toml"),
//!     r#"
//! [tool.importlinter]
//! root_package = "shop"
//!
//! [[tool.importlinter.contracts]]
//! name = "The database does not know the API"
//! type = "forbidden"
//! source_modules = ["shop.db"]
//! forbidden_modules = ["shop.api"]
//! "#,
//! )?;
//! let config = Config::discover(root.path())?;
//! let (graph, _) = ImportGraph::build(root.path(), &config.graph_config(root.path())?)?;
//! let report = ContractsReport::check(&graph, &config.scope(), &config.contracts)?;
//! assert!(!report.kept());
//! assert!(report.to_text().contains("shop.db is not allowed to import shop.api:"));
//! # Ok(()) }
//! ```

mod cache;
mod calls;
mod contracts;
mod export;
mod imports;
mod query;

use std::path::PathBuf;

pub use calls::{CallGraph, CallStats, ClassHierarchy, FileCalls, InternalRoots, UnitId, UnitRef};
pub use contracts::importlinter::Config as ImportLinterConfig;
pub use contracts::tach::Config as TachConfig;
pub use contracts::{
    Alerting, CheckedContracts, Contract, ContractError, ContractKind, ContractReport, ContractType, ContractsReport,
    ExpressionError, ImportExpression, Layer, LayerModule, ModuleExpression, ProjectContracts, ProjectContractsError,
    Scope, Violation, importlinter, tach,
};
pub use imports::{
    BuildStats, FileImports, GraphConfig, ImportEdge, ImportGraph, ImportGraphBuilder, ModuleKind, ModuleNode,
    UnresolvedImport, is_stdlib,
};
pub use query::{Cycle, Hop, Walk};

/// What an edge of a codebase's graphs joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EdgeKind {
    /// A module imports a module ([`ImportGraph`]).
    Import,
    /// A unit calls a unit ([`CallGraph`]).
    Call,
    /// A class inherits from a class ([`ClassHierarchy`]).
    Inherits,
}

impl EdgeKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Import, Self::Call, Self::Inherits];

    /// The name used in JSON and in storage: `import`, `call`, `inherits`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Call => "call",
            Self::Inherits => "inherits",
        }
    }
}

impl std::fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EdgeKind {
    type Err = UnknownEdgeKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| UnknownEdgeKind(text.to_owned()))
    }
}

/// Text that names no [`EdgeKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown edge kind {0:?} (expected import, call or inherits)")]
pub struct UnknownEdgeKind(pub String);

/// What stops [`ImportGraph::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The codebase could not be walked.
    #[error("cannot discover the codebase")]
    Discover(#[from] pyatlas_parser::DiscoverError),
    /// The import cache could not be written.
    #[error("cannot write the import cache {}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
