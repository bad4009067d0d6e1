//! The call graph and the class hierarchy, from the parser's records.
//!
//! Best effort and precise rather than complete: a call is linked to a unit
//! only when the name can be followed with certainty: a name bound in the
//! module or an enclosing function, an imported function or class (through
//! the import bindings), `self.method()` / `cls.method()` inside a class and
//! its bases in the codebase, `Class(...)` to `Class.__init__`. Everything
//! else is counted as external (bound to a module outside the codebase) or
//! unresolved (builtins, attributes of objects, dynamic calls), never guessed.
//!
//! Building happens in two steps, so that a pipeline never keeps whole
//! records: [`FileCalls::extract`] takes what one file says (its units, and
//! its calls resolved as far as the file alone allows, deduplicated), on
//! any thread and in a fraction of the record's memory; [`CallGraph::link`]
//! resolves what crosses files once every file is in.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use petgraph::Direction;
use pyatlas_parser::{FileRecord, NameRef, NameTable, UnitKind};
use serde::{Deserialize, Serialize};

/// A unit of the codebase, or a module's top level (qualname `<module>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnitRef {
    /// Dotted module name.
    pub module: String,
    /// `__qualname__`, or `<module>` for code at module level.
    pub qualname: String,
}

impl UnitRef {
    /// `module:qualname`.
    pub fn new(module: impl Into<String>, qualname: impl Into<String>) -> Self {
        Self { module: module.into(), qualname: qualname.into() }
    }
}

impl std::fmt::Display for UnitRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.module, self.qualname)
    }
}

/// Where a unit is among the files a graph was linked from: the file's
/// position in that list, and the unit's index in its record's `units`
/// (`None`: the module's top level). Cheap to copy and compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId {
    /// Position of the file among the linked files.
    pub file: u32,
    /// Index of the unit in the file's record; `None` for module-level code.
    pub unit: Option<u32>,
}

/// Counts of how calls were resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallStats {
    /// Call expressions seen.
    pub calls: usize,
    /// Linked to a unit of the codebase.
    pub resolved: usize,
    /// Bound to a module outside the codebase (`requests.get`).
    pub external: usize,
    /// Neither: builtins, methods of objects, dynamic calls.
    pub unresolved: usize,
}

impl CallStats {
    fn add(&mut self, other: Self) {
        self.calls += other.calls;
        self.resolved += other.resolved;
        self.external += other.external;
        self.unresolved += other.unresolved;
    }
}

/// The top-level names of a codebase's modules: a dotted name that starts
/// with none of them is outside the codebase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InternalRoots(HashSet<String>);

impl InternalRoots {
    /// The roots of `modules` (dotted module names).
    pub fn new<'a>(modules: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            modules.into_iter().filter_map(|m| m.split('.').next()).filter(|r| !r.is_empty()).map(Into::into).collect(),
        )
    }

    /// `true` when `name`'s first component is one of the roots.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name.split('.').next().unwrap_or(name))
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.0.iter().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// What a written name points at, as far as its own file can tell. Names
/// are ids in the file's [`Strings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Target {
    /// A unit of the file, and the rest of the written name (`Class.method`).
    Local(u32, Option<u32>),
    /// `self.name` / `cls.name` in a method of the class at this index.
    Method(u32, u32),
    /// A dotted absolute name under one of the codebase's roots.
    Absolute(u32),
}

/// The strings of one file end to end, by id: the units' qualnames first
/// (id = unit index), then the names its calls and bases point at, each
/// once. One allocation instead of one per string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Strings {
    text: String,
    spans: Vec<(u32, u32)>,
}

impl Strings {
    fn get(&self, id: u32) -> &str {
        self.spans.get(id as usize).and_then(|&(start, end)| self.text.get(start as usize..end as usize)).unwrap_or("")
    }

    /// Keeps the first `count` strings only.
    fn truncate(&mut self, count: u32) {
        self.spans.truncate(count as usize);
        self.text.truncate(self.spans.last().map_or(0, |&(_, end)| end as usize));
        self.text.shrink_to_fit();
        self.spans.shrink_to_fit();
    }

    fn push(&mut self, text: &str) -> u32 {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.spans.push((start, self.text.len() as u32));
        self.spans.len() as u32 - 1
    }
}

/// Builds a file's [`Strings`], each name once.
#[derive(Default)]
struct Interner {
    strings: Strings,
    ids: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.strings.push(text);
        self.ids.insert(text.to_owned(), id);
        id
    }
}

/// A class's bases: each as written (a string id), with where it points
/// when that may be a class of the codebase.
type Bases = Box<[(u32, Option<Target>)]>;

/// A call (or several, deduplicated) from one caller to one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    caller: Option<u32>,
    target: Target,
    /// Its lines: `lines[start..end]` of the file.
    lines: (u32, u32),
}

/// What one file contributes to the call graph and the class hierarchy:
/// its units, and its calls resolved within the file and deduplicated by
/// (caller, target), with their lines. Calls that certainly leave the
/// codebase (builtins, attributes of values, external modules) are only
/// counted. Compact: about 30 bytes a unit and 30 a distinct call.
///
/// It serializes (a pipeline may keep it between processes), and
/// deserializing checks it: every id, index and span must point inside
/// it, or it is an error, so that linking never meets a dangling one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct FileCalls {
    module: Box<str>,
    strings: Strings,
    kinds: Vec<UnitKind>,
    /// `(class index, bases)` for the classes that have bases: each base
    /// as written (a string id), with where it points when that may be a
    /// class of the codebase.
    bases: Vec<(u32, Bases)>,
    calls: Vec<Pending>,
    lines: Vec<u32>,
    stats: CallStats,
}

impl FileCalls {
    /// Extracts what `record` says, given the codebase's module roots.
    pub fn extract(record: &FileRecord, roots: &InternalRoots) -> Self {
        let names = record.names();
        let mut interner = Interner::default();
        for unit in &record.units {
            // Qualnames are unique in a file: ids equal unit indices.
            interner.strings.push(unit.qualname.as_str());
        }
        let kinds = record.units.iter().map(|u| u.kind).collect();
        let mut bases = Vec::new();
        for (index, unit) in record.units.iter().enumerate() {
            if unit.kind != UnitKind::Class || unit.bases.is_empty() {
                continue;
            }
            let written = unit
                .bases
                .iter()
                .map(|base| {
                    let base = base.trim();
                    let target = name_target(&names, roots, &mut interner, unit.parent, base).ok();
                    (interner.id(base), target)
                })
                .collect();
            bases.push((index as u32, written));
        }
        let mut stats = CallStats::default();
        let mut found: Vec<(Option<u32>, Target, Vec<u32>)> = Vec::new();
        let mut seen: HashMap<(Option<u32>, Target), usize> = HashMap::new();
        for call in &record.calls {
            stats.calls += 1;
            match call_target(&names, roots, &mut interner, call.unit, &call.callee) {
                Ok(target) => match seen.entry((call.unit, target)) {
                    std::collections::hash_map::Entry::Occupied(slot) => found[*slot.get()].2.push(call.line),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(found.len());
                        found.push((call.unit, target, vec![call.line]));
                    }
                },
                Err(Outside::External) => stats.external += 1,
                Err(Outside::Unknown) => stats.unresolved += 1,
            }
        }
        let mut lines = Vec::with_capacity(found.iter().map(|f| f.2.len()).sum());
        let calls = found
            .into_iter()
            .map(|(caller, target, these)| {
                let start = lines.len() as u32;
                lines.extend(these);
                Pending { caller, target, lines: (start, lines.len() as u32) }
            })
            .collect();
        let mut strings = interner.strings;
        strings.text.shrink_to_fit();
        strings.spans.shrink_to_fit();
        Self { module: record.module.as_str().into(), strings, kinds, bases, calls, lines, stats }
    }

    /// The file's module.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// Its units, as the parser's record numbers them.
    pub fn units(&self) -> usize {
        self.kinds.len()
    }
}

/// A [`FileCalls`] as deserialized, before it is checked.
#[derive(Deserialize)]
struct Unchecked {
    module: Box<str>,
    strings: Strings,
    kinds: Vec<UnitKind>,
    bases: Vec<(u32, Bases)>,
    calls: Vec<Pending>,
    lines: Vec<u32>,
    stats: CallStats,
}

impl TryFrom<Unchecked> for FileCalls {
    type Error = String;

    fn try_from(raw: Unchecked) -> Result<Self, String> {
        let Unchecked { module, strings, kinds, bases, calls, lines, stats } = raw;
        let mut end = 0;
        for &(start, stop) in &strings.spans {
            // Spans follow each other, on character boundaries.
            if start != end || stop < start || !strings.text.is_char_boundary(stop as usize) {
                return Err(format!("call facts of {module}: a string span {start}..{stop} out of place"));
            }
            end = stop;
        }
        if end as usize != strings.text.len() || strings.spans.len() < kinds.len() {
            return Err(format!("call facts of {module}: strings and units do not agree"));
        }
        let (units, names) = (kinds.len() as u32, strings.spans.len() as u32);
        let unit = |u: u32| u < units;
        let name = |n: u32| n < names;
        let target = |t: &Target| match *t {
            Target::Local(u, rest) => unit(u) && rest.is_none_or(name),
            Target::Method(class, method) => unit(class) && name(method),
            Target::Absolute(n) => name(n),
        };
        let bases_ok = bases.windows(2).all(|w| w[0].0 < w[1].0)
            && bases.iter().all(|(class, written)| {
                unit(*class) && written.iter().all(|(n, t)| name(*n) && t.as_ref().is_none_or(target))
            });
        let calls_ok = calls.iter().all(|c| {
            c.caller.is_none_or(unit)
                && target(&c.target)
                && c.lines.0 <= c.lines.1
                && (c.lines.1 as usize) <= lines.len()
        });
        if !bases_ok || !calls_ok {
            return Err(format!("call facts of {module}: an index out of range"));
        }
        Ok(Self { module, strings, kinds, bases, calls, lines, stats })
    }
}

/// Why a name is not followed.
enum Outside {
    External,
    Unknown,
}

/// What a written name denotes from `scope`, as far as the file tells:
/// enclosing function scopes (not class bodies), then module level, then
/// imports (the parser's [`NameTable`]).
fn name_target(
    names: &NameTable<'_>,
    roots: &InternalRoots,
    interner: &mut Interner,
    scope: Option<u32>,
    written: &str,
) -> Result<Target, Outside> {
    let (head, rest) = match written.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (written, None),
    };
    match names.lookup(head, scope).ok_or(Outside::Unknown)? {
        NameRef::Unit(index) => Ok(Target::Local(index, rest.map(|r| interner.id(r)))),
        NameRef::Import(binding) => {
            if !roots.contains(&binding.target) {
                return Err(Outside::External);
            }
            Ok(Target::Absolute(match rest {
                Some(rest) => interner.id(&format!("{}.{rest}", binding.target)),
                None => interner.id(&binding.target),
            }))
        }
        _ => Err(Outside::Unknown),
    }
}

fn call_target(
    names: &NameTable<'_>,
    roots: &InternalRoots,
    interner: &mut Interner,
    unit: Option<u32>,
    callee: &str,
) -> Result<Target, Outside> {
    if callee.contains(['(', '[', ' ', '\n']) {
        return Err(Outside::Unknown);
    }
    if let Some(method) = callee.strip_prefix("self.").or_else(|| callee.strip_prefix("cls.")) {
        if method.contains('.') {
            return Err(Outside::Unknown);
        }
        return enclosing_class(names.record(), unit)
            .map(|class| Target::Method(class, interner.id(method)))
            .ok_or(Outside::Unknown);
    }
    name_target(names, roots, interner, unit, callee)
}

/// The class a method (or a function nested in one) belongs to.
fn enclosing_class(file: &FileRecord, unit: Option<u32>) -> Option<u32> {
    let mut current = unit;
    while let Some(u) = current {
        let x = file.unit(u)?;
        if x.kind == UnitKind::Method {
            return x.parent;
        }
        current = x.parent;
    }
    None
}

/// Caller unit -> callee unit, with the lines of the calls.
#[derive(Clone, Debug, Default)]
pub struct CallGraph {
    symbols: Symbols,
    calls: Adjacency,
    /// First node of each file (its module level); its units follow. One
    /// more entry holds the number of nodes.
    offsets: Vec<u32>,
    stats: CallStats,
    hierarchy: ClassHierarchy,
}

/// Class -> its base classes in the codebase; bases from outside are listed.
#[derive(Clone, Debug, Default)]
pub struct ClassHierarchy {
    symbols: Symbols,
    classes: Vec<UnitId>,
    bases: BTreeMap<UnitId, Vec<UnitId>>,
    subclasses: BTreeMap<UnitId, Vec<UnitId>>,
    external: BTreeMap<UnitId, Vec<String>>,
}

/// The names of the linked files' modules and units, shared by the call
/// graph and the class hierarchy.
#[derive(Clone, Debug, Default)]
struct Symbols(std::sync::Arc<SymbolTable>);

#[derive(Debug, Default)]
struct SymbolTable {
    /// Per file: its module, and its strings (qualnames first) with the number of units.
    files: Vec<(Box<str>, Strings, u32)>,
    by_module: HashMap<Box<str>, u32>,
}

impl Symbols {
    fn qualname(&self, id: UnitId) -> &str {
        match (id.unit, self.0.files.get(id.file as usize)) {
            (None, _) => "<module>",
            (Some(u), Some((_, strings, units))) if u < *units => strings.get(u),
            _ => "",
        }
    }

    fn unit_ref(&self, id: UnitId) -> UnitRef {
        let module = self.0.files.get(id.file as usize).map_or("", |(m, ..)| m);
        UnitRef::new(module, self.qualname(id))
    }

    fn id_of(&self, unit: &UnitRef) -> Option<UnitId> {
        let file = *self.0.by_module.get(unit.module.as_str())?;
        if unit.qualname == "<module>" {
            return Some(UnitId { file, unit: None });
        }
        let (_, strings, units) = self.0.files.get(file as usize)?;
        let index = (0..*units).find(|&u| strings.get(u) == unit.qualname)?;
        Some(UnitId { file, unit: Some(index) })
    }
}

/// The linker's view of every file: units by qualname, modules by name.
struct Linker<'a> {
    files: &'a [FileCalls],
    by_module: HashMap<&'a str, u32>,
    /// Per file, its unit indices sorted by qualname (the first of equal ones first).
    by_qualname: Vec<Box<[u32]>>,
    /// Resolved bases of each class, filled before calls are linked.
    bases: HashMap<UnitId, Vec<UnitId>>,
}

impl<'a> Linker<'a> {
    fn new(files: &'a [FileCalls]) -> Self {
        let mut by_module = HashMap::new();
        for (index, file) in files.iter().enumerate() {
            by_module.entry(&*file.module).or_insert(index as u32);
        }
        let by_qualname = files
            .iter()
            .map(|f| {
                let mut units: Vec<u32> = (0..f.kinds.len() as u32).collect();
                units.sort_by_key(|&u| (f.strings.get(u), u));
                units.into_boxed_slice()
            })
            .collect();
        let mut linker = Self { files, by_module, by_qualname, bases: HashMap::new() };
        let mut bases = HashMap::new();
        for (f, file) in files.iter().enumerate() {
            for (u, written) in &file.bases {
                let id = UnitId { file: f as u32, unit: Some(*u) };
                let found: Vec<UnitId> = written
                    .iter()
                    .filter_map(|(_, target)| linker.target(f as u32, target.as_ref()?))
                    .filter(|base| linker.is_class(*base))
                    .collect();
                bases.insert(id, found);
            }
        }
        linker.bases = bases;
        linker
    }

    fn kind(&self, id: UnitId) -> Option<UnitKind> {
        self.files.get(id.file as usize)?.kinds.get(id.unit? as usize).copied()
    }

    fn is_class(&self, id: UnitId) -> bool {
        self.kind(id) == Some(UnitKind::Class)
    }

    /// A string of file `file`.
    fn string(&self, file: u32, id: u32) -> &'a str {
        self.files.get(file as usize).map_or("", |f| f.strings.get(id))
    }

    fn unit(&self, file: u32, qualname: &str) -> Option<UnitId> {
        let strings = &self.files.get(file as usize)?.strings;
        let units = self.by_qualname.get(file as usize)?;
        let first = units.partition_point(|&u| strings.get(u) < qualname);
        let index = *units.get(first).filter(|&&u| strings.get(u) == qualname)?;
        Some(UnitId { file, unit: Some(index) })
    }

    /// The unit a target of file `file` names (without `Class()` -> `__init__`).
    fn target(&self, file: u32, target: &Target) -> Option<UnitId> {
        match *target {
            Target::Local(unit, rest) => {
                let id = UnitId { file, unit: Some(unit) };
                match rest.map(|r| self.string(file, r)) {
                    None => Some(id),
                    Some(method) if self.is_class(id) && !method.contains('.') => self.method(id, method),
                    Some(_) => None,
                }
            }
            Target::Method(class, method) => self.method(UnitId { file, unit: Some(class) }, self.string(file, method)),
            Target::Absolute(name) => self.absolute(self.string(file, name)),
        }
    }

    /// A dotted absolute name (`pkg.mod.Class.method`): the unit it names.
    fn absolute(&self, name: &str) -> Option<UnitId> {
        let mut split = name.len();
        // The longest prefix that is a module of the codebase.
        loop {
            let module = &name[..split];
            if let Some(&file) = self.by_module.get(module) {
                // Calling a module itself names no unit.
                let rest = name.get(split + 1..).filter(|r| !r.is_empty())?;
                let (head, method) = match rest.split_once('.') {
                    Some((class, method)) => (class, Some(method)),
                    None => (rest, None),
                };
                let id = self.unit(file, head)?;
                return match method {
                    None => Some(id),
                    Some(method) if self.is_class(id) && !method.contains('.') => self.method(id, method),
                    Some(_) => None,
                };
            }
            split = module.rfind('.')?;
        }
    }

    /// Method `name` of `class`, or of its bases in the codebase, breadth
    /// first (close to Python's MRO for simple hierarchies).
    fn method(&self, class: UnitId, name: &str) -> Option<UnitId> {
        let mut queue = VecDeque::from([class]);
        let mut seen = HashSet::new();
        while let Some(class) = queue.pop_front() {
            if !seen.insert(class) {
                continue;
            }
            let qualname = self.string(class.file, class.unit?);
            if let Some(found) = self.unit(class.file, &format!("{qualname}.{name}")) {
                return Some(found);
            }
            queue.extend(self.bases.get(&class).into_iter().flatten().copied());
        }
        None
    }

    /// What calling `unit` runs: `Class(...)` runs `Class.__init__` (the
    /// class's own or inherited), anything else runs itself.
    fn called(&self, unit: UnitId) -> UnitId {
        if self.is_class(unit)
            && let Some(init) = self.method(unit, "__init__")
        {
            return init;
        }
        unit
    }
}

impl CallGraph {
    /// Builds the call graph (and the class hierarchy) of `records`, the
    /// files of one codebase.
    pub fn build<'a>(records: impl IntoIterator<Item = &'a FileRecord> + Clone) -> Self {
        let roots = InternalRoots::new(records.clone().into_iter().map(|r| r.module.as_str()));
        Self::link(records.into_iter().map(|r| FileCalls::extract(r, &roots)).collect())
    }

    /// Links the files' calls into the graph. [`UnitId::file`] is a file's
    /// position in `files`.
    pub fn link(mut files: Vec<FileCalls>) -> Self {
        // Each file's calls are freed once linked, so that the calls of the
        // whole codebase and its edges are not all held at once.
        let pending: Vec<(Vec<Pending>, Vec<u32>)> =
            files.iter_mut().map(|f| (std::mem::take(&mut f.calls), std::mem::take(&mut f.lines))).collect();
        let linker = Linker::new(&files);
        let mut offsets = Vec::with_capacity(files.len() + 1);
        let mut nodes = 0u32;
        for file in &files {
            offsets.push(nodes);
            nodes += 1 + file.kinds.len() as u32;
        }
        offsets.push(nodes);
        let node = |id: UnitId| offsets[id.file as usize] + id.unit.map_or(0, |u| u + 1);
        let mut stats = CallStats::default();
        let mut found = Adjacency::builder();
        for (f, (calls, all_lines)) in pending.into_iter().enumerate() {
            stats.add(files[f].stats);
            for call in &calls {
                let lines = all_lines.get(call.lines.0 as usize..call.lines.1 as usize).unwrap_or_default();
                match linker.target(f as u32, &call.target).map(|unit| linker.called(unit)) {
                    Some(callee) => {
                        stats.resolved += lines.len();
                        found.add(node(UnitId { file: f as u32, unit: call.caller }), node(callee), lines);
                    }
                    None => stats.unresolved += lines.len(),
                }
            }
        }
        let calls = found.build(nodes);
        let mut hierarchy = ClassHierarchy::default();
        for (f, file) in files.iter().enumerate() {
            let mut with_bases = file.bases.iter().peekable();
            for (u, _) in file.kinds.iter().enumerate().filter(|(_, kind)| **kind == UnitKind::Class) {
                let class = UnitId { file: f as u32, unit: Some(u as u32) };
                hierarchy.classes.push(class);
                let Some((_, written)) = with_bases.next_if(|(b, _)| *b as usize == u) else { continue };
                let mut found: Vec<UnitId> = Vec::new();
                for (written, target) in written.iter() {
                    match target.as_ref().and_then(|t| linker.target(f as u32, t)).filter(|b| linker.is_class(*b)) {
                        Some(base) if !found.contains(&base) => found.push(base),
                        Some(_) => {}
                        None => {
                            let written = file.strings.get(*written).to_owned();
                            hierarchy.external.entry(class).or_default().push(written);
                        }
                    }
                }
                for base in &found {
                    hierarchy.subclasses.entry(*base).or_default().push(class);
                }
                if !found.is_empty() {
                    hierarchy.bases.insert(class, found);
                }
            }
        }
        drop(linker);
        let by_module: HashMap<Box<str>, u32> =
            files.iter().enumerate().map(|(i, f)| (f.module.clone(), i as u32)).rev().collect();
        // Only the names stay: the calls are linked.
        let files = files
            .into_iter()
            .map(|mut f| {
                let units = f.kinds.len() as u32;
                f.strings.truncate(units);
                (f.module, f.strings, units)
            })
            .collect();
        let symbols = Symbols(std::sync::Arc::new(SymbolTable { files, by_module }));
        hierarchy.symbols = symbols.clone();
        Self { symbols, calls, offsets, stats, hierarchy }
    }

    fn node(&self, id: UnitId) -> Option<u32> {
        let (first, next) = (*self.offsets.get(id.file as usize)?, *self.offsets.get(id.file as usize + 1)?);
        let node = first + id.unit.map_or(0, |u| u.saturating_add(1));
        (node < next).then_some(node)
    }

    fn unit_id(&self, node: u32) -> UnitId {
        let file = self.offsets.partition_point(|&first| first <= node).saturating_sub(1);
        let first = self.offsets.get(file).copied().unwrap_or(0);
        UnitId { file: file as u32, unit: (node > first).then(|| node - first - 1) }
    }

    /// How calls were resolved.
    pub fn stats(&self) -> CallStats {
        self.stats
    }

    /// The class hierarchy of the same files.
    pub fn hierarchy(&self) -> &ClassHierarchy {
        &self.hierarchy
    }

    /// The name of a unit.
    pub fn unit_ref(&self, id: UnitId) -> UnitRef {
        self.symbols.unit_ref(id)
    }

    /// The id of a named unit, if the graph has it.
    pub fn id_of(&self, unit: &UnitRef) -> Option<UnitId> {
        self.symbols.id_of(unit)
    }

    /// What `unit` calls directly, with the lines of the calls, sorted.
    pub fn callees(&self, unit: &UnitRef) -> Vec<(UnitRef, &[u32])> {
        self.named(self.id_of(unit).map(|id| self.callees_of(id)))
    }

    /// What calls `unit` directly, with the lines of the calls, sorted.
    pub fn callers(&self, unit: &UnitRef) -> Vec<(UnitRef, &[u32])> {
        self.named(self.id_of(unit).map(|id| self.callers_of(id)))
    }

    fn named<'s>(&'s self, ids: Option<Vec<(UnitId, &'s [u32])>>) -> Vec<(UnitRef, &'s [u32])> {
        let mut found: Vec<_> = ids.into_iter().flatten().map(|(id, lines)| (self.unit_ref(id), lines)).collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// [`CallGraph::callees`] by id, in no particular order.
    pub fn callees_of(&self, unit: UnitId) -> Vec<(UnitId, &[u32])> {
        self.neighbours(unit, Direction::Outgoing)
    }

    /// [`CallGraph::callers`] by id, in no particular order.
    pub fn callers_of(&self, unit: UnitId) -> Vec<(UnitId, &[u32])> {
        self.neighbours(unit, Direction::Incoming)
    }

    fn neighbours(&self, unit: UnitId, direction: Direction) -> Vec<(UnitId, &[u32])> {
        let Some(node) = self.node(unit) else { return Vec::new() };
        self.calls.neighbours(node, direction).map(|(other, lines)| (self.unit_id(other), lines)).collect()
    }

    /// Every edge: caller, callee and the lines of the calls (ascending).
    pub fn edges(&self) -> impl Iterator<Item = (UnitId, UnitId, &[u32])> {
        self.calls.edges().map(|(from, to, lines)| (self.unit_id(from), self.unit_id(to), lines))
    }

    /// Units reachable from `unit` through at most `depth` calls, with their
    /// distance, sorted by distance then name (the unit itself excluded).
    pub fn reachable(&self, unit: &UnitRef, depth: usize) -> Vec<(UnitRef, usize)> {
        self.named_within(unit, depth, Direction::Outgoing)
    }

    /// Units that reach `unit` through at most `depth` calls (its callers,
    /// their callers, ...), with their distance, sorted (the unit excluded).
    pub fn reaching(&self, unit: &UnitRef, depth: usize) -> Vec<(UnitRef, usize)> {
        self.named_within(unit, depth, Direction::Incoming)
    }

    fn named_within(&self, unit: &UnitRef, depth: usize, direction: Direction) -> Vec<(UnitRef, usize)> {
        let ids = self.id_of(unit).map(|id| self.within(id, depth, direction)).unwrap_or_default();
        let mut found: Vec<_> = ids.into_iter().map(|(id, d)| (self.unit_ref(id), d)).collect();
        found.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        found
    }

    /// [`CallGraph::reachable`] by id, sorted by distance then id.
    pub fn reachable_from(&self, unit: UnitId, depth: usize) -> Vec<(UnitId, usize)> {
        self.within(unit, depth, Direction::Outgoing)
    }

    /// [`CallGraph::reaching`] by id, sorted by distance then id.
    pub fn reaching_to(&self, unit: UnitId, depth: usize) -> Vec<(UnitId, usize)> {
        self.within(unit, depth, Direction::Incoming)
    }

    /// Breadth-first search from `unit` along `direction`, up to `depth` edges.
    fn within(&self, unit: UnitId, depth: usize, direction: Direction) -> Vec<(UnitId, usize)> {
        let Some(start) = self.node(unit) else { return Vec::new() };
        let mut distance = HashMap::from([(start, 0usize)]);
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let d = distance[&node];
            if d == depth {
                continue;
            }
            for (next, _) in self.calls.neighbours(node, direction) {
                if let std::collections::hash_map::Entry::Vacant(slot) = distance.entry(next) {
                    slot.insert(d + 1);
                    queue.push_back(next);
                }
            }
        }
        let mut found: Vec<_> =
            distance.into_iter().filter(|(n, _)| *n != start).map(|(n, d)| (self.unit_id(n), d)).collect();
        found.sort_by_key(|&(id, d)| (d, id));
        found
    }

    /// Number of edges (caller-callee pairs).
    pub fn edge_count(&self) -> usize {
        self.calls.edges.len()
    }
}

/// Edges between nodes `0..n`, each with its lines, in compressed rows both
/// ways: about 24 bytes an edge and 8 a node, whatever the graph's size.
#[derive(Clone, Debug, Default)]
struct Adjacency {
    /// `(from, to, lines start, lines end)`, sorted by `(from, to)`.
    edges: Vec<(u32, u32, u32, u32)>,
    lines: Vec<u32>,
    /// The edges from node `n` are `edges[out[n]..out[n + 1]]`.
    out: Vec<u32>,
    /// Edge indices sorted by `(to, from)`; those into node `n` are
    /// `incoming[into[n]..into[n + 1]]`.
    incoming: Vec<u32>,
    into: Vec<u32>,
}

/// Collects edges, with repeats, before [`Adjacency`] is built.
#[derive(Default)]
struct AdjacencyBuilder {
    edges: Vec<(u32, u32, u32, u32)>,
    lines: Vec<u32>,
}

impl AdjacencyBuilder {
    fn add(&mut self, from: u32, to: u32, lines: &[u32]) {
        let start = self.lines.len() as u32;
        self.lines.extend_from_slice(lines);
        self.edges.push((from, to, start, self.lines.len() as u32));
    }

    /// Merges repeated edges (their lines joined and sorted) and indexes
    /// the result for `nodes` nodes.
    fn build(mut self, nodes: u32) -> Adjacency {
        self.edges.sort_unstable();
        let mut edges: Vec<(u32, u32, u32, u32)> = Vec::with_capacity(self.edges.len());
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut raw = self.edges.into_iter().peekable();
        while let Some((from, to, start, end)) = raw.next() {
            let first = lines.len();
            lines.extend_from_slice(self.lines.get(start as usize..end as usize).unwrap_or_default());
            while let Some((_, _, start, end)) = raw.next_if(|e| (e.0, e.1) == (from, to)) {
                lines.extend_from_slice(self.lines.get(start as usize..end as usize).unwrap_or_default());
            }
            if let Some(these) = lines.get_mut(first..) {
                these.sort_unstable();
            }
            edges.push((from, to, first as u32, lines.len() as u32));
        }
        drop(self.lines);
        edges.shrink_to_fit();
        lines.shrink_to_fit();
        let offsets = |key: &dyn Fn(usize) -> u32, count: usize| {
            let mut starts = vec![0u32; nodes as usize + 1];
            for i in 0..count {
                if let Some(slot) = starts.get_mut(key(i) as usize + 1) {
                    *slot += 1;
                }
            }
            for n in 1..starts.len() {
                starts[n] += starts[n - 1];
            }
            starts
        };
        let out = offsets(&|i| edges[i].0, edges.len());
        let mut incoming: Vec<u32> = (0..edges.len() as u32).collect();
        incoming.sort_unstable_by_key(|&e| (edges[e as usize].1, edges[e as usize].0));
        let into = offsets(&|i| edges[incoming[i] as usize].1, incoming.len());
        Adjacency { edges, lines, out, incoming, into }
    }
}

impl Adjacency {
    fn builder() -> AdjacencyBuilder {
        AdjacencyBuilder::default()
    }

    fn lines_of(&self, edge: &(u32, u32, u32, u32)) -> &[u32] {
        self.lines.get(edge.2 as usize..edge.3 as usize).unwrap_or_default()
    }

    /// The nodes next to `node` along `direction`, each with the edge's lines.
    fn neighbours(&self, node: u32, direction: Direction) -> impl Iterator<Item = (u32, &[u32])> {
        let range = |starts: &[u32]| {
            let n = node as usize;
            starts.get(n).copied().unwrap_or(0) as usize..starts.get(n + 1).copied().unwrap_or(0) as usize
        };
        let (outgoing, incoming) = match direction {
            Direction::Outgoing => (range(&self.out), 0..0),
            Direction::Incoming => (0..0, range(&self.into)),
        };
        let forward = self.edges.get(outgoing).unwrap_or_default().iter().map(|e| (e.1, self.lines_of(e)));
        let backward = self.incoming.get(incoming).unwrap_or_default().iter().filter_map(|&i| {
            let edge = self.edges.get(i as usize)?;
            Some((edge.0, self.lines_of(edge)))
        });
        forward.chain(backward)
    }

    fn edges(&self) -> impl Iterator<Item = (u32, u32, &[u32])> {
        self.edges.iter().map(|e| (e.0, e.1, self.lines_of(e)))
    }
}

impl ClassHierarchy {
    /// Builds the class hierarchy of `records` (see [`CallGraph::hierarchy`],
    /// which links both at once).
    pub fn build<'a>(records: impl IntoIterator<Item = &'a FileRecord> + Clone) -> Self {
        CallGraph::build(records).hierarchy
    }

    fn named(&self, ids: Option<&Vec<UnitId>>) -> Vec<UnitRef> {
        let mut found: Vec<UnitRef> = ids.into_iter().flatten().map(|&id| self.symbols.unit_ref(id)).collect();
        found.sort();
        found
    }

    /// The direct bases of `class` in the codebase, sorted.
    pub fn bases(&self, class: &UnitRef) -> Vec<UnitRef> {
        self.named(self.symbols.id_of(class).and_then(|id| self.bases.get(&id)))
    }

    /// The direct subclasses of `class` in the codebase, sorted.
    pub fn subclasses(&self, class: &UnitRef) -> Vec<UnitRef> {
        self.named(self.symbols.id_of(class).and_then(|id| self.subclasses.get(&id)))
    }

    /// Base classes that are not in the codebase (`models.Model`), as written.
    pub fn external_bases(&self, class: &UnitRef) -> &[String] {
        self.symbols.id_of(class).and_then(|id| self.external.get(&id)).map_or(&[], Vec::as_slice)
    }

    /// Every class with bases in the codebase, with those bases, by id.
    pub fn edges(&self) -> impl Iterator<Item = (UnitId, &[UnitId])> {
        self.bases.iter().map(|(class, bases)| (*class, bases.as_slice()))
    }

    /// The name of a unit.
    pub fn unit_ref(&self, id: UnitId) -> UnitRef {
        self.symbols.unit_ref(id)
    }

    /// Every class of the codebase with its direct bases in it, sorted.
    pub fn classes(&self) -> Vec<(UnitRef, Vec<UnitRef>)> {
        let mut classes: Vec<_> =
            self.classes.iter().map(|&id| (self.symbols.unit_ref(id), self.named(self.bases.get(&id)))).collect();
        classes.sort_by(|a, b| a.0.cmp(&b.0));
        classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_merges_repeated_edges_and_answers_both_ways() {
        let mut builder = Adjacency::builder();
        builder.add(2, 0, &[9]);
        builder.add(0, 1, &[5, 3]);
        builder.add(2, 0, &[4]);
        builder.add(1, 2, &[7]);
        let graph = builder.build(4);
        let edges: Vec<_> = graph.edges().map(|(a, b, l)| (a, b, l.to_vec())).collect();
        assert_eq!(edges, [(0, 1, vec![3, 5]), (1, 2, vec![7]), (2, 0, vec![4, 9])]);
        let out: Vec<_> = graph.neighbours(2, Direction::Outgoing).map(|(n, l)| (n, l.to_vec())).collect();
        assert_eq!(out, [(0, vec![4, 9])]);
        let into: Vec<_> = graph.neighbours(0, Direction::Incoming).map(|(n, _)| n).collect();
        assert_eq!(into, [2]);
        assert_eq!(graph.neighbours(3, Direction::Outgoing).count(), 0, "a node without edges");
        assert_eq!(graph.neighbours(99, Direction::Incoming).count(), 0, "a node out of range");
    }
}
