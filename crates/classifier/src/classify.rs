//! The rule-based classifier.

use std::collections::HashMap;

use pyatlas_parser::{Binding, FileRecord, ImportKind, NameRef, NameTable};
use serde::{Deserialize, Serialize};

use crate::rules::{Compiled, EvidenceKind, Hit, Rules};

/// One fact that points at a domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// Line of the (first) occurrence.
    pub line: u32,
    /// What matched, as resolved (`call numpy.array (np.array)`).
    pub text: String,
    /// What kind of fact.
    pub kind: EvidenceKind,
    /// How many times the same fact occurs in the unit or module.
    pub occurrences: u32,
}

/// A domain, its score in `[0, 1]` and the evidence for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DomainScore {
    /// The domain's name.
    pub domain: String,
    /// `1 - Π(1 - w)` over the weights of the distinct pieces of evidence.
    pub score: f64,
    /// The evidence, in source order.
    pub evidence: Vec<Evidence>,
}

/// The domains of a module and of each of its units, each sorted by score
/// (highest first), holding only those at or above the threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Classification {
    /// The module's domains: every fact of the file counts.
    pub module: Vec<DomainScore>,
    /// `units[i]` are the domains of `record.units[i]`.
    pub units: Vec<Vec<DomainScore>>,
}

/// Classifies files. Implement it to plug in another classifier (one based
/// on embeddings, say) beside [`RuleClassifier`].
pub trait Classifier: Send + Sync {
    /// A short name, for reports.
    fn name(&self) -> &str;

    /// The domains of the file's module and units.
    fn classify(&self, file: &FileRecord) -> Classification;
}

/// The rule-based classifier: patterns from [`Rules`], matched against the
/// parser's facts resolved through the module's import bindings.
#[derive(Debug)]
pub struct RuleClassifier {
    rules: Rules,
    compiled: Compiled,
}

impl Default for RuleClassifier {
    fn default() -> Self {
        Self::new(Rules::default())
    }
}

impl RuleClassifier {
    /// A classifier with `rules`.
    pub fn new(rules: Rules) -> Self {
        let compiled = Compiled::new(&rules);
        Self { rules, compiled }
    }

    /// The rules in use.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }
}

impl Classifier for RuleClassifier {
    fn name(&self) -> &str {
        "rules"
    }

    fn classify(&self, file: &FileRecord) -> Classification {
        let facts = Facts::gather(self, file);
        let module = self.scores(facts.all.iter().map(|&i| &facts.items[i]));
        let units = (0..file.units.len()).map(|u| self.scores(facts.of_unit(u).map(|i| &facts.items[i]))).collect();
        Classification { module, units }
    }
}

/// Several classifiers side by side (rules and embeddings, say): a domain's
/// scores are combined as independent evidence (`1 - Π(1 - s)`) and its
/// evidence lists joined.
pub struct CombinedClassifier {
    parts: Vec<Box<dyn Classifier>>,
}

impl std::fmt::Debug for CombinedClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.parts.iter().map(|p| p.name())).finish()
    }
}

impl CombinedClassifier {
    /// Combines `parts`.
    pub fn new(parts: Vec<Box<dyn Classifier>>) -> Self {
        Self { parts }
    }
}

impl Classifier for CombinedClassifier {
    fn name(&self) -> &str {
        "combined"
    }

    fn classify(&self, file: &FileRecord) -> Classification {
        let results: Vec<Classification> = self.parts.iter().map(|p| p.classify(file)).collect();
        let merge = |lists: Vec<&Vec<DomainScore>>| -> Vec<DomainScore> {
            let mut merged: Vec<DomainScore> = Vec::new();
            for score in lists.into_iter().flatten() {
                match merged.iter_mut().find(|m| m.domain == score.domain) {
                    Some(m) => {
                        m.score = 1.0 - (1.0 - m.score) * (1.0 - score.score);
                        m.evidence.extend(score.evidence.iter().cloned());
                    }
                    None => merged.push(score.clone()),
                }
            }
            merged.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.domain.cmp(&b.domain)));
            merged
        };
        Classification {
            module: merge(results.iter().map(|r| &r.module).collect()),
            units: (0..file.units.len())
                .map(|u| merge(results.iter().filter_map(|r| r.units.get(u)).collect()))
                .collect(),
        }
    }
}

/// A matched fact: its domain and evidence, and where it was found.
struct Item {
    domain: u16,
    weight: f64,
    line: u32,
    text: String,
    kind: EvidenceKind,
    /// The unit whose body holds it (`None`: module level); an import's
    /// item is shared by the units that use its name.
    unit: Option<u32>,
    /// For an import: the local names it binds.
    binds: Vec<String>,
}

struct Facts {
    items: Vec<Item>,
    all: Vec<usize>,
    /// Per unit: items of the unit and its descendants, and of the imports it uses.
    per_unit: Vec<Vec<usize>>,
}

impl Facts {
    fn gather(classifier: &RuleClassifier, file: &FileRecord) -> Self {
        let compiled = &classifier.compiled;
        let weights = &classifier.rules.weights;
        let resolver = Resolver::new(file);
        let mut items = Vec::new();
        let mut hits = Vec::new();
        let push =
            |items: &mut Vec<Item>, hits: &[Hit], kind: EvidenceKind, line: u32, text: &str, unit: Option<u32>| {
                for hit in hits {
                    items.push(Item {
                        domain: hit.domain,
                        weight: weights.of(kind, hit.suffix),
                        line,
                        text: text.to_owned(),
                        kind,
                        unit,
                        binds: Vec::new(),
                    });
                }
            };

        // Imports: `import a.b` is module a.b; `from a import b` is a, or a.b
        // when b is a submodule.
        for import in &file.imports {
            let mut names: Vec<(String, Vec<String>)> = Vec::new();
            match import.kind {
                ImportKind::Import => {
                    let local = import
                        .alias
                        .clone()
                        .unwrap_or_else(|| import.module.split('.').next().unwrap_or("").to_owned());
                    names.push((import.module.clone(), vec![local]));
                }
                _ => {
                    // A relative import above the top-level package imports nothing.
                    let Some(base) = import.absolute_module(file.module.as_str(), file.is_package) else { continue };
                    let locals =
                        import.names.iter().map(|n| n.alias.clone().unwrap_or_else(|| n.name.clone())).collect();
                    names.push((base.clone(), locals));
                    for n in import.names.iter().filter(|n| n.name != "*") {
                        let local = n.alias.clone().unwrap_or_else(|| n.name.clone());
                        names.push((join(&base, &n.name), vec![local]));
                    }
                }
            }
            let mut seen: Vec<u16> = Vec::new();
            for (module, binds) in names {
                if module.is_empty() {
                    continue;
                }
                compiled.imports.lookup(&module, &mut hits);
                for hit in &hits {
                    if seen.contains(&hit.domain) {
                        continue;
                    }
                    seen.push(hit.domain);
                    items.push(Item {
                        domain: hit.domain,
                        weight: weights.of(EvidenceKind::Import, false),
                        line: import.line,
                        text: format!("import {module}"),
                        kind: EvidenceKind::Import,
                        unit: import.scope,
                        binds: binds.clone(),
                    });
                }
            }
        }

        for call in &file.calls {
            let written = callee_name(&call.callee);
            if written.is_empty() {
                continue;
            }
            let resolved = resolver.resolve(&written, call.unit);
            compiled.calls.lookup(&resolved, &mut hits);
            if !hits.is_empty() {
                push(
                    &mut items,
                    &hits,
                    EvidenceKind::Call,
                    call.line,
                    &describe("call", &resolved, &written),
                    call.unit,
                );
            }
        }

        for (index, unit) in file.units.iter().enumerate() {
            let index = index as u32;
            for decorator in &unit.decorators {
                let written = callee_name(decorator);
                let resolved = resolver.resolve(&written, unit.parent);
                compiled.decorators.lookup(&resolved, &mut hits);
                if !hits.is_empty() {
                    push(
                        &mut items,
                        &hits,
                        EvidenceKind::Decorator,
                        unit.start_line,
                        &describe("@", &resolved, &written),
                        Some(index),
                    );
                }
            }
            for base in &unit.bases {
                let written = callee_name(base);
                let resolved = resolver.resolve(&written, unit.parent);
                compiled.bases.lookup(&resolved, &mut hits);
                if !hits.is_empty() {
                    push(
                        &mut items,
                        &hits,
                        EvidenceKind::Base,
                        unit.line,
                        &describe("base", &resolved, &written),
                        Some(index),
                    );
                }
            }
            for (glob, domain) in &compiled.names {
                if glob.matches(&unit.name) {
                    let hit = [Hit { domain: *domain, suffix: false }];
                    push(&mut items, &hit, EvidenceKind::Name, unit.line, &format!("name {}", unit.name), Some(index));
                }
            }
        }

        let mut module_domains: Vec<u16> = Vec::new();
        for component in file.module.components() {
            for (glob, domain) in &compiled.modules {
                if glob.matches(component) && !module_domains.contains(domain) {
                    module_domains.push(*domain);
                    let hit = [Hit { domain: *domain, suffix: false }];
                    push(&mut items, &hit, EvidenceKind::Module, 1, &format!("module {}", file.module), None);
                }
            }
        }

        // Units: what their bodies hold (with nested units), and the imports
        // whose names they use.
        let count = file.units.len();
        let mut per_unit: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (i, item) in items.iter().enumerate() {
            if item.kind == EvidenceKind::Import {
                continue;
            }
            let mut unit = item.unit;
            while let Some(u) = unit {
                let Some(list) = per_unit.get_mut(u as usize) else { break };
                list.push(i);
                unit = file.units.get(u as usize).and_then(|x| x.parent);
            }
        }
        let used = resolver.imports_used_per_unit(file);
        for (i, item) in items.iter().enumerate().filter(|(_, item)| item.kind == EvidenceKind::Import) {
            for (u, bindings) in used.iter().enumerate() {
                let from_this_import = |b: &&&Binding| b.line == item.line && b.scope == item.unit;
                if bindings.iter().filter(from_this_import).any(|b| item.binds.contains(&b.name)) {
                    per_unit[u].push(i);
                }
            }
        }
        let all = (0..items.len()).collect();
        Self { items, all, per_unit }
    }

    fn of_unit(&self, unit: usize) -> impl Iterator<Item = usize> + '_ {
        self.per_unit.get(unit).into_iter().flatten().copied()
    }
}

impl RuleClassifier {
    /// Combines items into domain scores at or above the threshold.
    fn scores<'a>(&self, items: impl Iterator<Item = &'a Item>) -> Vec<DomainScore> {
        // Per domain: distinct evidence by (kind, text), with counts.
        let mut by_domain: HashMap<u16, Vec<(Evidence, f64)>> = HashMap::new();
        for item in items {
            let list = by_domain.entry(item.domain).or_default();
            match list.iter_mut().find(|(e, _)| e.kind == item.kind && e.text == item.text) {
                Some((evidence, _)) => {
                    evidence.occurrences += 1;
                    evidence.line = evidence.line.min(item.line);
                }
                None => list.push((
                    Evidence { line: item.line, text: item.text.clone(), kind: item.kind, occurrences: 1 },
                    item.weight,
                )),
            }
        }
        let mut scores: Vec<DomainScore> = by_domain
            .into_iter()
            .filter_map(|(domain, mut evidence)| {
                let miss: f64 = evidence.iter().map(|(_, w)| 1.0 - w).product();
                let score = ((1.0 - miss) * 1e6).round() / 1e6;
                if score < self.rules.threshold {
                    return None;
                }
                evidence.sort_by(|(a, _), (b, _)| (a.line, &a.text).cmp(&(b.line, &b.text)));
                let name = self.rules.domains.get(domain as usize)?.name.clone();
                Some(DomainScore { domain: name, score, evidence: evidence.into_iter().map(|(e, _)| e).collect() })
            })
            .collect();
        scores.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.domain.cmp(&b.domain)));
        scores
    }
}

/// Resolves written names through the file's definitions and import
/// bindings, in the scopes Python makes visible (the parser's [`NameTable`]).
struct Resolver<'a> {
    file: &'a FileRecord,
    names: NameTable<'a>,
}

impl<'a> Resolver<'a> {
    fn new(file: &'a FileRecord) -> Self {
        Self { file, names: file.names() }
    }

    /// `np.array` in `unit` -> `numpy.array`, through the binding of `np`
    /// visible from the unit; a name the file defines itself becomes
    /// `<module>.<qualname>` (so a local `open` shadows the builtin).
    /// Unbound names (builtins, attributes of objects) stay as written.
    fn resolve(&self, written: &str, unit: Option<u32>) -> String {
        self.names.absolute(written, unit).unwrap_or_else(|| written.to_owned())
    }

    /// For each unit, the import bindings its code uses (its own and its
    /// nested units'): the first names of callees, decorators and bases,
    /// each resolved from the scope it is written in.
    fn imports_used_per_unit(&self, file: &FileRecord) -> Vec<Vec<&'a Binding>> {
        let mut used: Vec<Vec<&Binding>> = vec![Vec::new(); file.units.len()];
        let mut add = |unit: Option<u32>, scope: Option<u32>, text: &str| {
            let root = text.trim_start().split(['.', '(', '[', ' ']).next().unwrap_or("");
            let Some(NameRef::Import(binding)) = self.names.lookup(root, scope) else { return };
            let mut unit = unit;
            while let Some(u) = unit {
                let Some(list) = used.get_mut(u as usize) else { break };
                if !list.iter().any(|b| std::ptr::eq(*b, binding)) {
                    list.push(binding);
                }
                unit = self.file.units.get(u as usize).and_then(|x| x.parent);
            }
        };
        for call in &self.file.calls {
            add(call.unit, call.unit, &call.callee);
        }
        for (i, unit) in self.file.units.iter().enumerate() {
            // Decorators and bases are evaluated in the enclosing scope.
            for text in unit.decorators.iter().chain(&unit.bases) {
                add(Some(i as u32), unit.parent, text);
            }
        }
        used
    }
}

/// The dotted name of a callee, decorator or base as written: arguments
/// and subscripts dropped, whitespace removed (`app.get("/")` -> `app.get`).
fn callee_name(text: &str) -> String {
    let end = text.find(['(', '[']).unwrap_or(text.len());
    text[..end].chars().filter(|c| !c.is_whitespace() && *c != '\\').collect()
}

fn describe(what: &str, resolved: &str, written: &str) -> String {
    let separator = if what == "@" { "" } else { " " };
    if resolved == written {
        format!("{what}{separator}{resolved}")
    } else {
        format!("{what}{separator}{resolved} ({written})")
    }
}

fn join(base: &str, name: &str) -> String {
    match (base.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => base.to_owned(),
        _ => format!("{base}.{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callee_names_drop_arguments_and_whitespace() {
        assert_eq!(callee_name("app.get(\"/orders\")"), "app.get");
        assert_eq!(callee_name("pytest.mark.parametrize"), "pytest.mark.parametrize");
        assert_eq!(callee_name("handlers[0]"), "handlers");
        assert_eq!(callee_name("a\n    .b"), "a.b");
    }
}
