//! Queries on the import graph: cycles, closures, chains, orphans, degrees,
//! centrality and squashing (the grimp and import-linter feature set).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use crate::imports::{ImportEdge, ImportGraph, ModuleKind, ModuleNode};

/// A strongly connected component of more than one module, and one of its
/// shortest cycles as an example.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cycle {
    /// Every module of the component, sorted.
    pub modules: Vec<String>,
    /// A shortest cycle through the component's first module:
    /// `a -> b -> ... -> a`, the first module repeated at the end.
    pub example: Vec<String>,
}

/// One import in a chain: `importer` imports `imported` at `lines`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hop {
    /// The importing module.
    pub importer: String,
    /// The imported module.
    pub imported: String,
    /// Lines of the imports.
    pub lines: Vec<u32>,
}

impl Hop {
    /// `importer` imports `imported` at `lines`.
    pub fn new(importer: String, imported: String, lines: Vec<u32>) -> Self {
        Self { importer, imported, lines }
    }
}

/// How to walk the graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Walk {
    /// Do not follow imports made only under `if TYPE_CHECKING:`.
    pub skip_type_checking: bool,
}

impl Walk {
    /// Follow every import.
    pub fn all() -> Self {
        Self::default()
    }

    /// Do not follow imports made only under `if TYPE_CHECKING:`.
    pub fn without_type_checking() -> Self {
        Self { skip_type_checking: true }
    }
}

impl ImportGraph {
    /// The nodes a name selects: the module itself and, for a package, every
    /// module below it.
    pub fn select(&self, name: &str) -> Vec<NodeIndex> {
        let prefix = format!("{name}.");
        self.graph
            .node_indices()
            .filter(|&i| {
                let n = &self.graph[i].name;
                n == name || n.starts_with(&prefix)
            })
            .collect()
    }

    fn follows(&self, edge: &ImportEdge, walk: Walk) -> bool {
        !(walk.skip_type_checking && edge.type_checking)
    }

    /// Breadth-first search from `sources` in `direction`; returns each
    /// reached node's predecessor on a shortest path (sources map to themselves).
    fn bfs(&self, sources: &[NodeIndex], direction: Direction, walk: Walk) -> HashMap<NodeIndex, NodeIndex> {
        let mut previous: HashMap<NodeIndex, NodeIndex> = sources.iter().map(|&s| (s, s)).collect();
        let mut queue: VecDeque<NodeIndex> = sources.iter().copied().collect();
        while let Some(node) = queue.pop_front() {
            for edge in self.graph.edges_directed(node, direction) {
                if !self.follows(edge.weight(), walk) {
                    continue;
                }
                let next = if direction == Direction::Outgoing { edge.target() } else { edge.source() };
                if let std::collections::hash_map::Entry::Vacant(slot) = previous.entry(next) {
                    slot.insert(node);
                    queue.push_back(next);
                }
            }
        }
        previous
    }

    fn names(&self, nodes: impl IntoIterator<Item = NodeIndex>) -> BTreeSet<String> {
        nodes.into_iter().map(|i| self.graph[i].name.clone()).collect()
    }

    /// What `name` (a module, or a package and its modules) imports,
    /// directly or not: grimp's upstream modules.
    pub fn upstream(&self, name: &str, walk: Walk) -> BTreeSet<String> {
        let sources = self.select(name);
        let reached = self.bfs(&sources, Direction::Outgoing, walk);
        let mut names = self.names(reached.into_keys());
        names.retain(|n| n != name && !n.starts_with(&format!("{name}.")));
        names
    }

    /// What imports `name`, directly or not: grimp's downstream modules.
    pub fn downstream(&self, name: &str, walk: Walk) -> BTreeSet<String> {
        let sources = self.select(name);
        let reached = self.bfs(&sources, Direction::Incoming, walk);
        let mut names = self.names(reached.into_keys());
        names.retain(|n| n != name && !n.starts_with(&format!("{name}.")));
        names
    }

    /// A shortest chain of imports from `from` to `to` (each a module, or a
    /// package and its modules), hop by hop with lines; `None` if there is none.
    pub fn shortest_chain(&self, from: &str, to: &str, walk: Walk) -> Option<Vec<Hop>> {
        let sources = self.select(from);
        let targets: BTreeSet<NodeIndex> = self.select(to).into_iter().collect();
        self.chain_between(&sources, &targets, walk)
    }

    /// A shortest chain from exactly the module `from` to exactly the
    /// module `to` (a package's modules are not included).
    pub fn shortest_chain_between_modules(&self, from: &str, to: &str, walk: Walk) -> Option<Vec<Hop>> {
        let (from, to) = (self.index.get(from)?, self.index.get(to)?);
        self.chain_between(&[*from], &BTreeSet::from([*to]), walk)
    }

    pub(crate) fn chain_between(
        &self,
        sources: &[NodeIndex],
        targets: &BTreeSet<NodeIndex>,
        walk: Walk,
    ) -> Option<Vec<Hop>> {
        let sources: Vec<NodeIndex> = sources.iter().copied().filter(|s| !targets.contains(s)).collect();
        let previous = self.bfs(&sources, Direction::Outgoing, walk);
        // The target reached first in breadth-first order is the nearest one:
        // pick the nearest by walking back, ties broken by name.
        let end = targets
            .iter()
            .filter(|t| previous.contains_key(t))
            .min_by_key(|t| (self.path_back(&previous, **t).len(), self.graph[**t].name.clone()))?;
        let path = self.path_back(&previous, *end);
        Some(path.windows(2).map(|pair| self.hop(pair[0], pair[1])).collect())
    }

    fn path_back(&self, previous: &HashMap<NodeIndex, NodeIndex>, end: NodeIndex) -> Vec<NodeIndex> {
        let mut path = vec![end];
        let mut node = end;
        while let Some(&before) = previous.get(&node) {
            if before == node {
                break;
            }
            path.push(before);
            node = before;
        }
        path.reverse();
        path
    }

    fn hop(&self, from: NodeIndex, to: NodeIndex) -> Hop {
        let lines = self.graph.find_edge(from, to).map(|e| self.graph[e].lines.clone()).unwrap_or_default();
        Hop { importer: self.graph[from].name.clone(), imported: self.graph[to].name.clone(), lines }
    }

    /// Import cycles: each strongly connected component of two or more
    /// modules, with one shortest cycle as an example. Sorted by their first module.
    pub fn cycles(&self, walk: Walk) -> Vec<Cycle> {
        let mut cycles: Vec<Cycle> = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .filter(|component| component.len() > 1)
            .map(|component| {
                let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
                let mut modules: Vec<String> = component.iter().map(|&i| self.graph[i].name.clone()).collect();
                modules.sort();
                let start = component.iter().copied().min_by_key(|&i| self.graph[i].name.clone());
                let example = start.map(|s| self.shortest_cycle(s, &members, walk)).unwrap_or_default();
                Cycle { modules, example }
            })
            .collect();
        cycles.sort_by(|a, b| a.modules.cmp(&b.modules));
        cycles
    }

    /// The shortest cycle through `start`, staying inside `members`.
    fn shortest_cycle(&self, start: NodeIndex, members: &BTreeSet<NodeIndex>, walk: Walk) -> Vec<String> {
        let mut previous: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let mut next_nodes: Vec<NodeIndex> = self
                .graph
                .edges_directed(node, Direction::Outgoing)
                .filter(|e| self.follows(e.weight(), walk) && members.contains(&e.target()))
                .map(|e| e.target())
                .collect();
            next_nodes.sort_by_key(|&n| self.graph[n].name.clone());
            for next in next_nodes {
                if next == start {
                    let mut path = vec![start];
                    let mut back = node;
                    while back != start {
                        path.push(back);
                        back = previous[&back];
                    }
                    path.push(start);
                    path.reverse();
                    return path.into_iter().map(|i| self.graph[i].name.clone()).collect();
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = previous.entry(next) {
                    slot.insert(node);
                    queue.push_back(next);
                }
            }
        }
        Vec::new()
    }

    /// Internal modules that import no other internal module and that no
    /// internal module imports (packages excepted).
    pub fn orphans(&self) -> Vec<&str> {
        let internal = |i: NodeIndex| self.graph[i].kind == ModuleKind::Internal;
        let mut orphans: Vec<&str> = self
            .graph
            .node_indices()
            .filter(|&i| internal(i) && !self.graph[i].is_package)
            .filter(|&i| {
                self.graph.neighbors_directed(i, Direction::Outgoing).all(|n| !internal(n))
                    && self.graph.neighbors_directed(i, Direction::Incoming).all(|n| !internal(n))
            })
            .map(|i| self.graph[i].name.as_str())
            .collect();
        orphans.sort_unstable();
        orphans
    }

    /// `(module, fan-in, fan-out)` of every node: how many modules import it,
    /// how many it imports. Sorted by name.
    pub fn degrees(&self) -> Vec<(&str, usize, usize)> {
        let mut degrees: Vec<_> = self
            .graph
            .node_indices()
            .map(|i| {
                let fan_in = self.graph.neighbors_directed(i, Direction::Incoming).count();
                let fan_out = self.graph.neighbors_directed(i, Direction::Outgoing).count();
                (self.graph[i].name.as_str(), fan_in, fan_out)
            })
            .collect();
        degrees.sort_unstable();
        degrees
    }

    /// The modules within `depth` imports of `name` (importing it or
    /// imported by it, directly or through others), sorted, and every
    /// import among them, sorted; `None` when no module is called `name`.
    pub fn neighbourhood(&self, name: &str, depth: usize) -> Option<(Vec<String>, Vec<Hop>)> {
        let &start = self.index.get(name)?;
        let mut reached: BTreeSet<NodeIndex> = BTreeSet::from([start]);
        let mut frontier = vec![start];
        for _ in 0..depth {
            let mut next = Vec::new();
            for node in frontier {
                let around = self
                    .graph
                    .neighbors_directed(node, Direction::Outgoing)
                    .chain(self.graph.neighbors_directed(node, Direction::Incoming));
                next.extend(around.filter(|&n| reached.insert(n)));
            }
            frontier = next;
        }
        let mut hops: Vec<Hop> = self
            .graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                (reached.contains(&a) && reached.contains(&b)).then(|| Hop {
                    importer: self.graph[a].name.clone(),
                    imported: self.graph[b].name.clone(),
                    lines: self.graph[e].lines.clone(),
                })
            })
            .collect();
        hops.sort_by(|x, y| (&x.importer, &x.imported).cmp(&(&y.importer, &y.imported)));
        Some((self.names(reached).into_iter().collect(), hops))
    }

    /// PageRank of every node (damping 0.85): how central a module is to
    /// what the codebase imports. Sorted highest first.
    pub fn page_rank(&self) -> Vec<(&str, f64)> {
        let ranks = page_rank(&self.graph, 0.85, 50);
        let mut ranked: Vec<_> =
            self.graph.node_indices().map(|i| (self.graph[i].name.as_str(), ranks[i.index()])).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ranked
    }

    /// The graph with internal modules squashed to their first `depth`
    /// components (`a.b.c.d` at depth 2 is `a.b`); edges merge, and imports
    /// inside one squashed module disappear.
    pub fn squash(&self, depth: usize) -> ImportGraph {
        let depth = depth.max(1);
        let squashed = |node: &ModuleNode| -> String {
            if node.kind != ModuleKind::Internal {
                return node.name.clone();
            }
            node.name.split('.').take(depth).collect::<Vec<_>>().join(".")
        };
        let mut graph = ImportGraph::default();
        let mut nodes: BTreeMap<String, ModuleNode> = BTreeMap::new();
        for node in self.graph.node_weights() {
            let name = squashed(node);
            let is_package = node.is_package || name != node.name;
            let entry = nodes.entry(name.clone()).or_insert_with(|| ModuleNode {
                name: name.clone(),
                path: None,
                kind: node.kind,
                is_package,
            });
            if name == node.name {
                entry.path.clone_from(&node.path);
                entry.is_package = is_package;
            }
        }
        for node in nodes.into_values() {
            let name = node.name.clone();
            let index = graph.graph.add_node(node);
            graph.index.insert(name, index);
        }
        let mut edges: BTreeMap<(String, String), ImportEdge> = BTreeMap::new();
        for edge in self.graph.edge_indices() {
            let Some((a, b)) = self.graph.edge_endpoints(edge) else { continue };
            let (from, to) = (squashed(&self.graph[a]), squashed(&self.graph[b]));
            if from == to {
                continue;
            }
            let weight = &self.graph[edge];
            let merged = edges.entry((from, to)).or_insert_with(|| ImportEdge {
                lines: Vec::new(),
                type_checking: true,
                function_level: true,
            });
            merged.lines.extend(&weight.lines);
            merged.type_checking &= weight.type_checking;
            merged.function_level &= weight.function_level;
        }
        for ((from, to), mut edge) in edges {
            edge.lines.sort_unstable();
            edge.lines.dedup();
            if let (Some(&a), Some(&b)) = (graph.index.get(&from), graph.index.get(&to)) {
                graph.graph.add_edge(a, b, edge);
            }
        }
        graph
    }
}

/// The PageRank of `petgraph::algo::page_rank` (the same walk: a module
/// without imports spreads its rank over every module, the others follow an
/// import or jump), in O(nodes + edges) per iteration rather than petgraph's
/// O(nodes × (nodes + edges)): the UI asks for the ranks of a whole project.
fn page_rank<N, E>(graph: &petgraph::graph::DiGraph<N, E>, damping: f64, iterations: usize) -> Vec<f64> {
    let n = graph.node_count();
    if n == 0 {
        return Vec::new();
    }
    let share = 1.0 / n as f64;
    // Distinct targets per node: petgraph counts a target once however many
    // edges lead to it, but divides by every edge.
    let targets: Vec<Vec<usize>> = graph
        .node_indices()
        .map(|w| {
            let mut t: Vec<usize> = graph.edges(w).map(|e| e.target().index()).collect();
            t.sort_unstable();
            t.dedup();
            t
        })
        .collect();
    let out: Vec<f64> = graph.node_indices().map(|w| graph.edges(w).count() as f64).collect();
    let mut ranks = vec![share; n];
    for _ in 0..iterations {
        let (mut dangling, mut linked) = (0.0, 0.0);
        for (w, r) in ranks.iter().enumerate() {
            if out[w] == 0.0 { dangling += r } else { linked += r }
        }
        let mut next = vec![(damping * dangling + (1.0 - damping) * linked) * share; n];
        for (w, r) in ranks.iter().enumerate() {
            for &v in &targets[w] {
                next[v] += damping * r / out[w] - (1.0 - damping) * r * share;
            }
        }
        let sum: f64 = next.iter().sum();
        ranks = next.into_iter().map(|r| r / sum).collect();
    }
    ranks
}

#[cfg(test)]
mod page_rank_tests {
    use petgraph::graph::DiGraph;

    #[test]
    fn page_rank_is_petgraphs() {
        // A small graph with a cycle, a node without imports, a self-import
        // and a repeated edge.
        let mut graph = DiGraph::<(), ()>::new();
        let n: Vec<_> = (0..6).map(|_| graph.add_node(())).collect();
        for (a, b) in [(0, 1), (1, 2), (2, 0), (3, 1), (3, 2), (4, 4), (4, 0), (0, 1), (5, 3)] {
            graph.add_edge(n[a], n[b], ());
        }
        let ours = super::page_rank(&graph, 0.85, 50);
        let theirs = petgraph::algo::page_rank(&graph, 0.85_f64, 50);
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-12, "{ours:?} vs {theirs:?}");
        }
    }
}
