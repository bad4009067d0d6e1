//! Checking contracts as import-linter 2.17 does on grimp: a copy of the
//! graph per contract with its ignored imports removed, layer chains that
//! may not pass through other layers, and every shortest chain found by
//! removing the chains already found.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use petgraph::visit::EdgeRef;

use super::{
    Alerting, Contract, ContractError, ContractKind, ContractReport, Layer, ModuleExpression, Scope, Violation,
    in_package,
};
use crate::imports::{ImportGraph, ModuleKind};
use crate::query::Hop;

type Node = u32;

/// The graph one contract is checked on: the modules in scope, and their
/// imports minus those removed.
pub(super) struct Work<'g> {
    graph: &'g ImportGraph,
    scope: &'g Scope,
    /// Name of each node (every node of `graph`, by index).
    names: Vec<&'g str>,
    /// Nodes in scope, by name.
    by_name: BTreeMap<&'g str, Node>,
    out: Vec<Vec<Node>>,
    into: Vec<Vec<Node>>,
    removed: HashSet<(Node, Node)>,
}

impl<'g> Work<'g> {
    pub(super) fn new(graph: &'g ImportGraph, scope: &'g Scope) -> Self {
        let g = &graph.graph;
        let names: Vec<&str> = g.node_weights().map(|n| n.name.as_str()).collect();
        let visible: Vec<bool> = g
            .node_weights()
            .map(|n| match n.kind {
                ModuleKind::Internal => scope.is_internal(&n.name),
                _ => scope.include_external_packages,
            })
            .collect();
        let by_name =
            names.iter().enumerate().filter(|(i, _)| visible[*i]).map(|(i, name)| (*name, i as Node)).collect();
        let mut out = vec![Vec::new(); names.len()];
        let mut into = vec![Vec::new(); names.len()];
        for edge in g.edge_references() {
            let (a, b) = (edge.source().index(), edge.target().index());
            if visible[a] && visible[b] {
                out[a].push(b as Node);
                into[b].push(a as Node);
            }
        }
        for list in out.iter_mut().chain(into.iter_mut()) {
            list.sort_unstable();
        }
        Self { graph, scope, names, by_name, out, into, removed: HashSet::new() }
    }

    fn name(&self, node: Node) -> &'g str {
        self.names[node as usize]
    }

    fn lookup(&self, name: &str) -> Option<Node> {
        self.by_name.get(name).copied()
    }

    fn imports(&self, node: Node) -> impl Iterator<Item = Node> + '_ {
        self.out[node as usize].iter().copied().filter(move |&to| !self.removed.contains(&(node, to)))
    }

    fn importers(&self, node: Node) -> impl Iterator<Item = Node> + '_ {
        self.into[node as usize].iter().copied().filter(move |&from| !self.removed.contains(&(from, node)))
    }

    fn descendants(&self, name: &str) -> impl Iterator<Item = Node> + '_ {
        // Names below `name.` sort between `name.` and `name/` ('/' follows '.').
        let (low, high) = (format!("{name}."), format!("{name}/"));
        self.by_name
            .range::<str, _>((std::ops::Bound::Included(low.as_str()), std::ops::Bound::Excluded(high.as_str())))
            .map(|(_, &n)| n)
    }

    fn with_descendants(&self, node: Node) -> Vec<Node> {
        let mut nodes = vec![node];
        nodes.extend(self.descendants(self.name(node)));
        nodes
    }

    fn children(&self, name: &str) -> BTreeSet<&'g str> {
        let depth = name.matches('.').count() + 1;
        self.descendants(name).map(|n| self.name(n)).filter(|c| c.matches('.').count() == depth).collect()
    }

    /// The modules an expression names: every match of a wildcard, or the
    /// name itself (whether it exists or not, as import-linter does).
    fn expand(&self, expressions: &[ModuleExpression]) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for expression in expressions {
            if expression.has_wildcard() {
                names.extend(self.by_name.keys().filter(|n| expression.matches(n)).map(|n| (*n).to_owned()));
            } else {
                names.insert(expression.as_str().to_owned());
            }
        }
        names
    }

    /// Removes the contract's ignored imports; returns how many and the warnings.
    fn remove_ignored(&mut self, contract: &Contract) -> Result<(usize, Vec<String>), ContractError> {
        let mut matched: BTreeSet<(Node, Node)> = BTreeSet::new();
        let mut unmatched = Vec::new();
        for expression in &contract.ignore_imports {
            let importers: Vec<Node> = if expression.importer.has_wildcard() {
                self.by_name.iter().filter(|(n, _)| expression.importer.matches(n)).map(|(_, &i)| i).collect()
            } else {
                self.lookup(expression.importer.as_str()).into_iter().collect()
            };
            let mut any = false;
            for from in importers {
                for to in self.imports(from) {
                    if expression.imported.matches(self.name(to)) {
                        matched.insert((from, to));
                        any = true;
                    }
                }
            }
            if !any && !unmatched.contains(expression) {
                unmatched.push(expression.clone());
            }
        }
        let warnings = match contract.unmatched_ignore_imports {
            _ if unmatched.is_empty() => Vec::new(),
            Alerting::None => Vec::new(),
            Alerting::Warn => unmatched.iter().map(|e| format!("No matches for ignored import {e}.")).collect(),
            Alerting::Error => {
                return Err(ContractError::UnmatchedIgnoredImports { contract: contract.name.clone(), unmatched });
            }
        };
        self.removed.extend(matched.iter().copied());
        Ok((matched.len(), warnings))
    }

    /// A shortest chain from any of `from` to any of `to`, not entering
    /// `excluded` nor taking an import in `skip`.
    fn shortest_path(
        &self,
        from: &[bool],
        to: &[bool],
        excluded: &[bool],
        skip: &HashSet<(Node, Node)>,
    ) -> Option<Vec<Node>> {
        let mut previous: Vec<Option<Node>> = vec![None; self.names.len()];
        let mut seen = vec![false; self.names.len()];
        let mut queue = VecDeque::new();
        for (i, _) in from.iter().enumerate().filter(|(_, f)| **f) {
            seen[i] = true;
            queue.push_back(i as Node);
        }
        while let Some(node) = queue.pop_front() {
            for next in self.imports(node) {
                let n = next as usize;
                if seen[n] || excluded[n] || skip.contains(&(node, next)) {
                    continue;
                }
                seen[n] = true;
                previous[n] = Some(node);
                if to[n] {
                    let mut path = vec![next];
                    let mut at = node;
                    path.push(at);
                    while let Some(before) = previous[at as usize] {
                        path.push(before);
                        at = before;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(next);
            }
        }
        None
    }

    /// Every chain grimp's `find_shortest_chains` gives: a shortest one,
    /// then a shortest one without the imports of those found, until none.
    fn shortest_chains(&self, from: &[Node], to: &[Node], excluded: &[bool]) -> Vec<Vec<Node>> {
        let (from, to) = (self.mask(from), self.mask(to));
        let mut skip = HashSet::new();
        let mut chains = Vec::new();
        while let Some(chain) = self.shortest_path(&from, &to, excluded, &skip) {
            skip.extend(chain.windows(2).map(|w| (w[0], w[1])));
            chains.push(chain);
        }
        chains
    }

    fn mask(&self, nodes: &[Node]) -> Vec<bool> {
        let mut mask = vec![false; self.names.len()];
        for &n in nodes {
            mask[n as usize] = true;
        }
        mask
    }

    fn hops(&self, chain: &[Node]) -> Vec<Hop> {
        chain.windows(2).map(|w| self.hop(w[0], w[1])).collect()
    }

    fn hop(&self, from: Node, to: Node) -> Hop {
        let g = &self.graph.graph;
        let (a, b) = (petgraph::graph::NodeIndex::new(from as usize), petgraph::graph::NodeIndex::new(to as usize));
        let lines = g.find_edge(a, b).map(|e| g[e].lines.clone()).unwrap_or_default();
        Hop { importer: self.name(from).to_owned(), imported: self.name(to).to_owned(), lines }
    }

    fn violation(&self, importer: &str, imported: &str, chains: &[Vec<Node>]) -> Violation {
        let mut chains: Vec<Vec<Hop>> = chains.iter().map(|c| self.hops(c)).collect();
        chains.sort_by(|a, b| chain_key(a).cmp(&chain_key(b)));
        Violation { importer: importer.to_owned(), imported: imported.to_owned(), chains, reason: None }
    }
}

fn no_such(contract: &Contract, module: &str) -> ContractError {
    ContractError::NoSuchModule { contract: contract.name.clone(), module: module.to_owned() }
}

fn chain_key(chain: &[Hop]) -> Vec<(&str, &str)> {
    chain.iter().map(|h| (h.importer.as_str(), h.imported.as_str())).collect()
}

/// Checks `contract` on `graph` within `scope`.
pub(super) fn check(graph: &ImportGraph, scope: &Scope, contract: &Contract) -> Result<ContractReport, ContractError> {
    contract.validate()?;
    let mut work = Work::new(graph, scope);
    let (ignored_imports, warnings) = work.remove_ignored(contract)?;
    let mut undeclared_modules = Vec::new();
    let mut violations = match &contract.kind {
        ContractKind::Layers { layers, containers, exhaustive, exhaustive_ignores } => {
            let containers = work.expand(containers);
            let levels_by_container: Vec<Vec<Level>> = if containers.is_empty() {
                for module in layers.iter().flat_map(|l| &l.modules).filter(|m| !m.optional) {
                    if work.lookup(&module.name).is_none() {
                        return Err(ContractError::MissingLayer {
                            contract: contract.name.clone(),
                            module: module.name.clone(),
                        });
                    }
                }
                vec![work.levels(layers, None)]
            } else {
                for container in &containers {
                    if !scope.is_internal(container) {
                        return Err(ContractError::InvalidContainer {
                            contract: contract.name.clone(),
                            container: container.clone(),
                            roots: scope.root_packages.clone(),
                        });
                    }
                    for module in layers.iter().flat_map(|l| &l.modules).filter(|m| !m.optional) {
                        let name = format!("{container}.{}", module.name);
                        if work.lookup(&name).is_none() {
                            return Err(ContractError::MissingLayerInContainer {
                                contract: contract.name.clone(),
                                container: container.clone(),
                                module: name,
                            });
                        }
                    }
                    if work.lookup(container).is_none() {
                        return Err(no_such(contract, container));
                    }
                }
                if *exhaustive {
                    let declared: HashSet<&str> = layers
                        .iter()
                        .flat_map(|l| &l.modules)
                        .map(|m| m.name.as_str())
                        .chain(exhaustive_ignores.iter().map(String::as_str))
                        .collect();
                    for container in &containers {
                        for child in work.children(container) {
                            let tail = child.rsplit('.').next().unwrap_or(child);
                            if !declared.contains(tail) {
                                undeclared_modules.push(format!("{container}.{tail}"));
                            }
                        }
                    }
                    undeclared_modules.sort();
                }
                containers.iter().map(|c| work.levels(layers, Some(c))).collect()
            };
            let mut violations = Vec::new();
            for levels in &levels_by_container {
                violations.extend(work.illegal_dependencies(levels));
            }
            violations
        }
        ContractKind::Independence { modules } => {
            let modules = work.expand(modules);
            let mut nodes = Vec::new();
            for module in &modules {
                nodes.push(work.lookup(module).ok_or_else(|| no_such(contract, module))?);
            }
            work.illegal_dependencies(&[Level { modules: nodes, independent: true, closed: false }])
        }
        ContractKind::Forbidden { source_modules, forbidden_modules, allow_indirect_imports, as_packages } => {
            work.forbidden(contract, source_modules, forbidden_modules, *allow_indirect_imports, *as_packages)?
        }
        ContractKind::Protected { protected_modules, allowed_importers, as_packages } => {
            work.protected(contract, protected_modules, allowed_importers, *as_packages)?
        }
        ContractKind::AcyclicSiblings { ancestors, depth, skip_descendants } => {
            work.acyclic_siblings(contract, ancestors, *depth, skip_descendants)?
        }
    };
    violations.sort_by(|a, b| (&a.importer, &a.imported).cmp(&(&b.importer, &b.imported)));
    let kept = violations.is_empty() && undeclared_modules.is_empty();
    Ok(ContractReport {
        id: contract.id.clone(),
        name: contract.name.clone(),
        contract_type: contract.contract_type(),
        kept,
        violations,
        undeclared_modules,
        warnings,
        ignored_imports,
        guidance: contract.broken_contract_guidance.clone().filter(|_| !kept),
    })
}

/// A layer with its modules resolved in one container.
struct Level {
    modules: Vec<Node>,
    independent: bool,
    closed: bool,
}

impl Work<'_> {
    fn levels(&self, layers: &[Layer], container: Option<&str>) -> Vec<Level> {
        layers
            .iter()
            .map(|layer| Level {
                modules: layer
                    .modules
                    .iter()
                    .filter_map(|m| match container {
                        Some(c) => self.lookup(&format!("{c}.{}", m.name)),
                        None => self.lookup(&m.name),
                    })
                    .collect(),
                independent: layer.independent,
                closed: layer.closed,
            })
            .collect()
    }

    /// grimp's `find_illegal_dependencies_for_layers` for one container.
    fn illegal_dependencies(&self, levels: &[Level]) -> Vec<Violation> {
        let mut pairs: BTreeSet<(Node, Node)> = BTreeSet::new();
        for (index, level) in levels.iter().enumerate() {
            for &module in &level.modules {
                for lower in &levels[index + 1..] {
                    pairs.extend(lower.modules.iter().map(|&l| (l, module)));
                }
                if level.independent {
                    pairs.extend(level.modules.iter().filter(|&&s| s != module).map(|&s| (module, s)));
                }
                let mut closed = false;
                for higher in levels[..index].iter().rev() {
                    if closed {
                        pairs.extend(higher.modules.iter().map(|&h| (h, module)));
                    }
                    closed |= higher.closed;
                }
            }
        }
        let all_layers: Vec<Node> =
            levels.iter().flat_map(|l| &l.modules).flat_map(|&m| self.with_descendants(m)).collect();
        let mut violations = Vec::new();
        for (from, to) in pairs {
            let (from_all, to_all) = (self.with_descendants(from), self.with_descendants(to));
            let mut excluded = self.mask(&all_layers);
            for &n in from_all.iter().chain(&to_all) {
                excluded[n as usize] = false;
            }
            let chains = self.shortest_chains(&from_all, &to_all, &excluded);
            if !chains.is_empty() {
                violations.push(self.violation(self.name(from), self.name(to), &chains));
            }
        }
        violations
    }

    fn forbidden(
        &self,
        contract: &Contract,
        sources: &[ModuleExpression],
        forbidden: &[ModuleExpression],
        allow_indirect: bool,
        as_packages: bool,
    ) -> Result<Vec<Violation>, ContractError> {
        let sources = self
            .expand(sources)
            .into_iter()
            .map(|name| self.lookup(&name).map(|node| (name.clone(), node)).ok_or_else(|| no_such(contract, &name)))
            .collect::<Result<Vec<_>, _>>()?;
        let forbidden = self.expand(forbidden);
        let (internal, external): (Vec<&String>, Vec<&String>) =
            forbidden.iter().partition(|m| self.scope.is_internal(m));
        for module in &internal {
            self.lookup(module).ok_or_else(|| no_such(contract, module))?;
        }
        if !external.is_empty() {
            if !self.scope.include_external_packages {
                return Err(ContractError::ExternalsNotIncluded { contract: contract.name.clone() });
            }
            if let Some(module) = external.iter().find(|m| m.contains('.')) {
                return Err(ContractError::ExternalSubpackage {
                    contract: contract.name.clone(),
                    module: (*module).clone(),
                });
            }
        }
        // Only the forbidden modules in the graph can be reached.
        let targets: Vec<(&String, Node)> = forbidden.iter().filter_map(|f| Some((f, self.lookup(f)?))).collect();
        let members = |node: Node| if as_packages { self.with_descendants(node) } else { vec![node] };
        let mut violations = Vec::new();
        for (source, source_node) in &sources {
            for &(target, target_node) in &targets {
                let overlap =
                    source == target || (as_packages && (in_package(source, target) || in_package(target, source)));
                if overlap {
                    continue;
                }
                let (from, to) = (members(*source_node), members(target_node));
                let chains = if allow_indirect {
                    let to: HashSet<Node> = to.into_iter().collect();
                    from.iter()
                        .flat_map(|&f| self.imports(f).filter(|t| to.contains(t)).map(move |t| vec![f, t]))
                        .collect()
                } else {
                    self.shortest_chains(&from, &to, &vec![false; self.names.len()])
                };
                if !chains.is_empty() {
                    violations.push(self.violation(source, target, &chains));
                }
            }
        }
        Ok(violations)
    }

    fn protected(
        &self,
        contract: &Contract,
        protected: &[ModuleExpression],
        allowed: &[ModuleExpression],
        as_packages: bool,
    ) -> Result<Vec<Violation>, ContractError> {
        let mut allowed_nodes: HashSet<Node> = HashSet::new();
        for name in self.expand(allowed) {
            match self.lookup(&name) {
                Some(node) if as_packages => allowed_nodes.extend(self.with_descendants(node)),
                Some(node) => {
                    allowed_nodes.insert(node);
                }
                None if as_packages => return Err(no_such(contract, &name)),
                None => {}
            }
        }
        let mut violations = Vec::new();
        for top in self.expand(protected) {
            let node = self.lookup(&top).ok_or_else(|| no_such(contract, &top))?;
            let members: HashSet<Node> =
                if as_packages { self.with_descendants(node).into_iter().collect() } else { HashSet::from([node]) };
            let mut importers: BTreeSet<Node> = members.iter().flat_map(|&m| self.importers(m)).collect();
            importers.retain(|i| !allowed_nodes.contains(i) && !members.contains(i));
            for importer in importers {
                for imported in self.imports(importer).filter(|i| members.contains(i)) {
                    violations.push(self.violation(
                        self.name(importer),
                        self.name(imported),
                        &[vec![importer, imported]],
                    ));
                }
            }
        }
        Ok(violations)
    }

    fn acyclic_siblings(
        &self,
        contract: &Contract,
        ancestors: &[ModuleExpression],
        depth: usize,
        skip: &[ModuleExpression],
    ) -> Result<Vec<Violation>, ContractError> {
        let must_match = |expressions: &[ModuleExpression]| -> Result<BTreeSet<String>, ContractError> {
            let mut matched = BTreeSet::new();
            for expression in expressions {
                let names = self.expand(std::slice::from_ref(expression));
                if expression.has_wildcard() && names.is_empty() {
                    return Err(ContractError::NoMatch {
                        contract: contract.name.clone(),
                        expression: expression.to_string(),
                    });
                }
                if !expression.has_wildcard() && self.lookup(expression.as_str()).is_none() {
                    return Err(no_such(contract, expression.as_str()));
                }
                matched.extend(names);
            }
            Ok(matched)
        };
        let ancestors = must_match(ancestors)?;
        let skip = must_match(skip)?;
        let mut violations = Vec::new();
        let mut stack: Vec<(String, usize)> = ancestors.into_iter().rev().map(|a| (a, depth)).collect();
        while let Some((package, remaining)) = stack.pop() {
            let children = self.children(&package);
            if children.len() >= 2 {
                violations.extend(self.sibling_cycles(&children));
            }
            if remaining > 0 {
                stack.extend(
                    children.iter().rev().filter(|c| !skip.contains(**c)).map(|c| ((*c).to_owned(), remaining - 1)),
                );
            }
        }
        Ok(violations)
    }

    /// The imports between siblings (each standing for its descendants) that
    /// lie on a cycle: one violation per pair of siblings.
    fn sibling_cycles(&self, children: &BTreeSet<&str>) -> Vec<Violation> {
        let siblings: Vec<&str> = children.iter().copied().collect();
        let mut owner: BTreeMap<Node, usize> = BTreeMap::new();
        for (i, child) in siblings.iter().enumerate() {
            if let Some(node) = self.lookup(child) {
                for n in self.with_descendants(node) {
                    owner.insert(n, i);
                }
            }
        }
        let mut imports: BTreeMap<(usize, usize), Vec<Vec<Node>>> = BTreeMap::new();
        let mut squashed = petgraph::graph::DiGraph::<usize, ()>::new();
        let nodes: Vec<_> = (0..siblings.len()).map(|i| squashed.add_node(i)).collect();
        for (&from, &a) in &owner {
            for to in self.imports(from) {
                if let Some(&b) = owner.get(&to).filter(|&&b| b != a) {
                    let list = imports.entry((a, b)).or_default();
                    if list.is_empty() {
                        squashed.add_edge(nodes[a], nodes[b], ());
                    }
                    list.push(vec![from, to]);
                }
            }
        }
        let mut component = vec![usize::MAX; siblings.len()];
        for (c, scc) in petgraph::algo::tarjan_scc(&squashed).into_iter().enumerate() {
            if scc.len() > 1 {
                for n in scc {
                    component[squashed[n]] = c;
                }
            }
        }
        imports
            .iter()
            .filter(|((a, b), _)| component[*a] != usize::MAX && component[*a] == component[*b])
            .map(|((a, b), chains)| self.violation(siblings[*a], siblings[*b], chains))
            .collect()
    }
}
