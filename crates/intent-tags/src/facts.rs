//! What drift needs of one file, gathered on the parser's worker threads
//! from the record, the syntax tree and the classifier.

use std::collections::HashSet;

use pyatlas_classifier::{Classification, Classifier};
use pyatlas_parser::tree_sitter::Node;
use pyatlas_parser::{FileRecord, ParsedFile};
use serde::{Deserialize, Serialize};

use crate::tags::{FileTags, Vocabulary, read_tags};

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

/// What drift needs of one file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileFacts {
    /// The parser's record, without what drift does not use (comments,
    /// docstrings, parameters).
    pub record: FileRecord,
    /// Tags, tag diagnostics and suppressions.
    pub tags: FileTags,
    /// Domains of the module and its units.
    pub classification: Classification,
    /// Per unit (as in `record.units`): facts, for units that are tagged or
    /// concurrent.
    pub units: Vec<Option<UnitFacts>>,
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
    /// Gathers the facts of a parsed file.
    pub fn gather(parsed: &ParsedFile, classifier: &dyn Classifier, vocabulary: &Vocabulary) -> Self {
        let record = parsed.record();
        let tags = read_tags(record, parsed.text(), vocabulary);
        let classification = classifier.classify(record);
        let concurrent =
            |i: usize| classification.units.get(i).is_some_and(|d| d.iter().any(|d| d.domain == "concurrency"));
        let tagged: HashSet<u32> = tags.tags.iter().filter_map(|t| t.unit).collect();
        let module_names = parsed.tree().map(|t| module_level_names(t.root_node(), parsed.text())).unwrap_or_default();
        let units = (0..record.units.len())
            .map(|i| (concurrent(i) || tagged.contains(&(i as u32))).then(|| unit_facts(parsed, i, &module_names)))
            .collect();
        let mut record = record.clone();
        record.comments.clear();
        record.docstring = None;
        for unit in &mut record.units {
            unit.docstring = None;
            unit.parameters.clear();
        }
        Self { record, tags, classification, units }
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
    let bindings: Vec<(&str, &str)> =
        parsed.record().bindings.iter().map(|b| (b.name.as_str(), b.target.as_str())).collect();
    let resolve = |callee: &str| -> String {
        let (head, rest) = callee.split_once('.').map_or((callee, None), |(h, r)| (h, Some(r)));
        match bindings.iter().find(|(name, _)| *name == head) {
            Some((_, target)) => rest.map_or_else(|| (*target).to_owned(), |r| format!("{target}.{r}")),
            None => callee.to_owned(),
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
