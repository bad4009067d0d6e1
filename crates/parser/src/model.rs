//! The plain, serde-serialisable records the parser extracts.
//!
//! These types are the contract the other pyatlas crates build on. Lines are
//! 1-based (as in CPython's `ast`), columns are 1-based character columns, and
//! byte offsets index the decoded UTF-8 text of the file (see
//! [`ParsedFile::text`](crate::ParsedFile::text)).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A dotted Python module name, such as `pkg.sub.mod`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ModuleName(String);

impl ModuleName {
    /// Wraps a dotted name. No validation is done: a file under a folder that
    /// is not an identifier (`my-scripts/x.py`) still gets a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The dotted name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The enclosing package's name (`a.b` for `a.b.c`), if there is one.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('.').map(|(parent, _)| parent)
    }

    /// The dotted components (`["a", "b", "c"]` for `a.b.c`).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('.').filter(|c| !c.is_empty())
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ModuleName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A unit's qualified name, exactly as Python's `__qualname__` (PEP 3155):
/// `Outer.method`, `func.<locals>.inner`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QualName(String);

impl QualName {
    /// Wraps a qualified name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The qualified name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QualName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for QualName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A half-open byte range `start..end` into the decoded text of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl From<std::ops::Range<usize>> for ByteRange {
    fn from(range: std::ops::Range<usize>) -> Self {
        Self { start: range.start, end: range.end }
    }
}

impl From<ByteRange> for std::ops::Range<usize> {
    fn from(range: ByteRange) -> Self {
        range.start..range.end
    }
}

/// Everything extracted from one Python file.
///
/// Parsing never fails: a file that cannot be read, decoded or fully parsed
/// still yields a record, carrying what could be extracted plus
/// [`diagnostics`](Self::diagnostics).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileRecord {
    /// Path relative to the analysed root, `/`-separated.
    pub path: String,
    /// Dotted module name (`pkg.mod`; `pkg` for `pkg/__init__.py`).
    pub module: ModuleName,
    /// `true` for a package's `__init__.py` (or `__init__.pyi`).
    pub is_package: bool,
    /// Number of lines, as Python counts them (a last line without a newline counts).
    pub lines: u32,
    /// Size of the file on disk, in bytes.
    pub bytes: u64,
    /// The source encoding that was used to decode the file (`utf-8`, `iso-8859-1`, ...).
    pub encoding: String,
    /// Syntax errors, decoding problems and skipped content, with their location.
    pub diagnostics: Vec<Diagnostic>,
    /// Classes, functions and methods, in source order (a parent before its children).
    pub units: Vec<Unit>,
    /// Import statements: one record per `import` alias, one per `from` statement.
    pub imports: Vec<Import>,
    /// Call expressions, in source order.
    pub calls: Vec<Call>,
    /// Comments, in source order.
    pub comments: Vec<Comment>,
    /// Names bound by imports (local name -> what it was imported as).
    pub bindings: Vec<Binding>,
    /// The module docstring's value.
    pub docstring: Option<String>,
    /// A literal `__all__` (list or tuple of strings, with literal `+=` extensions).
    pub dunder_all: Option<Vec<String>>,
}

impl FileRecord {
    /// `true` when some diagnostic has [`Severity::Error`].
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }

    /// The unit at `index` (as stored in [`Unit::parent`] and [`Call::unit`]).
    pub fn unit(&self, index: u32) -> Option<&Unit> {
        self.units.get(index as usize)
    }
}

/// What a unit is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A `class` statement.
    Class,
    /// A `def` outside a class body (at module level or nested in a function).
    Function,
    /// A `def` directly in a class body.
    Method,
}

impl UnitKind {
    /// The name used in JSON: `class`, `function` or `method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Class => "class",
            Self::Function => "function",
            Self::Method => "method",
        }
    }
}

impl std::fmt::Display for UnitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit kind that is none of `class`, `function` or `method`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown unit kind {0:?} (expected class, function or method)")]
pub struct UnknownUnitKind(pub String);

impl std::str::FromStr for UnitKind {
    type Err = UnknownUnitKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Class, Self::Function, Self::Method]
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| UnknownUnitKind(text.to_owned()))
    }
}

/// A class, function or method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Unit {
    /// Class, function or method.
    pub kind: UnitKind,
    /// `async def`.
    pub is_async: bool,
    /// The name after `def`/`class`.
    pub name: String,
    /// `__qualname__` (PEP 3155).
    pub qualname: QualName,
    /// Line of the `def`/`class` keyword (`async` for `async def`), as `ast` `lineno`.
    pub line: u32,
    /// First line of the unit: its first decorator, or [`line`](Self::line).
    pub start_line: u32,
    /// Last line of the unit's last statement, as `ast` `end_lineno` (trailing comments excluded).
    pub end_line: u32,
    /// Line of the `:` that ends the `def`/`class` header.
    pub header_end_line: u32,
    /// Bytes from the first decorator to the end of the last statement.
    pub bytes: ByteRange,
    /// Decorator expressions as written, without the `@`.
    pub decorators: Vec<String>,
    /// The docstring's value (escape sequences processed, not dedented).
    pub docstring: Option<String>,
    /// Parameters of a function or method (empty for a class).
    pub parameters: Vec<Parameter>,
    /// Base class expressions of a class, as written.
    pub bases: Vec<String>,
    /// Keyword arguments of a class statement (`metaclass=ABCMeta`), as written.
    pub keywords: Vec<Keyword>,
    /// Index in [`FileRecord::units`] of the enclosing class or function.
    pub parent: Option<u32>,
}

/// How a parameter is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterKind {
    /// Before a `/`.
    PositionalOnly,
    /// Positional or keyword.
    Regular,
    /// `*args`.
    VarPositional,
    /// After `*` or `*args`.
    KeywordOnly,
    /// `**kwargs`.
    VarKeyword,
}

/// A function parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Parameter {
    /// The parameter's name (without `*`/`**`).
    pub name: String,
    /// How it is passed.
    pub kind: ParameterKind,
    /// Its annotation, as written.
    pub annotation: Option<String>,
    /// Its default value, as written.
    pub default: Option<String>,
}

/// A keyword argument of a `class` statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Keyword {
    /// The keyword (`metaclass`); `None` for `**kwargs`.
    pub name: Option<String>,
    /// The value, as written.
    pub value: String,
}

/// `import` or `from ... import`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// `import a.b [as c]`: one record per alias.
    Import,
    /// `from [.]a import b [as c], ...`: one record per statement.
    From,
}

/// An import.
///
/// `import a.b as c, d` gives two records (`a.b` alias `c`; `d`).
/// `from ..a import b as c, d` gives one record: module `a`, level 2,
/// names `b as c` and `d`. `from . import x` has module `""` and level 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Import {
    /// `import` or `from`.
    pub kind: ImportKind,
    /// The module as written, without leading dots.
    pub module: String,
    /// Number of leading dots of a relative import (0 for absolute).
    pub level: u32,
    /// `c` in `import a.b as c` (always `None` for `from` imports).
    pub alias: Option<String>,
    /// Imported names of a `from` import (`*` for a star import; empty for `import`).
    pub names: Vec<ImportedName>,
    /// Line of the `import`/`from` keyword.
    pub line: u32,
    /// Inside an `if TYPE_CHECKING:` (or `if typing.TYPE_CHECKING:`) block.
    pub type_checking: bool,
    /// Inside a function or method (at any depth).
    pub in_function: bool,
    /// Index in [`FileRecord::units`] of the innermost enclosing unit.
    pub scope: Option<u32>,
}

/// A name imported by a `from` import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImportedName {
    /// The imported name (`*` for a star import).
    pub name: String,
    /// `c` in `from a import b as c`.
    pub alias: Option<String>,
}

/// A call expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Call {
    /// The callee expression as written (`np.array`, `self.save`, `f()`).
    pub callee: String,
    /// Line of the callee's start.
    pub line: u32,
    /// 1-based character column of the callee's start.
    pub column: u32,
    /// Index in [`FileRecord::units`] of the enclosing unit whose body holds
    /// the call; `None` at module level. Decorators, default values and
    /// annotations are evaluated in the enclosing scope, as in Python.
    pub unit: Option<u32>,
}

/// A comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comment {
    /// The comment, including its leading `#`.
    pub text: String,
    /// Its line.
    pub line: u32,
    /// 1-based character column of the `#`.
    pub column: u32,
    /// `true` when only whitespace precedes it on its line.
    pub own_line: bool,
}

/// What an import binds a name to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BindingKind {
    /// `import a.b` binds `a` to module `a`; `import a.b as c` binds `c` to module `a.b`.
    Module,
    /// `from a import b` binds `b` to `a.b` (a module or a member of `a`).
    From,
}

/// A name bound by an import: the local name and what it was imported as.
///
/// Relative imports are resolved against the file's module name, so
/// `from ..x import y` in `pkg.sub.mod` binds `y` to `pkg.x.y`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Binding {
    /// The local name.
    pub name: String,
    /// The absolute dotted name it refers to.
    pub target: String,
    /// Module or `from` binding.
    pub kind: BindingKind,
    /// Line of the import.
    pub line: u32,
    /// Index in [`FileRecord::units`] of the scope the name is bound in; `None` for module scope.
    pub scope: Option<u32>,
    /// Bound only under `if TYPE_CHECKING:`.
    pub type_checking: bool,
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The file is not valid Python, or part of it could not be read.
    Error,
    /// Valid, but suspicious or partly unresolved.
    Warning,
}

/// What kind of problem a diagnostic reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// Invalid Python syntax (a tree-sitter `ERROR` or `MISSING` node, or Python 2 syntax).
    Syntax,
    /// Bytes that are not valid in the file's encoding, or an unknown encoding.
    Decode,
    /// A NUL byte in the source.
    NulByte,
    /// The file is over the configured size limit and was not parsed.
    TooLarge,
    /// The file could not be read.
    Io,
    /// A relative import that goes beyond the top-level package.
    Import,
    /// The parser failed internally on this file (a bug: please report it).
    Internal,
}

/// A problem found in a file, with its location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// 1-based line.
    pub line: u32,
    /// 1-based character column.
    pub column: u32,
    /// A readable message.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: DiagnosticKind,
}

impl Diagnostic {
    /// A diagnostic of `kind` at `line:column` with [`Severity::Error`].
    pub fn error(kind: DiagnosticKind, line: u32, column: u32, message: impl Into<String>) -> Self {
        Self { line, column, message: message.into(), severity: Severity::Error, kind }
    }

    /// A diagnostic of `kind` at `line:column` with [`Severity::Warning`].
    pub fn warning(kind: DiagnosticKind, line: u32, column: u32, message: impl Into<String>) -> Self {
        Self { line, column, message: message.into(), severity: Severity::Warning, kind }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}
