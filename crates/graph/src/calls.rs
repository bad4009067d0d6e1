//! The call graph and the class hierarchy, from the parser's records.
//!
//! Best effort and precise rather than complete: a call is linked to a unit
//! only when the name can be followed with certainty: a name bound in the
//! module or an enclosing function, an imported function or class (through
//! the import bindings), `self.method()` / `cls.method()` inside a class and
//! its bases in the codebase, `Class(...)` to `Class.__init__`. Everything
//! else is counted as external (bound to a module outside the codebase) or
//! unresolved (builtins, attributes of objects, dynamic calls), never guessed.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use pyatlas_parser::{FileRecord, Unit, UnitKind};
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

/// Caller unit -> callee unit, with the lines of the calls.
#[derive(Clone, Debug, Default)]
pub struct CallGraph {
    graph: DiGraph<UnitRef, Vec<u32>>,
    index: HashMap<UnitRef, NodeIndex>,
    stats: CallStats,
}

/// Class -> its base classes in the codebase; bases from outside are listed.
#[derive(Clone, Debug, Default)]
pub struct ClassHierarchy {
    graph: DiGraph<UnitRef, ()>,
    index: HashMap<UnitRef, NodeIndex>,
    external: BTreeMap<UnitRef, Vec<String>>,
}

/// Where the units of the codebase are.
struct Units<'a> {
    files: HashMap<&'a str, &'a FileRecord>,
    /// Internal module names, to split `a.b.C.m` into module and qualname.
    modules: HashSet<&'a str>,
}

/// A name resolved to something: a unit of the codebase, or a module outside.
enum Resolved {
    Unit(UnitRef),
    External,
    Unknown,
}

impl<'a> Units<'a> {
    fn new(records: &'a [FileRecord]) -> Self {
        let files = records.iter().map(|r| (r.module.as_str(), r)).collect();
        let modules = records.iter().map(|r| r.module.as_str()).collect();
        Self { files, modules }
    }

    fn unit(&self, module: &str, qualname: &str) -> Option<(&'a FileRecord, usize)> {
        let file = *self.files.get(module)?;
        file.units.iter().position(|u| u.qualname.as_str() == qualname).map(|i| (file, i))
    }

    /// A dotted absolute name (`pkg.mod.Class.method`): the unit it names.
    fn absolute(&self, name: &str) -> Resolved {
        let mut split = name.len();
        // The longest prefix that is a module of the codebase.
        loop {
            let module = &name[..split];
            if self.modules.contains(module) {
                let rest = name.get(split + 1..).unwrap_or("");
                if rest.is_empty() {
                    return Resolved::Unknown; // calling a module
                }
                return match self.member(module, rest) {
                    Some(unit) => Resolved::Unit(unit),
                    None => Resolved::Unknown,
                };
            }
            match module.rfind('.') {
                Some(dot) => split = dot,
                None => return Resolved::External,
            }
        }
    }

    /// `Class`, `Class.method` or `function` in `module`, following the
    /// class hierarchy for methods.
    fn member(&self, module: &str, path: &str) -> Option<UnitRef> {
        let (head, method) = match path.split_once('.') {
            Some((class, method)) => (class, Some(method)),
            None => (path, None),
        };
        let (file, index) = self.unit(module, head)?;
        let unit = &file.units[index];
        match method {
            None => Some(UnitRef::new(module, unit.qualname.as_str())),
            Some(method) if unit.kind == UnitKind::Class && !method.contains('.') => self.method(file, index, method),
            Some(_) => None,
        }
    }

    /// What calling `unit` runs: `Class(...)` runs `Class.__init__` (the
    /// class's own or inherited), anything else runs itself.
    fn called(&self, unit: UnitRef) -> UnitRef {
        if let Some((file, index)) = self.unit(&unit.module, &unit.qualname)
            && file.units[index].kind == UnitKind::Class
            && let Some(init) = self.method(file, index, "__init__")
        {
            return init;
        }
        unit
    }

    /// Method `name` of the class at `index`, or of its bases in the
    /// codebase, breadth first (close to Python's MRO for simple hierarchies).
    fn method(&self, file: &FileRecord, index: usize, name: &str) -> Option<UnitRef> {
        let mut queue = VecDeque::from([(file, index)]);
        let mut seen = HashSet::new();
        while let Some((file, index)) = queue.pop_front() {
            let class = &file.units[index];
            if !seen.insert((file.module.as_str(), class.qualname.as_str())) {
                continue;
            }
            let qualname = format!("{}.{name}", class.qualname);
            if file.units.iter().any(|u| u.qualname.as_str() == qualname) {
                return Some(UnitRef::new(file.module.as_str(), qualname));
            }
            for base in &class.bases {
                if let Resolved::Unit(base) = self.name(file, class.parent, base)
                    && let Some((base_file, base_index)) = self.unit(&base.module, &base.qualname)
                    && base_file.units[base_index].kind == UnitKind::Class
                {
                    queue.push_back((base_file, base_index));
                }
            }
        }
        None
    }

    /// The unit a written name (`helper`, `mod.func`, `Class.method`)
    /// denotes in the scope of unit `scope` of `file`, resolved as Python
    /// would: enclosing function scopes (not class bodies), then module
    /// level, then imports.
    fn name(&self, file: &FileRecord, scope: Option<u32>, written: &str) -> Resolved {
        let (head, rest) = match written.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (written, None),
        };
        // Definitions visible from the scope.
        let mut current = scope;
        loop {
            let defined = file.units.iter().enumerate().find(|(_, u)| u.parent == current && u.name == head);
            if let Some((index, unit)) = defined {
                return match rest {
                    None => Resolved::Unit(UnitRef::new(file.module.as_str(), unit.qualname.as_str())),
                    Some(method) if unit.kind == UnitKind::Class && !method.contains('.') => {
                        self.method(file, index, method).map_or(Resolved::Unknown, Resolved::Unit)
                    }
                    Some(_) => Resolved::Unknown,
                };
            }
            // Import bindings in this scope.
            if let Some(binding) = file.bindings.iter().find(|b| b.scope == current && b.name == head) {
                let full = match rest {
                    Some(rest) => format!("{}.{rest}", binding.target),
                    None => binding.target.clone(),
                };
                return self.absolute(&full);
            }
            match current {
                None => return Resolved::Unknown,
                Some(u) => {
                    // Class bodies are not enclosing scopes of their methods.
                    let mut parent = file.units.get(u as usize).and_then(|x| x.parent);
                    while let Some(p) = parent {
                        if file.units.get(p as usize).is_some_and(|x| x.kind != UnitKind::Class) {
                            break;
                        }
                        parent = file.units.get(p as usize).and_then(|x| x.parent);
                    }
                    current = parent;
                }
            }
        }
    }

    /// The class a method (or a function nested in one) belongs to.
    fn enclosing_class(file: &FileRecord, unit: Option<u32>) -> Option<usize> {
        let mut current = unit;
        while let Some(u) = current {
            let x: &Unit = file.units.get(u as usize)?;
            if x.kind == UnitKind::Method {
                return x.parent.map(|p| p as usize);
            }
            current = x.parent;
        }
        None
    }

    fn call(&self, file: &FileRecord, unit: Option<u32>, callee: &str) -> Resolved {
        if callee.contains(['(', '[', ' ', '\n']) {
            return Resolved::Unknown;
        }
        if let Some(method) = callee.strip_prefix("self.").or_else(|| callee.strip_prefix("cls.")) {
            if method.contains('.') {
                return Resolved::Unknown;
            }
            return match Self::enclosing_class(file, unit).and_then(|class| self.method(file, class, method)) {
                Some(found) => Resolved::Unit(found),
                None => Resolved::Unknown,
            };
        }
        match self.name(file, unit, callee) {
            Resolved::Unit(found) => Resolved::Unit(self.called(found)),
            other => other,
        }
    }
}

fn caller(file: &FileRecord, unit: Option<u32>) -> UnitRef {
    let qualname = unit.and_then(|u| file.units.get(u as usize)).map_or("<module>", |u| u.qualname.as_str());
    UnitRef::new(file.module.as_str(), qualname)
}

impl CallGraph {
    /// Builds the call graph of `records` (the files of one codebase).
    pub fn build(records: &[FileRecord]) -> Self {
        let units = Units::new(records);
        let mut graph = Self::default();
        for file in records {
            for unit in &file.units {
                graph.node(UnitRef::new(file.module.as_str(), unit.qualname.as_str()));
            }
            for call in &file.calls {
                graph.stats.calls += 1;
                match units.call(file, call.unit, &call.callee) {
                    Resolved::Unit(callee) => {
                        graph.stats.resolved += 1;
                        let from = graph.node(caller(file, call.unit));
                        let to = graph.node(callee);
                        match graph.graph.find_edge(from, to) {
                            Some(edge) => graph.graph[edge].push(call.line),
                            None => {
                                graph.graph.add_edge(from, to, vec![call.line]);
                            }
                        }
                    }
                    Resolved::External => graph.stats.external += 1,
                    Resolved::Unknown => graph.stats.unresolved += 1,
                }
            }
        }
        graph
    }

    fn node(&mut self, unit: UnitRef) -> NodeIndex {
        if let Some(&index) = self.index.get(&unit) {
            return index;
        }
        let index = self.graph.add_node(unit.clone());
        self.index.insert(unit, index);
        index
    }

    /// How calls were resolved.
    pub fn stats(&self) -> CallStats {
        self.stats
    }

    /// What `unit` calls directly, with the lines of the calls, sorted.
    pub fn callees(&self, unit: &UnitRef) -> Vec<(&UnitRef, &[u32])> {
        self.neighbours(unit, Direction::Outgoing)
    }

    /// What calls `unit` directly, with the lines of the calls, sorted.
    pub fn callers(&self, unit: &UnitRef) -> Vec<(&UnitRef, &[u32])> {
        self.neighbours(unit, Direction::Incoming)
    }

    fn neighbours(&self, unit: &UnitRef, direction: Direction) -> Vec<(&UnitRef, &[u32])> {
        let Some(&index) = self.index.get(unit) else { return Vec::new() };
        let mut found: Vec<_> = self
            .graph
            .edges_directed(index, direction)
            .map(|e| {
                let other = if direction == Direction::Outgoing {
                    petgraph::visit::EdgeRef::target(&e)
                } else {
                    petgraph::visit::EdgeRef::source(&e)
                };
                (&self.graph[other], e.weight().as_slice())
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(b.0));
        found
    }

    /// Units reachable from `unit` through at most `depth` calls, with their
    /// distance, sorted by distance then name (the unit itself excluded).
    pub fn reachable(&self, unit: &UnitRef, depth: usize) -> Vec<(&UnitRef, usize)> {
        self.within(unit, depth, Direction::Outgoing)
    }

    /// Units that reach `unit` through at most `depth` calls (its callers,
    /// their callers, ...), with their distance, sorted (the unit excluded).
    pub fn reaching(&self, unit: &UnitRef, depth: usize) -> Vec<(&UnitRef, usize)> {
        self.within(unit, depth, Direction::Incoming)
    }

    /// Breadth-first search from `unit` along `direction`, up to `depth` edges.
    fn within(&self, unit: &UnitRef, depth: usize, direction: Direction) -> Vec<(&UnitRef, usize)> {
        let Some(&start) = self.index.get(unit) else { return Vec::new() };
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
            distance.into_iter().filter(|(n, _)| *n != start).map(|(n, d)| (&self.graph[n], d)).collect();
        found.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
        found
    }

    /// Number of edges (caller-callee pairs).
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }
}

impl ClassHierarchy {
    /// Builds the class hierarchy of `records`.
    pub fn build(records: &[FileRecord]) -> Self {
        let units = Units::new(records);
        let mut hierarchy = Self::default();
        for file in records {
            for unit in file.units.iter().filter(|u| u.kind == UnitKind::Class) {
                let class = UnitRef::new(file.module.as_str(), unit.qualname.as_str());
                let from = hierarchy.node(class.clone());
                for base in &unit.bases {
                    let base_class = match units.name(file, unit.parent, base.trim()) {
                        Resolved::Unit(base)
                            if units
                                .unit(&base.module, &base.qualname)
                                .is_some_and(|(f, i)| f.units[i].kind == UnitKind::Class) =>
                        {
                            Some(base)
                        }
                        _ => None,
                    };
                    match base_class {
                        Some(base) => {
                            let to = hierarchy.node(base);
                            hierarchy.graph.update_edge(from, to, ());
                        }
                        None => hierarchy.external.entry(class.clone()).or_default().push(base.clone()),
                    }
                }
            }
        }
        hierarchy
    }

    fn node(&mut self, unit: UnitRef) -> NodeIndex {
        if let Some(&index) = self.index.get(&unit) {
            return index;
        }
        let index = self.graph.add_node(unit.clone());
        self.index.insert(unit, index);
        index
    }

    /// The direct bases of `class` in the codebase, in no particular order but sorted.
    pub fn bases(&self, class: &UnitRef) -> Vec<&UnitRef> {
        self.related(class, Direction::Outgoing)
    }

    /// The direct subclasses of `class` in the codebase, sorted.
    pub fn subclasses(&self, class: &UnitRef) -> Vec<&UnitRef> {
        self.related(class, Direction::Incoming)
    }

    fn related(&self, class: &UnitRef, direction: Direction) -> Vec<&UnitRef> {
        let Some(&index) = self.index.get(class) else { return Vec::new() };
        let mut found: Vec<_> = self.graph.neighbors_directed(index, direction).map(|n| &self.graph[n]).collect();
        found.sort();
        found
    }

    /// Base classes that are not in the codebase (`models.Model`), as written.
    pub fn external_bases(&self, class: &UnitRef) -> &[String] {
        self.external.get(class).map_or(&[], Vec::as_slice)
    }

    /// Every class with its direct bases in the codebase.
    pub fn classes(&self) -> Vec<(&UnitRef, Vec<&UnitRef>)> {
        let mut classes: Vec<_> =
            self.graph.node_indices().map(|i| (&self.graph[i], self.bases(&self.graph[i]))).collect();
        classes.sort_by(|a, b| a.0.cmp(b.0));
        classes
    }
}
