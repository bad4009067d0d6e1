//! A map of a codebase that fits a token budget, for a coding agent's
//! context, after aider's repo map: units ranked by PageRank over the call
//! graph, the class hierarchy and the import graph, personalised on a
//! focus (its files, and the definitions they mention by name); rendered as their signatures and first docstring lines, grouped
//! by file and elided with `⋮`; as many units as fit the budget, found by
//! binary search.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use pyatlas_chunker::TokenCounter;
use pyatlas_graph::EdgeKind;
use pyatlas_store::{EdgeRow, UnitRow};
use serde::{Deserialize, Serialize};

use crate::QueryError;

/// The budget of a map when none is asked for, in tokens.
pub const DEFAULT_MAP_TOKENS: usize = 4_000;
/// The largest budget a map may be asked for.
pub const MAX_MAP_TOKENS: usize = 20_000;
/// The most focus items a map may be asked for.
pub const MAX_FOCUS: usize = 100;

const DAMPING: f64 = 0.85;
const ITERATIONS: usize = 100;

/// What map to draw.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MapRequest {
    /// The budget, in the chunker's tokens (`cl100k_base`; default 4,000,
    /// at most 20,000).
    pub max_tokens: Option<usize>,
    /// Paths (files or folders, relative to the root) and units
    /// (`module:qualname`, `module.qualname` or a qualname) the map is
    /// about: the ranking is personalised on them and on the top-level
    /// definitions their files mention by name, and the files named are
    /// left out of the map (the agent has them already).
    pub focus: Vec<String>,
}

impl MapRequest {
    /// A map within `max_tokens`, about `focus`.
    pub fn new(max_tokens: Option<usize>, focus: Vec<String>) -> Self {
        Self { max_tokens, focus }
    }
}

/// A map of the codebase.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RepoMap {
    /// The map: per file, its path, then its units' signatures and first
    /// docstring lines, indented as nested, `⋮` where lines are left out.
    pub text: String,
    /// Its size in tokens (`cl100k_base`), within the budget.
    pub tokens: usize,
    /// The budget it was drawn for.
    pub max_tokens: usize,
    /// Units shown.
    pub shown: usize,
    /// Units that could have been shown (all but the focus files').
    pub units: usize,
}

/// Checks a request: its budget, and its focus.
pub(crate) fn budget(request: &MapRequest) -> Result<usize, QueryError> {
    let max_tokens = request.max_tokens.unwrap_or(DEFAULT_MAP_TOKENS);
    if !(1..=MAX_MAP_TOKENS).contains(&max_tokens) {
        return Err(QueryError::bad(format!("max_tokens must be from 1 to {MAX_MAP_TOKENS}")));
    }
    if request.focus.len() > MAX_FOCUS || request.focus.iter().any(String::is_empty) {
        return Err(QueryError::bad(format!("focus takes at most {MAX_FOCUS} paths or names, none empty")));
    }
    Ok(max_tokens)
}

/// The files (paths) a focus names: as a file, a folder or a module.
pub(crate) fn focus_files<'a>(files: &[(&'a str, &'a str)], focus: &[String]) -> Vec<&'a str> {
    files
        .iter()
        .filter(|(path, module)| {
            focus.iter().any(|item| {
                let folder = item.trim_end_matches('/');
                item == module || *path == folder || path.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/'))
            })
        })
        .map(|(path, _)| *path)
        .collect()
}

/// Draws the map of a run from its files (path, module), units and edges;
/// `focus_text` is the source of the focus files ([`focus_files`]).
pub(crate) fn draw(
    files: &[(&str, &str)],
    units: &[UnitRow],
    edges: &[EdgeRow],
    request: &MapRequest,
    focus_text: &[&str],
    counter: &dyn TokenCounter,
) -> Result<RepoMap, QueryError> {
    let max_tokens = budget(request)?;
    let module_of: HashMap<&str, &str> = files.iter().copied().collect();
    let mut units: Vec<&UnitRow> = units.iter().filter(|u| module_of.contains_key(u.path.as_str())).collect();
    units.sort_by(|a, b| (&a.path, a.line, &a.qualname).cmp(&(&b.path, b.line, &b.qualname)));

    // Nodes: modules first, then units.
    let mut modules: Vec<&str> = module_of.values().copied().collect();
    modules.sort_unstable();
    modules.dedup();
    let module_index: HashMap<&str, usize> = modules.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut node: HashMap<String, usize> = HashMap::with_capacity(units.len());
    for (i, unit) in units.iter().enumerate() {
        node.entry(format!("{}:{}", module_of[unit.path.as_str()], unit.qualname)).or_insert(modules.len() + i);
    }
    // A call from a module's top level starts at the module.
    let find = |name: &str| -> Option<usize> {
        node.get(name).copied().or_else(|| module_index.get(name.split(':').next()?).copied())
    };
    let mut graph = Graph::new(modules.len() + units.len());
    for (i, unit) in units.iter().enumerate() {
        // A module holds its units: what reaches a module reaches them.
        graph.add(module_index[module_of[unit.path.as_str()]], modules.len() + i, 1.0);
    }
    for edge in edges {
        let (from, to, weight) = match edge.kind {
            EdgeKind::Import => {
                (module_index.get(edge.source.as_str()).copied(), module_index.get(edge.target.as_str()).copied(), 1.0)
            }
            // Every call site counts, with diminishing returns.
            EdgeKind::Call => (find(&edge.source), find(&edge.target), (edge.lines.len().max(1) as f64).sqrt()),
            _ => (find(&edge.source), find(&edge.target), 1.0),
        };
        if let (Some(from), Some(to)) = (from, to)
            && from != to
        {
            graph.add(from, to, weight);
        }
    }

    // The focus: the nodes the walk restarts from, and the files left out.
    let mut restart = Vec::new();
    let mut left_out = vec![false; units.len()];
    let path_of: HashMap<&str, &str> = module_of.iter().map(|(path, module)| (*module, *path)).collect();
    for item in &request.focus {
        let before = restart.len();
        // A file, a folder, or a module (its file).
        let folder = path_of.get(item.as_str()).copied().unwrap_or(item.trim_end_matches('/'));
        for (i, unit) in units.iter().enumerate() {
            let path = unit.path.as_str();
            if path == folder || path.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/')) {
                left_out[i] = true;
                restart.push(modules.len() + i);
            }
        }
        if let Some(&module) = module_index.get(item.as_str()) {
            restart.push(module);
        }
        let named = |unit: &UnitRow| {
            let module = module_of[unit.path.as_str()];
            unit.qualname == *item
                || item.strip_prefix(module).and_then(|rest| rest.strip_prefix([':', '.'])) == Some(&unit.qualname)
        };
        restart.extend(units.iter().enumerate().filter(|(_, u)| named(u)).map(|(i, _)| modules.len() + i));
        if restart.len() == before {
            return Err(QueryError::not_found(format!("focus {item:?}: no file, folder, module or unit of that name")));
        }
    }
    // What the focus files mention by name, as aider's map follows a chat
    // file's identifiers: top-level definitions elsewhere called so.
    let mentioned: std::collections::HashSet<&str> = focus_text
        .iter()
        .flat_map(|text| text.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|word| word.len() > 2 && !word.starts_with("__"))
        .collect();
    for (i, unit) in units.iter().enumerate() {
        if !left_out[i] && !unit.qualname.contains('.') && mentioned.contains(unit.name.as_str()) {
            restart.push(modules.len() + i);
        }
    }
    let rank = graph.page_rank(&restart);

    let mut order: Vec<usize> = (0..units.len()).filter(|&i| !left_out[i]).collect();
    order.sort_by(|&a, &b| {
        rank[modules.len() + b]
            .total_cmp(&rank[modules.len() + a])
            .then_with(|| (&units[a].path, units[a].line).cmp(&(&units[b].path, units[b].line)))
    });
    let render = |n: usize| render(&units, &order[..n]);
    // The most units whose map fits: the map grows with every unit.
    let (mut low, mut high) = (0, order.len());
    while low < high {
        let mid = (low + high).div_ceil(2);
        if counter.count(&render(mid)) <= max_tokens {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let text = render(low);
    Ok(RepoMap { tokens: counter.count(&text), text, max_tokens, shown: low, units: order.len() })
}

/// The map of the units `shown` (indices into `units`, sorted by path and
/// line), each under the classes that hold it, as aider shows a method
/// under its class.
fn render(units: &[&UnitRow], shown: &[usize]) -> String {
    let mut by_file: BTreeMap<&str, BTreeMap<usize, bool>> = BTreeMap::new();
    for &i in shown {
        by_file.entry(units[i].path.as_str()).or_default().insert(i, true);
    }
    let mut out = String::new();
    for (path, mut picked) in by_file {
        // The enclosing units, as context (without their docstrings).
        let named: HashMap<&str, usize> =
            units.iter().enumerate().filter(|(_, u)| u.path == path).map(|(i, u)| (u.qualname.as_str(), i)).collect();
        for i in picked.keys().copied().collect::<Vec<_>>() {
            let mut qualname = units[i].qualname.as_str();
            while let Some((parent, _)) = qualname.rsplit_once('.') {
                if let Some(&p) = named.get(parent) {
                    picked.entry(p).or_insert(false);
                }
                qualname = parent;
            }
        }
        let _ = writeln!(out, "{path}:");
        let mut previous: Option<&UnitRow> = None;
        for (i, with_doc) in picked {
            let unit = units[i];
            // Elided unless it follows its own parent directly.
            let child_of_previous =
                previous.is_some_and(|p| unit.qualname.strip_prefix(&p.qualname).is_some_and(|r| r.starts_with('.')));
            if !child_of_previous {
                out.push_str("⋮\n");
            }
            let indent = "    ".repeat(unit.qualname.matches('.').count());
            let _ = writeln!(out, "│{indent}{}:", unit.signature);
            if let (true, Some(doc)) = (with_doc, &unit.doc) {
                let _ = writeln!(out, "│{indent}    \"\"\"{doc}\"\"\"");
            }
            previous = Some(unit);
        }
        out.push_str("⋮\n");
    }
    out
}

/// A weighted directed graph for PageRank.
struct Graph {
    out: Vec<Vec<(usize, f64)>>,
}

impl Graph {
    fn new(nodes: usize) -> Self {
        Self { out: vec![Vec::new(); nodes] }
    }

    fn add(&mut self, from: usize, to: usize, weight: f64) {
        self.out[from].push((to, weight));
    }

    /// PageRank whose walk restarts at `restart` (every node when empty);
    /// a node without edges out hands its rank to the restart too.
    fn page_rank(&self, restart: &[usize]) -> Vec<f64> {
        let n = self.out.len();
        if n == 0 {
            return Vec::new();
        }
        let mut start = vec![0.0; n];
        if restart.is_empty() {
            start.fill(1.0 / n as f64);
        } else {
            for &r in restart {
                start[r] += 1.0 / restart.len() as f64;
            }
        }
        let totals: Vec<f64> = self.out.iter().map(|edges| edges.iter().map(|e| e.1).sum()).collect();
        let mut rank = start.clone();
        for _ in 0..ITERATIONS {
            let mut next: Vec<f64> = start.iter().map(|s| (1.0 - DAMPING) * s).collect();
            let mut dangling = 0.0;
            for (from, edges) in self.out.iter().enumerate() {
                if totals[from] > 0.0 {
                    for &(to, weight) in edges {
                        next[to] += DAMPING * rank[from] * weight / totals[from];
                    }
                } else {
                    dangling += DAMPING * rank[from];
                }
            }
            for (value, s) in next.iter_mut().zip(&start) {
                *value += dangling * s;
            }
            let change: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
            rank = next;
            if change < 1e-12 {
                break;
            }
        }
        rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rank_follows_the_edges_and_the_restart() {
        let mut graph = Graph::new(3);
        graph.add(0, 1, 1.0);
        graph.add(2, 1, 1.0);
        let rank = graph.page_rank(&[]);
        assert!((rank.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{rank:?}");
        assert!(rank[1] > rank[0] && rank[1] > rank[2], "{rank:?}");
        let focused = graph.page_rank(&[0]);
        assert!(focused[0] > focused[2] && focused[2] < 1e-9, "{focused:?}");
    }
}
