//! Names as Python resolves them: relative imports against the importing
//! module, and a written name through the scopes visible from where it is
//! written. The classifier, the graph and the intent rules all resolve
//! through these, so that they agree.

use std::collections::HashMap;

use crate::model::{Binding, FileRecord, Import, ImportKind, UnitKind};

/// The absolute module that `from <level dots><module> import ...` reads
/// from, in `importer` (`is_package`: the importer is a package's
/// `__init__`, so its own package is itself).
///
/// `None` when a relative import climbs above the top-level package, as
/// Python's "attempted relative import beyond top-level package" (or "with
/// no known parent package"). An absolute import (`level` 0) is `module`.
///
/// ```
/// use pyatlas_parser::resolve_relative;
///
/// assert_eq!(resolve_relative("shop.orders", false, "db", 1).as_deref(), Some("shop.db"));
/// assert_eq!(resolve_relative("shop", true, "", 1).as_deref(), Some("shop"));
/// assert_eq!(resolve_relative("shop.api.v1", false, "core", 2).as_deref(), Some("shop.core"));
/// assert_eq!(resolve_relative("shop.orders", false, "x", 3), None);
/// ```
pub fn resolve_relative(importer: &str, is_package: bool, module: &str, level: u32) -> Option<String> {
    if level == 0 {
        return Some(module.to_owned());
    }
    let mut base = if is_package { Some(importer) } else { importer.rsplit_once('.').map(|(parent, _)| parent) };
    for _ in 1..level {
        base = base.and_then(|b| b.rsplit_once('.').map(|(parent, _)| parent));
    }
    let base = base.filter(|b| !b.is_empty())?;
    Some(if module.is_empty() { base.to_owned() } else { format!("{base}.{module}") })
}

impl Import {
    /// The absolute module this import reads from: `a.b` for `import a.b`;
    /// for `from`, the module after resolving its leading dots against the
    /// importer ([`resolve_relative`]). `None` when a relative import climbs
    /// above the top-level package.
    pub fn absolute_module(&self, importer: &str, importer_is_package: bool) -> Option<String> {
        match self.kind {
            ImportKind::Import => Some(self.module.clone()),
            ImportKind::From => resolve_relative(importer, importer_is_package, &self.module, self.level),
        }
    }

    /// The module as written, with its leading dots (`..a`, `.`, `os.path`).
    pub fn written_module(&self) -> String {
        format!("{}{}", ".".repeat(self.level as usize), self.module)
    }
}

impl FileRecord {
    /// The scopes whose names code in `scope` sees, innermost first, as
    /// Python resolves a free name: the scope itself, then the enclosing
    /// *function* scopes (a class body is not an enclosing scope of the
    /// functions defined in it), then the module (`None`, always last).
    pub fn visible_scopes(&self, scope: Option<u32>) -> impl Iterator<Item = Option<u32>> + '_ {
        let mut next = Some(scope);
        std::iter::from_fn(move || {
            let current = next?;
            next = match current {
                None => None,
                Some(u) => {
                    let mut parent = self.unit(u).and_then(|x| x.parent);
                    while let Some(p) = parent.and_then(|p| self.unit(p)).filter(|x| x.kind == UnitKind::Class) {
                        parent = p.parent;
                    }
                    Some(parent)
                }
            };
            Some(current)
        })
    }

    /// An index of the names the file binds, for resolving many names
    /// (see [`NameTable::lookup`]).
    pub fn names(&self) -> NameTable<'_> {
        NameTable::new(self)
    }
}

/// What a name denotes in a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameRef<'a> {
    /// A class or function the file defines (its index in [`FileRecord::units`]).
    Unit(u32),
    /// A name bound by an import.
    Import(&'a Binding),
}

/// The names a file binds, by scope: the units it defines and its import
/// bindings. Built once per file; each lookup costs a hash probe per
/// visible scope.
#[derive(Debug)]
pub struct NameTable<'a> {
    record: &'a FileRecord,
    /// Name -> what binds it, per scope (definitions before imports, each in source order).
    names: HashMap<&'a str, Vec<(Option<u32>, NameRef<'a>)>>,
}

impl<'a> NameTable<'a> {
    fn new(record: &'a FileRecord) -> Self {
        let mut names: HashMap<&str, Vec<(Option<u32>, NameRef<'a>)>> = HashMap::new();
        for (index, unit) in record.units.iter().enumerate() {
            names.entry(unit.name.as_str()).or_default().push((unit.parent, NameRef::Unit(index as u32)));
        }
        for binding in &record.bindings {
            names.entry(binding.name.as_str()).or_default().push((binding.scope, NameRef::Import(binding)));
        }
        Self { record, names }
    }

    /// The record the table indexes.
    pub fn record(&self) -> &'a FileRecord {
        self.record
    }

    /// What the bare name `name` denotes in code of `scope`, as Python
    /// resolves it ([`FileRecord::visible_scopes`]): the innermost scope
    /// that binds it wins; within a scope, a definition wins over an import.
    /// `None` for names the file does not bind (builtins, globals set
    /// dynamically).
    pub fn lookup(&self, name: &str, scope: Option<u32>) -> Option<NameRef<'a>> {
        let candidates = self.names.get(name)?;
        self.record
            .visible_scopes(scope)
            .find_map(|s| candidates.iter().find(|(bound_in, _)| *bound_in == s).map(|(_, what)| *what))
    }

    /// The absolute dotted name a written name (`np.array`, `helper`,
    /// `Order.total`) refers to from `scope`, through the file's imports
    /// and definitions: `numpy.array`, `<module>.helper`,
    /// `<module>.Order.total`. `None` when its first part is not bound in
    /// the file.
    pub fn absolute(&self, written: &str, scope: Option<u32>) -> Option<String> {
        let (head, rest) = match written.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (written, None),
        };
        let base = match self.lookup(head, scope)? {
            NameRef::Import(binding) => binding.target.clone(),
            NameRef::Unit(index) => {
                let unit = self.record.unit(index)?;
                let module = self.record.module.as_str();
                if module.is_empty() { unit.qualname.to_string() } else { format!("{module}.{}", unit.qualname) }
            }
        };
        Some(match rest {
            Some(rest) => format!("{base}.{rest}"),
            None => base,
        })
    }
}
