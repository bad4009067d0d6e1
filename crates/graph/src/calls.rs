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
use petgraph::graph::{DiGraph, NodeIndex};
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
#[derive(Clone, Debug, Default)]
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
}

/// What a written name points at, as far as its own file can tell.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Target {
    /// A unit of the file, and the rest of the written name (`Class.method`).
    Local(u32, Option<Box<str>>),
    /// `self.name` / `cls.name` in a method of the class at this index.
    Method(u32, Box<str>),
    /// A dotted absolute name under one of the codebase's roots.
    Absolute(Box<str>),
}

/// A unit, as the graphs need it.
#[derive(Clone, Debug)]
struct UnitInfo {
    qualname: Box<str>,
    kind: UnitKind,
    /// For a class: each base as written, with where it points when that
    /// may be a class of the codebase.
    bases: Vec<(Box<str>, Option<Target>)>,
}

/// What one file contributes to the call graph and the class hierarchy:
/// its units, and its calls resolved within the file and deduplicated by
/// (caller, target), with their lines. Calls that certainly leave the
/// codebase (builtins, attributes of values, external modules) are only
/// counted.
#[derive(Clone, Debug, Default)]
pub struct FileCalls {
    module: Box<str>,
    units: Vec<UnitInfo>,
    calls: Vec<(Option<u32>, Target, Vec<u32>)>,
    stats: CallStats,
}

impl FileCalls {
    /// Extracts what `record` says, given the codebase's module roots.
    pub fn extract(record: &FileRecord, roots: &InternalRoots) -> Self {
        let names = record.names();
        let units = record
            .units
            .iter()
            .map(|unit| UnitInfo {
                qualname: unit.qualname.as_str().into(),
                kind: unit.kind,
                bases: unit
                    .bases
                    .iter()
                    .map(|base| {
                        let base = base.trim();
                        (base.into(), name_target(&names, roots, unit.parent, base).ok())
                    })
                    .collect(),
            })
            .collect();
        let mut stats = CallStats::default();
        let mut calls: Vec<(Option<u32>, Target, Vec<u32>)> = Vec::new();
        let mut seen: HashMap<(Option<u32>, Target), usize> = HashMap::new();
        for call in &record.calls {
            stats.calls += 1;
            match call_target(&names, roots, call.unit, &call.callee) {
                Ok(target) => match seen.entry((call.unit, target)) {
                    std::collections::hash_map::Entry::Occupied(slot) => calls[*slot.get()].2.push(call.line),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        let (caller, target) = slot.key().clone();
                        slot.insert(calls.len());
                        calls.push((caller, target, vec![call.line]));
                    }
                },
                Err(Outside::External) => stats.external += 1,
                Err(Outside::Unknown) => stats.unresolved += 1,
            }
        }
        Self { module: record.module.as_str().into(), units, calls, stats }
    }

    /// The file's module.
    pub fn module(&self) -> &str {
        &self.module
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
    scope: Option<u32>,
    written: &str,
) -> Result<Target, Outside> {
    let (head, rest) = match written.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (written, None),
    };
    match names.lookup(head, scope).ok_or(Outside::Unknown)? {
        NameRef::Unit(index) => Ok(Target::Local(index, rest.map(Into::into))),
        NameRef::Import(binding) => {
            if !roots.contains(&binding.target) {
                return Err(Outside::External);
            }
            Ok(Target::Absolute(match rest {
                Some(rest) => format!("{}.{rest}", binding.target).into(),
                None => binding.target.as_str().into(),
            }))
        }
        _ => Err(Outside::Unknown),
    }
}

fn call_target(
    names: &NameTable<'_>,
    roots: &InternalRoots,
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
            .map(|class| Target::Method(class, method.into()))
            .ok_or(Outside::Unknown);
    }
    name_target(names, roots, unit, callee)
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
    graph: DiGraph<UnitId, Vec<u32>>,
    /// First node of each file (its module level); its units follow.
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

/// The names of the linked files' modules and units.
#[derive(Clone, Debug, Default)]
struct Symbols {
    modules: std::sync::Arc<[Box<str>]>,
    qualnames: std::sync::Arc<[Vec<Box<str>>]>,
    by_module: std::sync::Arc<HashMap<Box<str>, u32>>,
}

impl Symbols {
    fn unit_ref(&self, id: UnitId) -> UnitRef {
        let module = self.modules.get(id.file as usize).map_or("", |m| m);
        let qualname = match id.unit {
            None => "<module>",
            Some(u) => self.qualnames.get(id.file as usize).and_then(|q| q.get(u as usize)).map_or("", |q| q),
        };
        UnitRef::new(module, qualname)
    }

    fn id_of(&self, unit: &UnitRef) -> Option<UnitId> {
        let file = *self.by_module.get(unit.module.as_str())?;
        if unit.qualname == "<module>" {
            return Some(UnitId { file, unit: None });
        }
        let index = self.qualnames.get(file as usize)?.iter().position(|q| **q == *unit.qualname)?;
        Some(UnitId { file, unit: Some(index as u32) })
    }
}

/// The linker's view of every file: units by qualname, modules by name.
struct Linker<'a> {
    files: &'a [FileCalls],
    by_module: HashMap<&'a str, u32>,
    by_qualname: Vec<HashMap<&'a str, u32>>,
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
                let mut map = HashMap::with_capacity(f.units.len());
                for (i, u) in f.units.iter().enumerate() {
                    map.entry(&*u.qualname).or_insert(i as u32);
                }
                map
            })
            .collect();
        let mut linker = Self { files, by_module, by_qualname, bases: HashMap::new() };
        let mut bases = HashMap::new();
        for (f, file) in files.iter().enumerate() {
            for (u, unit) in file.units.iter().enumerate().filter(|(_, u)| u.kind == UnitKind::Class) {
                let id = UnitId { file: f as u32, unit: Some(u as u32) };
                let found: Vec<UnitId> = unit
                    .bases
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

    fn info(&self, id: UnitId) -> Option<&'a UnitInfo> {
        self.files.get(id.file as usize)?.units.get(id.unit? as usize)
    }

    fn is_class(&self, id: UnitId) -> bool {
        self.info(id).is_some_and(|u| u.kind == UnitKind::Class)
    }

    fn unit(&self, file: u32, qualname: &str) -> Option<UnitId> {
        let index = *self.by_qualname.get(file as usize)?.get(qualname)?;
        Some(UnitId { file, unit: Some(index) })
    }

    /// The unit a target of file `file` names (without `Class()` -> `__init__`).
    fn target(&self, file: u32, target: &Target) -> Option<UnitId> {
        match target {
            Target::Local(unit, rest) => {
                let id = UnitId { file, unit: Some(*unit) };
                match rest.as_deref() {
                    None => Some(id),
                    Some(method) if self.is_class(id) && !method.contains('.') => self.method(id, method),
                    Some(_) => None,
                }
            }
            Target::Method(class, method) => self.method(UnitId { file, unit: Some(*class) }, method),
            Target::Absolute(name) => self.absolute(name),
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
            let info = self.info(class)?;
            if let Some(found) = self.unit(class.file, &format!("{}.{name}", info.qualname)) {
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
    pub fn link(files: Vec<FileCalls>) -> Self {
        let linker = Linker::new(&files);
        let mut offsets = Vec::with_capacity(files.len());
        let mut graph: DiGraph<UnitId, Vec<u32>> = DiGraph::new();
        for (f, file) in files.iter().enumerate() {
            offsets.push(graph.node_count() as u32);
            graph.add_node(UnitId { file: f as u32, unit: None });
            for u in 0..file.units.len() {
                graph.add_node(UnitId { file: f as u32, unit: Some(u as u32) });
            }
        }
        let node =
            |id: UnitId| NodeIndex::new(offsets[id.file as usize] as usize + id.unit.map_or(0, |u| u as usize + 1));
        let mut stats = CallStats::default();
        for (f, file) in files.iter().enumerate() {
            stats.add(file.stats);
            for (caller, target, lines) in &file.calls {
                match linker.target(f as u32, target).map(|unit| linker.called(unit)) {
                    Some(callee) => {
                        stats.resolved += lines.len();
                        let (from, to) = (node(UnitId { file: f as u32, unit: *caller }), node(callee));
                        match graph.find_edge(from, to) {
                            Some(edge) => graph[edge].extend_from_slice(lines),
                            None => {
                                graph.add_edge(from, to, lines.clone());
                            }
                        }
                    }
                    None => stats.unresolved += lines.len(),
                }
            }
        }
        for lines in graph.edge_weights_mut() {
            lines.sort_unstable();
        }
        let mut hierarchy = ClassHierarchy::default();
        for (f, file) in files.iter().enumerate() {
            for (u, unit) in file.units.iter().enumerate().filter(|(_, u)| u.kind == UnitKind::Class) {
                let class = UnitId { file: f as u32, unit: Some(u as u32) };
                hierarchy.classes.push(class);
                let mut found: Vec<UnitId> = Vec::new();
                for (written, target) in &unit.bases {
                    match target.as_ref().and_then(|t| linker.target(f as u32, t)).filter(|b| linker.is_class(*b)) {
                        Some(base) if !found.contains(&base) => found.push(base),
                        Some(_) => {}
                        None => hierarchy.external.entry(class).or_default().push(written.to_string()),
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
        let (modules, qualnames): (Vec<Box<str>>, Vec<Vec<Box<str>>>) =
            files.into_iter().map(|f| (f.module, f.units.into_iter().map(|u| u.qualname).collect())).unzip();
        let symbols = Symbols { modules: modules.into(), qualnames: qualnames.into(), by_module: by_module.into() };
        hierarchy.symbols = symbols.clone();
        Self { symbols, graph, offsets, stats, hierarchy }
    }

    fn node(&self, id: UnitId) -> Option<NodeIndex> {
        let first = *self.offsets.get(id.file as usize)? as usize;
        let index = NodeIndex::new(first + id.unit.map_or(0, |u| u as usize + 1));
        (self.graph.node_weight(index) == Some(&id)).then_some(index)
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
        let Some(index) = self.node(unit) else { return Vec::new() };
        self.graph
            .edges_directed(index, direction)
            .map(|e| {
                let other = match direction {
                    Direction::Outgoing => petgraph::visit::EdgeRef::target(&e),
                    Direction::Incoming => petgraph::visit::EdgeRef::source(&e),
                };
                (self.graph[other], e.weight().as_slice())
            })
            .collect()
    }

    /// Every edge: caller, callee and the lines of the calls (ascending).
    pub fn edges(&self) -> impl Iterator<Item = (UnitId, UnitId, &[u32])> {
        self.graph.edge_indices().filter_map(|e| {
            let (a, b) = self.graph.edge_endpoints(e)?;
            Some((self.graph[a], self.graph[b], self.graph.edge_weight(e)?.as_slice()))
        })
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
            for next in self.graph.neighbors_directed(node, direction) {
                if let std::collections::hash_map::Entry::Vacant(slot) = distance.entry(next) {
                    slot.insert(d + 1);
                    queue.push_back(next);
                }
            }
        }
        let mut found: Vec<_> =
            distance.into_iter().filter(|(n, _)| *n != start).map(|(n, d)| (self.graph[n], d)).collect();
        found.sort_by_key(|&(id, d)| (d, id));
        found
    }

    /// Number of edges (caller-callee pairs).
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
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
