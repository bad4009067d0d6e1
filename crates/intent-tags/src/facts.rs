//! What drift needs of one file, gathered on the parser's worker threads
//! from the record, the syntax tree and the classifier.

use std::collections::HashSet;

use pyatlas_classifier::{Classification, DomainScore};
use pyatlas_graph::{FileCalls, FileImports, InternalRoots};
use pyatlas_parser::tree_sitter::Node;
use pyatlas_parser::{ModuleName, NameRef, ParsedFile};
use serde::{Deserialize, Serialize};

use crate::config::IntentConfig;
use crate::tags::{FileTags, read_tags};

/// How a unit runs work concurrently, and what shared state it writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnitFacts {
    /// Calls that map one function over data: an executor's or pool's
    /// `map`, `gather` over a comprehension, joblib's `Parallel`.
    pub map_calls: Vec<(u32, String)>,
    /// Calls that start separate tasks: `submit`, `create_task`,
    /// `threading.Thread`, `gather` of distinct calls.
    pub task_calls: Vec<(u32, String)>,
    /// Writes to module-level state: `global` statements, assignments to
    /// items or attributes of module-level objects, mutating method calls.
    pub shared_writes: Vec<(u32, String)>,
    /// A lock is used in the unit (`with lock:`, `.acquire()`, `Lock()`).
    pub lock_in_sight: bool,
}

/// A file, as the rules place things in it (the units' names are in the
/// call graph, linked from [`FileFacts::calls`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileSummary {
    /// Path relative to the root.
    pub path: String,
    /// Dotted module name.
    pub module: ModuleName,
    /// Its units, as in the parser's record (same indices).
    pub units: Vec<UnitSummary>,
}

/// Where a unit is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnitSummary {
    /// Line of `def`/`class`.
    pub line: u32,
    /// Index of the enclosing unit.
    pub parent: Option<u32>,
}

/// The domains drift follows in a file: the module's (names), and, for the
/// units that have any, every domain with its evidence for tagged units,
/// the rules' domains ([`IntentConfig::domains`]) for the others. Sparse:
/// most units have none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileDomains {
    /// The module's domains.
    pub module: Vec<String>,
    /// `(unit index, domains)`, by unit index.
    pub units: Vec<(u32, Box<[KeptDomain]>)>,
}

/// A domain of a unit and the evidence for it, as drift reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeptDomain {
    /// The domain's name.
    pub domain: Box<str>,
    /// `(line, what matched)`, in source order.
    pub evidence: Box<[(u32, Box<str>)]>,
}

impl KeptDomain {
    fn of(score: &DomainScore) -> Self {
        Self {
            domain: score.domain.as_str().into(),
            evidence: score.evidence.iter().map(|e| (e.line, e.text.as_str().into())).collect(),
        }
    }
}

impl FileDomains {
    /// The kept domains of unit `unit`.
    pub fn of_unit(&self, unit: usize) -> &[KeptDomain] {
        let unit = unit as u32;
        self.units.binary_search_by_key(&unit, |(u, _)| *u).map_or(&[], |i| &self.units[i].1)
    }
}

/// What drift needs of one file, and nothing more: drift sees the whole
/// codebase at once, so this stays a fraction of the parser's record.
///
/// It serializes, so that a pipeline can keep it between processes;
/// deserializing checks that every unit index in it is one of its units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedFacts")]
#[non_exhaustive]
pub struct FileFacts {
    /// The file and where its units are.
    pub record: FileSummary,
    /// Tags, tag diagnostics and suppressions.
    pub tags: FileTags,
    /// The domains the rules follow.
    pub domains: FileDomains,
    /// `(unit index, facts)` for the units that are tagged or concurrent,
    /// by unit index.
    pub units: Vec<(u32, UnitFacts)>,
    /// What the call graph needs of the file (taken by [`CodebaseFactsBuilder::link`](crate::CodebaseFactsBuilder::link)).
    pub calls: FileCalls,
    /// What the import graph needs of the file (taken by [`CodebaseFactsBuilder::link`](crate::CodebaseFactsBuilder::link)).
    pub imports: FileImports,
}

/// A [`FileFacts`] as deserialized, before it is checked.
#[derive(Deserialize)]
struct UncheckedFacts {
    record: FileSummary,
    tags: FileTags,
    domains: FileDomains,
    units: Vec<(u32, UnitFacts)>,
    calls: FileCalls,
    imports: FileImports,
}

impl TryFrom<UncheckedFacts> for FileFacts {
    type Error = String;

    fn try_from(raw: UncheckedFacts) -> Result<Self, String> {
        let UncheckedFacts { record, tags, domains, units, calls, imports } = raw;
        let count = record.units.len();
        let unit = |u: u32| (u as usize) < count;
        // Units of their own, each once, in order.
        let ascending = |indices: &[u32]| indices.iter().all(|&u| unit(u)) && indices.is_sorted_by(|a, b| a < b);
        let consistent = calls.units() == count
            && record.units.iter().all(|u| u.parent.is_none_or(unit))
            && tags.tags.iter().all(|t| t.unit.is_none_or(unit))
            && tags.suppressions.iter().all(|s| s.unit.is_none_or(unit))
            && ascending(&domains.units.iter().map(|(u, _)| *u).collect::<Vec<_>>())
            && ascending(&units.iter().map(|(u, _)| *u).collect::<Vec<_>>());
        if !consistent {
            return Err(format!("the facts of {} name a unit it does not have", record.path));
        }
        Ok(Self { record, tags, domains, units, calls, imports })
    }
}

impl FileFacts {
    /// The facts of unit `unit`, if it is tagged or concurrent.
    pub fn unit_facts(&self, unit: usize) -> Option<&UnitFacts> {
        let unit = unit as u32;
        self.units.binary_search_by_key(&unit, |(u, _)| *u).ok().map(|i| &self.units[i].1)
    }
}

const MAP_METHODS: &[&str] = &["map", "imap", "imap_unordered", "starmap", "map_async", "starmap_async"];
const TASK_METHODS: &[&str] =
    &["submit", "create_task", "ensure_future", "start_soon", "apply_async", "spawn", "start_new_thread"];
const GATHERS: &[&str] = &["gather", "wait", "as_completed"];
const MUTATORS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "add",
    "discard",
    "update",
    "setdefault",
    "appendleft",
    "popleft",
];

impl FileFacts {
    /// Gathers the facts of a parsed file, given its classification (which
    /// the caller may also use for other things), the drift configuration
    /// and the top-level names of the codebase's modules.
    pub fn gather(
        parsed: &ParsedFile,
        classification: &Classification,
        config: &IntentConfig,
        roots: &InternalRoots,
    ) -> Self {
        let record = parsed.record();
        let tags = read_tags(record, parsed.text(), &config.vocabulary);
        let concurrency = config.domains.concurrency.as_str();
        let concurrent =
            |i: usize| classification.units.get(i).is_some_and(|d| d.iter().any(|d| d.domain == concurrency));
        let tagged: HashSet<u32> = tags.tags.iter().filter_map(|t| t.unit).collect();
        let module_names = parsed.tree().map(|t| module_level_names(t.root_node(), parsed.text())).unwrap_or_default();
        let units = (0..record.units.len())
            .filter(|&i| concurrent(i) || tagged.contains(&(i as u32)))
            .map(|i| (i as u32, unit_facts(parsed, i, &module_names)))
            .collect();
        let followed = |domain: &str| domain == concurrency || config.domains.io.iter().any(|d| d == domain);
        let domains = FileDomains {
            module: classification.module.iter().map(|d| d.domain.clone()).collect(),
            units: classification
                .units
                .iter()
                .enumerate()
                .filter_map(|(i, scores)| {
                    let all = tagged.contains(&(i as u32));
                    let kept: Box<[KeptDomain]> =
                        scores.iter().filter(|d| all || followed(&d.domain)).map(KeptDomain::of).collect();
                    (!kept.is_empty()).then_some((i as u32, kept))
                })
                .collect(),
        };
        let summary = FileSummary {
            path: record.path.clone(),
            module: record.module.clone(),
            units: record.units.iter().map(|u| UnitSummary { line: u.line, parent: u.parent }).collect(),
        };
        Self {
            record: summary,
            tags,
            domains,
            units,
            calls: FileCalls::extract(record, roots),
            imports: FileImports::of(record),
        }
    }
}

fn text_of<'a>(node: Node<'_>, text: &'a str) -> &'a str {
    text.get(node.byte_range()).unwrap_or_default()
}

/// Names assigned at module level (the targets of top-level assignments).
fn module_level_names(root: Node<'_>, text: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let Some(assignment) = statement.named_child(0).filter(|n| n.kind() == "assignment") else { continue };
        if let Some(left) = assignment.child_by_field_name("left")
            && left.kind() == "identifier"
        {
            names.insert(text_of(left, text).to_owned());
        }
    }
    names
}

/// The root name of an expression like `CACHE[key]`, `STATE.count` or `RESULTS`.
fn root_identifier<'a>(node: Node<'_>, text: &'a str) -> Option<&'a str> {
    let mut node = node;
    loop {
        match node.kind() {
            "identifier" => return Some(text_of(node, text)),
            "subscript" => node = node.child_by_field_name("value")?,
            "attribute" => node = node.child_by_field_name("object")?,
            _ => return None,
        }
    }
}

fn unit_facts(parsed: &ParsedFile, index: usize, module_names: &HashSet<String>) -> UnitFacts {
    let mut facts = UnitFacts::default();
    let (Some(tree), Some(unit)) = (parsed.tree(), parsed.record().units.get(index)) else { return facts };
    let text = parsed.text();
    let Some(node) = tree.root_node().descendant_for_byte_range(unit.bytes.start, unit.bytes.end) else { return facts };
    let names = parsed.record().names();
    // Through the imports visible from the unit; anything else as written.
    let resolve = |callee: &str| -> String {
        let (head, rest) = callee.split_once('.').map_or((callee, None), |(h, r)| (h, Some(r)));
        match names.lookup(head, Some(index as u32)) {
            Some(NameRef::Import(binding)) => {
                rest.map_or_else(|| binding.target.clone(), |r| format!("{}.{r}", binding.target))
            }
            _ => callee.to_owned(),
        }
    };

    // First pass: names the unit declares global, and names it binds locally.
    let mut globals: HashSet<String> = HashSet::new();
    let mut locals: HashSet<String> = unit.parameters.iter().map(|p| p.name.clone()).collect();
    walk(node, |n| match n.kind() {
        "global_statement" => {
            let mut cursor = n.walk();
            for name in n.named_children(&mut cursor).filter(|c| c.kind() == "identifier") {
                globals.insert(text_of(name, text).to_owned());
            }
        }
        "assignment" | "for_statement" | "with_item" | "as_pattern" => {
            let target = n.child_by_field_name("left").or_else(|| n.child_by_field_name("alias"));
            if let Some(target) = target.filter(|t| t.kind() == "identifier") {
                locals.insert(text_of(target, text).to_owned());
            }
        }
        _ => {}
    });
    let shared = |name: &str| globals.contains(name) || (module_names.contains(name) && !locals.contains(name));

    walk(node, |n| {
        let line = n.start_position().row as u32 + 1;
        match n.kind() {
            "global_statement" => facts.shared_writes.push((line, text_of(n, text).trim().to_owned())),
            "assignment" | "augmented_assignment" => {
                if let Some(left) = n.child_by_field_name("left") {
                    let is_item = matches!(left.kind(), "subscript" | "attribute");
                    let writes_global = left.kind() == "identifier" && globals.contains(text_of(left, text));
                    if (is_item && root_identifier(left, text).is_some_and(shared))
                        || (writes_global && n.kind() == "augmented_assignment")
                    {
                        facts.shared_writes.push((line, first_line(text_of(n, text))));
                    }
                }
            }
            "with_item" if text_of(n, text).to_lowercase().contains("lock") => facts.lock_in_sight = true,
            "call" => {
                let Some(function) = n.child_by_field_name("function") else { return };
                let callee: String = text_of(function, text).chars().filter(|c| !c.is_whitespace()).collect();
                let resolved = resolve(&callee);
                let last = resolved.rsplit('.').next().unwrap_or(&resolved);
                let arguments = n.child_by_field_name("arguments").map_or("", |a| text_of(a, text));
                // `gather(*(f(x) for x in xs))`, `wait([f(x) for x in xs])`.
                let comprehension = arguments.contains(" for ");
                if matches!(last, "acquire" | "Lock" | "RLock" | "Semaphore" | "BoundedSemaphore" | "Condition") {
                    facts.lock_in_sight = true;
                }
                if callee.contains("Parallel(") || (resolved.contains('.') && MAP_METHODS.contains(&last)) {
                    facts.map_calls.push((line, callee.clone()));
                } else if GATHERS.contains(&last) {
                    if comprehension {
                        facts.map_calls.push((line, callee.clone()));
                    } else {
                        facts.task_calls.push((line, callee.clone()));
                    }
                } else if TASK_METHODS.contains(&last)
                    || matches!(resolved.as_str(), "threading.Thread" | "multiprocessing.Process")
                {
                    facts.task_calls.push((line, callee.clone()));
                }
                if MUTATORS.contains(&last) && function.kind() == "attribute" {
                    let object = function.child_by_field_name("object");
                    if object.and_then(|o| root_identifier(o, text)).is_some_and(shared) {
                        facts.shared_writes.push((line, first_line(text_of(n, text))));
                    }
                }
            }
            _ => {}
        }
    });
    facts
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

/// Visits every node below `root` (itself included), iteratively.
fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == root {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}
