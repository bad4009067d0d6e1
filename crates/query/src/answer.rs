//! The steps both backends share once they have the rows a question needs.

use std::collections::{BTreeMap, BTreeSet};

use pyatlas_graph::{EdgeKind, Hop, ImportEdge, ImportGraph};
use pyatlas_store::{EdgeRow, FileRow, FindingRow, TagRow, UnitRow};

use pyatlas_store::FileEntry;

use crate::QueryError;
use crate::model::{
    DomainSummary, FileView, GraphModule, ModuleGraph, ProjectGraph, Symbol, UnitContext, UnitLink, UnitRef,
};

/// Deepest neighbourhood a module graph question may ask.
pub(crate) const MAX_DEPTH: usize = 5;
/// Deepest package level modules may be squashed to.
pub(crate) const MAX_SQUASH: usize = 32;
/// Most symbols one question returns.
pub(crate) const MAX_SYMBOLS: usize = 200;

pub(crate) fn entry(file: &FileRow) -> FileEntry {
    FileEntry {
        path: file.path.clone(),
        module: file.module.clone(),
        lines: file.lines,
        content_hash: file.content_hash.clone(),
    }
}

pub(crate) fn symbol(unit: &UnitRow, module: &str) -> Symbol {
    Symbol {
        id: UnitRef { module: module.to_owned(), qualname: unit.qualname.clone() },
        path: unit.path.clone(),
        name: unit.name.clone(),
        kind: unit.kind,
        line: unit.line,
        start_line: unit.start_line,
        end_line: unit.end_line,
        signature: unit.signature.clone(),
        doc: unit.doc.clone(),
    }
}

/// A file's view from its rows (in any order).
pub(crate) fn file_view(
    file: FileEntry,
    source: String,
    units: &[UnitRow],
    domains: impl IntoIterator<Item = String>,
    mut tags: Vec<TagRow>,
    mut findings: Vec<FindingRow>,
) -> FileView {
    let mut units: Vec<Symbol> = units.iter().map(|u| symbol(u, &file.module)).collect();
    units.sort_by(|a, b| (a.start_line, a.line, &a.id).cmp(&(b.start_line, b.line, &b.id)));
    sort_tags(&mut tags);
    sort_findings(&mut findings);
    FileView {
        file,
        source,
        units,
        domains: domains.into_iter().collect::<BTreeSet<_>>().into_iter().collect(),
        tags,
        findings,
    }
}

pub(crate) fn sort_tags(tags: &mut [TagRow]) {
    tags.sort_by(|a, b| (&a.path, a.line, &a.key, &a.value).cmp(&(&b.path, b.line, &b.key, &b.value)));
}

pub(crate) fn sort_findings(findings: &mut [FindingRow]) {
    findings.sort_by(|a, b| (&a.path, a.line, &a.fingerprint).cmp(&(&b.path, b.line, &b.fingerprint)));
}

/// How well a unit matches a symbol query (lower is better), or `None`:
/// 0 its name exactly, 1 its qualname exactly, 2 a prefix of its name, 3 a
/// prefix of its qualname, 4 a part of its name, 5 the query's letters in
/// order in its name. Case-insensitive: `query`, `name` and `qualname`
/// come lower-cased.
pub(crate) fn symbol_rank(query: &str, name: &str, qualname: &str) -> Option<u8> {
    if name == query {
        Some(0)
    } else if qualname == query {
        Some(1)
    } else if name.starts_with(query) {
        Some(2)
    } else if qualname.starts_with(query) {
        Some(3)
    } else if name.contains(query) {
        Some(4)
    } else {
        let mut letters = name.chars();
        query.chars().all(|q| letters.any(|c| c == q)).then_some(5)
    }
}

/// The characters of `text` as a set: a bit for each of `a` to `z`, `0` to
/// `9` and `_`, and one for every other character. A lower-cased name
/// can match a query by [`symbol_rank`] other than through its qualname
/// (ranks 0, 2, 4 and 5) only if its set holds the query's.
pub(crate) fn letters(text: &str) -> u64 {
    text.chars().fold(0, |set, c| {
        let bit = match c {
            'a'..='z' => u32::from(c) - u32::from('a'),
            '0'..='9' => 26 + u32::from(c) - u32::from('0'),
            '_' => 36,
            _ => 37,
        };
        set | 1 << bit
    })
}

/// Whether [`symbol_rank`] may match (`false` only where it does not):
/// the query's letters are all in the name, or the qualname starts with
/// the query. `query` and `qualname` come lower-cased, with the letters of
/// the query and of the name.
pub(crate) fn may_match(query: &str, query_letters: u64, name_letters: u64, qualname: &str) -> bool {
    query_letters & !name_letters == 0 || qualname.starts_with(query)
}

/// A unit that a symbol query may match: the unit and its module, its
/// name and qualname lower-cased, and its place among the units in the
/// order of their path, line and qualname ([`places`]).
pub(crate) struct SymbolCandidate<'a> {
    pub(crate) unit: &'a UnitRow,
    pub(crate) module: &'a str,
    pub(crate) name: &'a str,
    pub(crate) qualname: &'a str,
    pub(crate) place: u32,
}

/// Each unit's place in the order of path, line and qualname (units that
/// tie keep their order): the last key of [`best_symbols`]' order, as one
/// number to compare.
pub(crate) fn places<'a>(units: impl Iterator<Item = &'a UnitRow>) -> Vec<u32> {
    let units: Vec<&UnitRow> = units.collect();
    places_by(&units, |a, b| (&a.path, a.line, &a.qualname).cmp(&(&b.path, b.line, &b.qualname)))
}

/// Each item's place when `items` are sorted by `order` (items that tie
/// keep their order): a key that orders them as `order` does, as a number.
pub(crate) fn places_by<T>(items: &[T], order: impl FnMut(&T, &T) -> std::cmp::Ordering) -> Vec<u32> {
    let sorted = sorted_by(items, order);
    let mut places = vec![0; sorted.len()];
    for (place, i) in (0..).zip(sorted) {
        places[i as usize] = place;
    }
    places
}

/// The indexes of `items` in the order `order` sorts them (items that tie
/// keep their order).
pub(crate) fn sorted_by<T>(items: &[T], mut order: impl FnMut(&T, &T) -> std::cmp::Ordering) -> Vec<u32> {
    let mut sorted: Vec<u32> = (0..u32::try_from(items.len()).unwrap_or(u32::MAX)).collect();
    sorted.sort_by(|&a, &b| order(&items[a as usize], &items[b as usize]));
    sorted
}

/// The `limit` best symbols of `candidates` for `query`: by rank, then
/// shorter names, then place.
pub(crate) fn best_symbols<'a>(
    query: &str,
    candidates: impl Iterator<Item = SymbolCandidate<'a>>,
    limit: usize,
) -> Vec<Symbol> {
    let query = query.to_lowercase();
    let ranked = candidates.filter_map(|c| {
        let rank = symbol_rank(&query, c.name, c.qualname)?;
        Some(((rank, c.unit.name.len(), c.place), c.unit, c.module))
    });
    let order = |a: &((u8, usize, u32), &UnitRow, &str), b: &((u8, usize, u32), &UnitRow, &str)| a.0.cmp(&b.0);
    best(ranked, limit.min(MAX_SYMBOLS), order).into_iter().map(|(_, unit, module)| symbol(unit, module)).collect()
}

/// The first `k` of `items` in the total order `order`, in that order: what
/// sorting them all and taking `k` gives, in linear time for a small `k`
/// (the items are kept in batches of `2k`, cut back to the best `k` when
/// full, and an item worse than the `k`-th of the last cut is dropped).
pub(crate) fn best<T>(
    items: impl IntoIterator<Item = T>,
    k: usize,
    mut order: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    if k == 0 {
        return Vec::new();
    }
    let batch = k.saturating_mul(2).max(64);
    let mut kept: Vec<T> = Vec::new();
    let mut cut = false;
    for item in items {
        if cut && order(&item, &kept[k - 1]).is_ge() {
            continue;
        }
        kept.push(item);
        if kept.len() >= batch {
            kept.select_nth_unstable_by(k - 1, &mut order);
            kept.truncate(k);
            cut = true;
        }
    }
    if kept.len() > k {
        kept.select_nth_unstable_by(k - 1, &mut order);
        kept.truncate(k);
    }
    kept.sort_by(order);
    kept
}

/// A `LIKE` pattern for [`symbol_rank`]'s weakest match (the query's
/// letters in order), which every match satisfies on the name or the
/// qualname: the store's candidate filter.
pub(crate) fn subsequence_pattern(query: &str) -> String {
    let mut pattern = String::from("%");
    for c in query.to_lowercase().chars() {
        push_literal(&mut pattern, c);
        pattern.push('%');
    }
    pattern
}

/// A `LIKE` pattern for the lower-cased texts that start with `query`
/// (ranks 0 to 3 of [`symbol_rank`]).
pub(crate) fn prefix_pattern(query: &str) -> String {
    let mut pattern = String::new();
    query.to_lowercase().chars().for_each(|c| push_literal(&mut pattern, c));
    pattern.push('%');
    pattern
}

/// Pushes `c` onto a `LIKE` pattern as itself (escaped with `\`).
fn push_literal(pattern: &mut String, c: char) {
    if matches!(c, '%' | '_' | '\\') {
        pattern.push('\\');
    }
    pattern.push(c);
}

/// The lines `start..=end` (1-based) of `source`.
pub(crate) fn lines_of(source: &str, start: u32, end: u32) -> String {
    let skip = start.saturating_sub(1) as usize;
    let take = (end.saturating_add(1).saturating_sub(start.max(1))) as usize;
    let mut out: String = source.split_inclusive('\n').skip(skip).take(take).collect();
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// A unit's context from its symbol, its file's source and the edges that
/// touch it or its module (calls and inheritance to or from the unit,
/// imports from its module), in any order.
pub(crate) fn unit_context(symbol: Symbol, source: &str, edges: &[EdgeRow]) -> UnitContext {
    let id = symbol.id.to_string();
    let link = |unit: &str, e: &EdgeRow| UnitLink { unit: unit.to_owned(), lines: e.lines.clone() };
    let (mut callers, mut callees, mut bases, mut subclasses, mut imports) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // A recursive unit is its own caller and callee.
    for e in edges {
        match e.kind {
            EdgeKind::Call => {
                if e.target == id {
                    callers.push(link(&e.source, e));
                }
                if e.source == id {
                    callees.push(link(&e.target, e));
                }
            }
            EdgeKind::Inherits => {
                if e.source == id {
                    bases.push(e.target.clone());
                }
                if e.target == id {
                    subclasses.push(e.source.clone());
                }
            }
            EdgeKind::Import if e.source == symbol.id.module => {
                imports.push(Hop::new(e.source.clone(), e.target.clone(), e.lines.clone()));
            }
            _ => {}
        }
    }
    callers.sort_by(|a, b| a.unit.cmp(&b.unit));
    callees.sort_by(|a, b| a.unit.cmp(&b.unit));
    bases.sort();
    subclasses.sort();
    imports.sort_by(|a, b| a.imported.cmp(&b.imported));
    let source = lines_of(source, symbol.start_line, symbol.end_line);
    UnitContext { symbol, source, callers, callees, bases, subclasses, imports }
}

/// The import graph of a run, from its files and import edges.
pub(crate) fn import_graph<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
    imports: impl IntoIterator<Item = &'a EdgeRow>,
) -> ImportGraph {
    ImportGraph::from_parts(
        files.into_iter().map(|(module, path)| (module, Some(path), path.ends_with("__init__.py"))),
        imports.into_iter().filter(|e| e.kind == EdgeKind::Import).map(|e| {
            (e.source.as_str(), e.target.as_str(), ImportEdge::new(e.lines.clone(), e.type_checking, e.function_level))
        }),
    )
}

pub(crate) fn module_graph(
    graph: &ImportGraph,
    module: &str,
    depth: usize,
    squash: Option<usize>,
) -> Result<ModuleGraph, QueryError> {
    if depth > MAX_DEPTH {
        return Err(QueryError::bad(format!("depth must be at most {MAX_DEPTH}")));
    }
    let squashed = squashed(graph, squash)?;
    // An internal module stands for its package, squashed.
    let module = match squash {
        Some(level) if is_internal(graph, module) => module.split('.').take(level).collect::<Vec<_>>().join("."),
        _ => module.to_owned(),
    };
    let graph = squashed.as_ref().unwrap_or(graph);
    let (modules, imports) =
        graph.neighbourhood(&module, depth).ok_or_else(|| QueryError::not_found(format!("module {module}")))?;
    Ok(ModuleGraph { module, depth, squash, modules, imports })
}

/// The internal modules of `graph` (squashed to `squash`), ranked, and the
/// imports among them.
pub(crate) fn project_graph(graph: &ImportGraph, squash: Option<usize>) -> Result<ProjectGraph, QueryError> {
    let squashed = squashed(graph, squash)?;
    let graph = squashed.as_ref().unwrap_or(graph);
    let modules = graph
        .page_rank()
        .into_iter()
        .filter_map(|(name, rank)| {
            let module = graph.module(name).filter(|m| m.kind == pyatlas_graph::ModuleKind::Internal)?;
            Some(GraphModule { name: name.to_owned(), path: module.path.clone(), is_package: module.is_package, rank })
        })
        .collect();
    let mut imports: Vec<Hop> = graph
        .edges()
        .filter(|(a, b, _)| a != b && is_internal(graph, a) && is_internal(graph, b))
        .map(|(a, b, edge)| Hop::new(a.to_owned(), b.to_owned(), edge.lines.clone()))
        .collect();
    imports.sort_by(|x, y| (&x.importer, &x.imported).cmp(&(&y.importer, &y.imported)));
    Ok(ProjectGraph { squash, modules, imports })
}

/// `graph` squashed to the package depth `squash` (checked), or `None` to
/// ask the graph as it is.
fn squashed(graph: &ImportGraph, squash: Option<usize>) -> Result<Option<ImportGraph>, QueryError> {
    if squash.is_some_and(|s| !(1..=MAX_SQUASH).contains(&s)) {
        return Err(QueryError::bad(format!("squash must be 1 to {MAX_SQUASH}")));
    }
    Ok(squash.map(|level| graph.squash(level)))
}

fn is_internal(graph: &ImportGraph, module: &str) -> bool {
    graph.module(module).is_some_and(|m| m.kind == pyatlas_graph::ModuleKind::Internal)
}

/// A shortest chain of imports from module `from` to module `to`.
pub(crate) fn chain(graph: &ImportGraph, from: &str, to: &str) -> Result<Option<Vec<Hop>>, QueryError> {
    for module in [from, to] {
        if graph.module(module).is_none() {
            return Err(QueryError::not_found(format!("module {module}")));
        }
    }
    Ok(graph.shortest_chain_between_modules(from, to, pyatlas_graph::Walk::all()))
}

/// Chunks and files per domain, from each chunk's path and domains.
pub(crate) fn domain_summaries<'a>(chunks: impl Iterator<Item = (&'a str, &'a [String])>) -> Vec<DomainSummary> {
    let mut by_domain: BTreeMap<&str, (u64, BTreeSet<&str>)> = BTreeMap::new();
    for (path, domains) in chunks {
        for domain in domains {
            let entry = by_domain.entry(domain).or_default();
            entry.0 += 1;
            entry.1.insert(path);
        }
    }
    by_domain
        .into_iter()
        .map(|(domain, (chunks, files))| DomainSummary { domain: domain.to_owned(), chunks, files: files.len() as u64 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, qualname: &str) -> UnitRow {
        UnitRow {
            path: "m.py".into(),
            qualname: qualname.into(),
            name: name.into(),
            kind: pyatlas_parser::UnitKind::Function,
            line: 1,
            start_line: 1,
            end_line: 2,
            signature: format!("def {name}()"),
            doc: None,
        }
    }

    #[test]
    fn best_is_the_first_k_of_a_sort() {
        // Pairs with many ties in the first field, ordered by both.
        let items: Vec<(u32, u32)> = (0..1_000u32).map(|i| ((i * 7_919) % 37, (i * 104_729) % 1_009)).collect();
        let order = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        let mut sorted = items.clone();
        sorted.sort_by(order);
        for k in [0, 1, 5, 31, 32, 33, 64, 100, 999, 1_000, 5_000] {
            let first: Vec<_> = sorted.iter().copied().take(k).collect();
            assert_eq!(best(items.iter().copied(), k, order), first, "k = {k}");
        }
    }

    #[test]
    fn symbols_rank_exact_then_prefix_then_part_then_letters() {
        let units = [
            unit("load_config", "load_config"),
            unit("load", "Loader.load"),
            unit("reload", "reload"),
            unit("lxoxaxd", "lxoxaxd"),
            unit("other", "other"),
        ];
        let lowered: Vec<(String, String)> =
            units.iter().map(|u| (u.name.to_lowercase(), u.qualname.to_lowercase())).collect();
        let places = places(units.iter());
        let candidates = units
            .iter()
            .zip(&lowered)
            .zip(&places)
            .map(|((unit, (name, qualname)), &place)| SymbolCandidate { unit, module: "m", name, qualname, place });
        let found = best_symbols("load", candidates, 10);
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["load", "load_config", "reload", "lxoxaxd"]);
        assert_eq!(found[0].id.to_string(), "m:Loader.load");
        // The letters filter lets every match through.
        for query in ["load", "lod", "l_c", "loader.l", "ld", "x", "lxoxaxd", "é", "ol"] {
            for (n, q) in &lowered {
                if symbol_rank(query, n, q).is_some() {
                    assert!(may_match(query, letters(query), letters(n), q), "{query:?} matches {q:?}");
                }
            }
        }
        assert!(!may_match("lod", letters("lod"), letters("other"), "other"));
        assert_eq!(letters("a_z9é"), 1 | 1 << 25 | 1 << 35 | 1 << 36 | 1 << 37);
        let pattern = subsequence_pattern("a_b%");
        assert_eq!(pattern, "%a%\\_%b%\\%%");
        assert_eq!(prefix_pattern("Get_A%"), "get\\_a\\%%");
    }

    #[test]
    fn lines_are_cut_inclusively() {
        let text = "a\nb\nc\nd\n";
        assert_eq!(lines_of(text, 2, 3), "b\nc");
        assert_eq!(lines_of(text, 4, 9), "d");
        assert_eq!(lines_of(text, 0, 1), "a");
    }
}
