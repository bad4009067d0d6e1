//! Drift: where the code no longer does what its tags say.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use pyatlas_graph::{CallGraph, GraphConfig, ImportGraph, ImportGraphBuilder, UnitId, UnitRef, Walk};
use serde::{Deserialize, Serialize};

use crate::config::IntentConfig;
use crate::facts::{FileFacts, FileSummary};

/// A drift rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RuleId {
    /// Parallel intent, but no concurrency primitive (itself or through calls).
    D001,
    /// `@parallel:data` that maps nothing over data, or `@parallel:task` that only does.
    D002,
    /// Concurrency without declared intent (when the configuration asks for it).
    D003,
    /// `@domain:X` that the classifier does not find.
    D004,
    /// A layer importing from a layer it must not, directly or through a chain.
    D005,
    /// `@intent:pure` or `@intent:no-io` on code that does I/O.
    D006,
    /// Parallel code writing shared state without a lock in sight.
    D007,
    /// A stale tag, rule or suppression.
    D008,
}

impl RuleId {
    /// Every rule.
    pub const ALL: [Self; 8] =
        [Self::D001, Self::D002, Self::D003, Self::D004, Self::D005, Self::D006, Self::D007, Self::D008];

    /// The rule's id as text: `D001`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::D001 => "D001",
            Self::D002 => "D002",
            Self::D003 => "D003",
            Self::D004 => "D004",
            Self::D005 => "D005",
            Self::D006 => "D006",
            Self::D007 => "D007",
            Self::D008 => "D008",
        }
    }

    /// A one-line description.
    pub fn description(self) -> &'static str {
        match self {
            Self::D001 => {
                "code tagged for parallel work uses no concurrency primitive, itself or through the functions it calls"
            }
            Self::D002 => {
                "@parallel:data on code that maps nothing over data, or @parallel:task on code that only maps one function over data"
            }
            Self::D003 => "concurrency without declared intent",
            Self::D004 => "@domain:X disagrees with the classifier's domains",
            Self::D005 => "a layer imports, directly or through a chain, from a layer above it",
            Self::D006 => "@intent:pure or @intent:no-io on code that does I/O, network, database or subprocess work",
            Self::D007 => "parallel code writes shared state (globals, module-level objects) without a lock in sight",
            Self::D008 => {
                "a stale tag, rule or suppression: a layer or domain nothing carries, a rule that matches nothing"
            }
        }
    }

    /// The default severity.
    pub fn default_severity(self) -> Severity {
        match self {
            Self::D001 | Self::D005 | Self::D006 => Severity::Error,
            _ => Severity::Warning,
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|r| r.to_string().eq_ignore_ascii_case(s)).ok_or(())
    }
}

/// How serious a finding is: errors fail a check, warnings do not.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the check.
    Error,
    /// Reported only.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        [Self::Error, Self::Warning].into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// A place in the code that supports a finding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// File, relative to the root.
    pub path: String,
    /// Line.
    pub line: u32,
    /// What is there.
    pub text: String,
}

/// A difference between what the tags say and what the code does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// File of the tag (or rule) that is contradicted.
    pub path: String,
    /// Line of that tag.
    pub line: u32,
    /// The unit, if the tag is on one.
    pub unit: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Where the code contradicts it.
    pub evidence: Vec<Evidence>,
    /// Accepted in the baseline: reported, but it does not fail the check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baselined: bool,
}

impl Finding {
    /// A key that survives edits elsewhere in the file: rule, path, unit and
    /// message, without line numbers.
    pub fn fingerprint(&self) -> String {
        format!("{}|{}|{}|{}", self.rule, self.path, self.unit.as_deref().unwrap_or(""), self.message)
    }
}

/// A tag as the report lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagRef {
    /// The key.
    pub key: String,
    /// One value (a tag with several values is listed once per value).
    pub value: Option<String>,
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// The unit's qualname; `None` for the module.
    pub unit: Option<String>,
}

/// A tag problem, with its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// What is wrong, with a suggestion when there is one.
    pub message: String,
}

/// Everything a drift check found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriftReport {
    /// Findings, sorted by path, line and rule.
    pub findings: Vec<Finding>,
    /// Every tag.
    pub tags: Vec<TagRef>,
    /// Tag problems.
    pub diagnostics: Vec<Diagnostic>,
}

impl DriftReport {
    /// `true` when some finding is an error and not in the baseline.
    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error && !f.baselined)
    }

    /// Marks the findings whose fingerprints are in `baseline` as accepted.
    pub fn apply_baseline(&mut self, baseline: &Baseline) {
        for finding in &mut self.findings {
            finding.baselined = baseline.fingerprints.contains(&finding.fingerprint());
        }
    }
}

/// Accepted findings: only new drift fails a check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Baseline {
    /// Fingerprints of the accepted findings.
    pub fingerprints: BTreeSet<String>,
}

impl Baseline {
    /// A baseline accepting every finding of `report`.
    pub fn of(report: &DriftReport) -> Self {
        Self { fingerprints: report.findings.iter().map(Finding::fingerprint).collect() }
    }
}

/// Where a unit is: the file and the unit's index.
type Place = (usize, usize);

/// A rule to run, found while reading the tags.
enum Job {
    /// D004 (and D008 for unknown domains): file, unit (or module), tag line, domains.
    Domain(usize, Option<Place>, u32, Vec<String>),
    /// D006: the unit, tag line, the tag as written.
    Pure(Place, u32, &'static str),
    /// D002: the unit, tag line, `@parallel:` values.
    Kind(Place, u32, Vec<String>),
    /// D001 and D007: a unit tagged for parallel work, and its first such tag's line.
    Parallel(Place, u32),
    /// D003 for one file.
    Undeclared(usize),
}

/// A codebase as drift checks it: every file's facts, and the call graph
/// and import graph linked from those same files (file `i` of the graphs
/// is `files[i]`). A pipeline keeps the graphs too: they are the edges it
/// stores.
#[derive(Debug)]
pub struct CodebaseFacts {
    files: Vec<FileFacts>,
    calls: CallGraph,
    imports: ImportGraph,
}

impl CodebaseFacts {
    /// Links the graphs from the files' facts (moving the per-file parts of
    /// the graphs out of them). The import graph includes external packages.
    pub fn link(files: Vec<FileFacts>) -> Self {
        let mut builder = CodebaseFactsBuilder::new(
            files.iter().map(|f| (f.imports.module.as_str(), f.record.path.as_str(), f.imports.is_package)),
        );
        for file in files {
            builder.push(file);
        }
        builder.link()
    }

    /// The files' facts, in the order they were linked.
    pub fn files(&self) -> &[FileFacts] {
        &self.files
    }

    /// The call graph (and class hierarchy) of the files.
    pub fn calls(&self) -> &CallGraph {
        &self.calls
    }

    /// The import graph of the files, external packages included.
    pub fn imports(&self) -> &ImportGraph {
        &self.imports
    }
}

/// Gathers a codebase's facts file by file, as a pipeline receives them:
/// each file's imports go into the import graph as it comes (the modules
/// are known beforehand, from discovery), the rest is kept until
/// [`CodebaseFactsBuilder::link`].
#[derive(Debug)]
pub struct CodebaseFactsBuilder {
    files: Vec<FileFacts>,
    imports: ImportGraphBuilder,
}

impl CodebaseFactsBuilder {
    /// A builder for the codebase whose files are `(module, path, is_package)`.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str, bool)>) -> Self {
        Self { files: Vec::new(), imports: ImportGraphBuilder::new(files, &GraphConfig::default()) }
    }

    /// Adds a file's facts, its imports resolved into the import graph now.
    pub fn push(&mut self, mut facts: FileFacts) {
        let imports = std::mem::take(&mut facts.imports);
        self.imports.add(&imports.module, imports.is_package, &imports.imports);
        self.files.push(facts);
    }

    /// Links the call graph and finishes the import graph.
    pub fn link(self) -> CodebaseFacts {
        let mut files = self.files;
        let calls = CallGraph::link(files.iter_mut().map(|f| std::mem::take(&mut f.calls)).collect());
        CodebaseFacts { files, calls, imports: self.imports.build() }
    }
}

struct Checker<'a> {
    files: &'a [FileFacts],
    config: &'a IntentConfig,
    known_domains: &'a BTreeSet<String>,
    calls: &'a CallGraph,
    imports: &'a ImportGraph,
    findings: Vec<Finding>,
}

/// Checks the tags of a codebase against its code. `known_domains` are the
/// classifier's domains (for `@domain:` values).
pub fn check(codebase: &CodebaseFacts, config: &IntentConfig, known_domains: &BTreeSet<String>) -> DriftReport {
    let files = codebase.files.as_slice();
    let mut checker = Checker {
        files,
        config,
        known_domains,
        calls: &codebase.calls,
        imports: &codebase.imports,
        findings: Vec::new(),
    };
    checker.unit_rules();
    checker.layers();
    checker.stale_domains_and_layers();
    let mut report = DriftReport::default();
    checker.suppress(&mut report);
    for (f, file) in files.iter().enumerate() {
        let path = &file.record.path;
        for tag in &file.tags.tags {
            let unit = tag.unit.map(|u| checker.qualname((f, u as usize)));
            let values: Vec<Option<String>> =
                if tag.values.is_empty() { vec![None] } else { tag.values.iter().cloned().map(Some).collect() };
            for value in values {
                report.tags.push(TagRef {
                    key: tag.key.clone(),
                    value,
                    path: path.clone(),
                    line: tag.line,
                    unit: unit.clone(),
                });
            }
        }
        for d in &file.tags.diagnostics {
            let message = match &d.suggestion {
                Some(s) => format!("{} ({s})", d.message),
                None => d.message.clone(),
            };
            report.diagnostics.push(Diagnostic { path: path.clone(), line: d.line, message });
        }
    }
    report.findings.sort_by(|a, b| (&a.path, a.line, a.rule).cmp(&(&b.path, b.line, b.rule)));
    report
}

impl Checker<'_> {
    fn severity(&self, rule: RuleId) -> Severity {
        self.config.severities.get(&rule).copied().unwrap_or_else(|| rule.default_severity())
    }

    fn finding(
        &mut self,
        rule: RuleId,
        file: usize,
        tag_line: u32,
        unit: Option<usize>,
        message: String,
        evidence: Vec<Evidence>,
    ) {
        let record = &self.files[file].record;
        let unit = unit.filter(|&u| u < record.units.len()).map(|u| self.qualname((file, u)));
        let severity = self.severity(rule);
        self.findings.push(Finding {
            rule,
            severity,
            path: record.path.clone(),
            line: tag_line,
            unit,
            message,
            evidence,
            baselined: false,
        });
    }

    /// The qualified name of a unit.
    fn qualname(&self, place: Place) -> String {
        self.calls.unit_ref(unit_id(place)).qualname
    }

    /// The unit's own name (the last part of its qualname).
    fn name(&self, place: Place) -> String {
        let qualname = self.qualname(place);
        qualname.rsplit('.').next().unwrap_or(&qualname).to_owned()
    }

    /// The unit and what it calls within the configured depth, nearest first.
    fn reach(&self, place: Place) -> Vec<(Place, usize)> {
        let mut out = vec![(place, 0)];
        for (unit, distance) in self.calls.reachable_from(unit_id(place), self.config.call_depth) {
            out.extend(self::place(unit).map(|p| (p, distance)));
        }
        out
    }

    fn domains_of(&self, (f, u): Place) -> &[crate::facts::KeptDomain] {
        self.files[f].domains.of_unit(u)
    }

    fn evidence_for(&self, (f, u): Place, domain: &str) -> Vec<Evidence> {
        let path = &self.files[f].record.path;
        self.domains_of((f, u))
            .iter()
            .filter(|d| &*d.domain == domain)
            .flat_map(|d| {
                d.evidence.iter().map(|(line, text)| Evidence {
                    path: path.clone(),
                    line: *line,
                    text: text.to_string(),
                })
            })
            .collect()
    }

    fn describe(&self, (f, u): Place) -> String {
        self.qualname((f, u))
    }

    fn unit_rules(&mut self) {
        let mut jobs = Vec::new();
        for (f, file) in self.files.iter().enumerate() {
            let mut parallel: BTreeMap<usize, u32> = BTreeMap::new();
            for tag in &file.tags.tags {
                let place = tag.unit.map(|u| (f, u as usize));
                if tag.key == "domain" {
                    jobs.push(Job::Domain(f, place, tag.line, tag.values.clone()));
                }
                let Some(place) = place else { continue };
                if tag.is("intent", "pure") {
                    jobs.push(Job::Pure(place, tag.line, "@intent:pure"));
                } else if tag.is("intent", "no-io") {
                    jobs.push(Job::Pure(place, tag.line, "@intent:no-io"));
                }
                if tag.key == "parallel" {
                    jobs.push(Job::Kind(place, tag.line, tag.values.clone()));
                }
                if tag.is("intent", "parallel") || tag.key == "parallel" {
                    parallel.entry(place.1).or_insert(tag.line);
                }
            }
            jobs.extend(parallel.into_iter().map(|(u, line)| Job::Parallel((f, u), line)));
            if self.config.require_parallel_intent {
                jobs.push(Job::Undeclared(f));
            }
        }
        for job in jobs {
            match job {
                Job::Domain(f, place, line, values) => self.d004(f, place, line, &values),
                Job::Pure(place, line, what) => self.d006(place, line, what),
                Job::Kind(place, line, values) => self.d002(place, line, &values),
                Job::Parallel(place, line) => {
                    self.d001(place, line);
                    self.d007(place, line);
                }
                Job::Undeclared(f) => self.d003(f),
            }
        }
    }

    fn d001(&mut self, place: Place, line: u32) {
        let reach = self.reach(place);
        let concurrency = &self.config.domains.concurrency;
        if reach.iter().any(|(p, _)| self.domains_of(*p).iter().any(|d| *d.domain == **concurrency)) {
            return;
        }
        let callees = reach.len() - 1;
        let message = format!(
            "`{}` is tagged for parallel work but uses no concurrency primitive, itself or in the {callees} function(s) it calls within {} calls",
            self.describe(place),
            self.config.call_depth
        );
        let (f, u) = place;
        let unit = &self.files[f].record.units[u];
        let evidence = vec![Evidence {
            path: self.files[f].record.path.clone(),
            line: unit.line,
            text: format!("def {}", self.name((f, u))),
        }];
        self.finding(RuleId::D001, f, line, Some(u), message, evidence);
    }

    fn d002(&mut self, place: Place, line: u32, values: &[String]) {
        let reach = self.reach(place);
        let facts: Vec<(Place, &crate::facts::UnitFacts)> =
            reach.iter().filter_map(|(p, _)| self.files[p.0].unit_facts(p.1).map(|x| (*p, x))).collect();
        let evidence = |calls: &dyn Fn(&crate::facts::UnitFacts) -> &Vec<(u32, String)>| -> Vec<Evidence> {
            facts
                .iter()
                .flat_map(|(p, x)| {
                    calls(x).iter().map(|(l, t)| Evidence {
                        path: self.files[p.0].record.path.clone(),
                        line: *l,
                        text: t.clone(),
                    })
                })
                .collect()
        };
        let maps = evidence(&|x| &x.map_calls);
        let tasks = evidence(&|x| &x.task_calls);
        let name = self.describe(place);
        if values.iter().any(|v| v == "data") && maps.is_empty() {
            let message = format!(
                "`{name}` is tagged @parallel:data but maps no function over data (no executor or pool `map`, no `gather` over a comprehension)"
            );
            self.finding(RuleId::D002, place.0, line, Some(place.1), message, tasks.clone());
        }
        if values.iter().any(|v| v == "task") && !maps.is_empty() && tasks.is_empty() {
            let message = format!(
                "`{name}` is tagged @parallel:task but only maps one function over data: that is @parallel:data"
            );
            self.finding(RuleId::D002, place.0, line, Some(place.1), message, maps);
        }
    }

    fn d003(&mut self, f: usize) {
        let file = &self.files[f];
        let declared: HashSet<Option<u32>> = file
            .tags
            .tags
            .iter()
            .filter(|t| t.is("intent", "parallel") || t.key == "parallel")
            .map(|t| t.unit)
            .collect();
        if declared.contains(&None) {
            return; // the whole module declares it
        }
        let mut found = Vec::new();
        for (u, unit) in file.record.units.iter().enumerate() {
            // Its own evidence (not through calls), and no declaration on it or around it.
            let own = self.evidence_for((f, u), &self.config.domains.concurrency);
            if own.is_empty() {
                continue;
            }
            let mut scope = Some(u as u32);
            let mut covered = false;
            while let Some(s) = scope {
                covered |= declared.contains(&Some(s));
                scope = file.record.units.get(s as usize).and_then(|x| x.parent);
            }
            // A helper called by a unit that declares parallel intent is covered by it.
            covered |= self
                .calls
                .reaching_to(unit_id((f, u)), self.config.call_depth)
                .into_iter()
                .filter_map(|(caller, _)| place(caller))
                .any(|caller| self.declares_parallel(caller));
            if !covered {
                found.push((u, unit.line, own));
            }
        }
        for (u, line, evidence) in found {
            let message = format!(
                "`{}` runs work concurrently without declaring it (@intent:parallel, @parallel:data or @parallel:task)",
                self.describe((f, u))
            );
            self.finding(RuleId::D003, f, line, Some(u), message, evidence);
        }
    }

    /// The unit (or a unit around it, or its module) declares parallel intent.
    fn declares_parallel(&self, (f, u): Place) -> bool {
        let file = &self.files[f];
        file.tags.tags.iter().filter(|t| t.is("intent", "parallel") || t.key == "parallel").any(|t| match t.unit {
            None => true,
            Some(tagged) => is_within(&file.record, Some(u), tagged),
        })
    }

    fn d004(&mut self, f: usize, place: Option<Place>, line: u32, values: &[String]) {
        let domains: Vec<String> = match place {
            Some(p) => self.domains_of(p).iter().map(|d| d.domain.to_string()).collect(),
            None => self.files[f].domains.module.clone(),
        };
        for value in values {
            if !self.known_domains.contains(value) {
                let message = format!("@domain:{value}: no such domain in the classifier's taxonomy");
                self.finding(RuleId::D008, f, line, place.map(|p| p.1), message, Vec::new());
                continue;
            }
            if !domains.contains(value) {
                let what = place.map_or_else(
                    || format!("module `{}`", self.files[f].record.module),
                    |p| format!("`{}`", self.describe(p)),
                );
                let found = if domains.is_empty() { "none".to_owned() } else { domains.join(", ") };
                let message = format!("{what} is tagged @domain:{value} but the classifier finds: {found}");
                let evidence = match place {
                    Some(p) => domains.iter().flat_map(|d| self.evidence_for(p, d)).collect(),
                    None => Vec::new(),
                };
                self.finding(RuleId::D004, f, line, place.map(|p| p.1), message, evidence);
            }
        }
    }

    fn d006(&mut self, place: Place, line: u32, what: &str) {
        let mut evidence = Vec::new();
        let mut domains = BTreeSet::new();
        for (p, _) in self.reach(place) {
            for domain in &self.config.domains.io {
                let found = self.evidence_for(p, domain);
                if !found.is_empty() {
                    domains.insert(domain.as_str());
                    evidence.extend(found);
                }
            }
        }
        if evidence.is_empty() {
            return;
        }
        let list: Vec<&str> = domains.into_iter().collect();
        let message = format!("`{}` is tagged {what} but does {} work", self.describe(place), list.join(", "));
        self.finding(RuleId::D006, place.0, line, Some(place.1), message, evidence);
    }

    fn d007(&mut self, place: Place, line: u32) {
        let Some(facts) = self.files[place.0].unit_facts(place.1) else { return };
        if facts.shared_writes.is_empty() || facts.lock_in_sight {
            return;
        }
        let path = self.files[place.0].record.path.clone();
        let evidence: Vec<Evidence> = facts
            .shared_writes
            .iter()
            .map(|(l, t)| Evidence { path: path.clone(), line: *l, text: t.clone() })
            .collect();
        let message = format!(
            "`{}` is tagged for parallel work and writes shared state without a lock in sight: a race risk",
            self.describe(place)
        );
        self.finding(RuleId::D007, place.0, line, Some(place.1), message, evidence);
    }

    /// D005: modules in a layer importing from a layer above it.
    fn layers(&mut self) {
        if self.config.layers.is_empty() {
            return;
        }
        let graph = self.imports;
        let walk = if self.config.ignore_type_checking { Walk::without_type_checking() } else { Walk::all() };
        let layer_of = self.layer_assignments();
        let rank: HashMap<&str, usize> = self.config.layers.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
        for (module, (layer, f, _)) in &layer_of {
            let Some(&own) = rank.get(layer.as_str()) else { continue };
            let higher_layer =
                |m: &str| layer_of.get(m).and_then(|(l, ..)| rank.get(l.as_str())).is_some_and(|&r| r < own);
            for higher in &self.config.layers[..own] {
                let targets: Vec<&String> =
                    layer_of.iter().filter(|(_, (l, ..))| l == higher).map(|(m, _)| m).collect();
                // The shortest chain that enters a higher layer only at its end:
                // a chain through another higher module is that module's violation.
                let Some(chain) = targets
                    .iter()
                    .filter_map(|t| graph.shortest_chain_between_modules(module, t, walk))
                    .filter(|c| c.iter().rev().skip(1).all(|hop| !higher_layer(&hop.imported)))
                    .min_by_key(|c| (c.len(), c.last().map(|h| h.imported.clone())))
                else {
                    continue;
                };
                let evidence: Vec<Evidence> = chain
                    .iter()
                    .map(|hop| {
                        let path = graph.module(&hop.importer).and_then(|m| m.path.clone()).unwrap_or_default();
                        let line = hop.lines.first().copied().unwrap_or(0);
                        Evidence { path, line, text: format!("{} imports {}", hop.importer, hop.imported) }
                    })
                    .collect();
                let target = chain.last().map(|h| h.imported.clone()).unwrap_or_default();
                let line = chain.first().and_then(|h| h.lines.first().copied()).unwrap_or(1);
                let message = format!(
                    "`{module}` (layer {layer}) imports `{target}` (layer {higher}, above it){}",
                    if chain.len() > 1 { format!(" through {} imports", chain.len()) } else { String::new() }
                );
                self.finding(RuleId::D005, *f, line, None, message, evidence);
            }
        }
    }

    /// Module -> (layer, file, line of the tag or 1), from `@layer:` tags and
    /// the configuration's patterns.
    fn layer_assignments(&self) -> BTreeMap<String, (String, usize, u32)> {
        let mut layer_of = BTreeMap::new();
        for (f, file) in self.files.iter().enumerate() {
            let module = file.record.module.to_string();
            for (layer, patterns) in &self.config.layer_modules {
                if patterns.iter().any(|p| module_matches(&module, p)) {
                    layer_of.insert(module.clone(), (layer.clone(), f, 1));
                }
            }
            for tag in file.tags.tags.iter().filter(|t| t.key == "layer" && t.unit.is_none()) {
                if let Some(layer) = tag.values.first() {
                    layer_of.insert(module.clone(), (layer.clone(), f, tag.line));
                }
            }
        }
        layer_of
    }

    /// D008: layers nothing carries, layer patterns that match nothing,
    /// `@layer:` values that are not configured.
    fn stale_domains_and_layers(&mut self) {
        let assignments = self.layer_assignments();
        let carried: BTreeSet<&str> = assignments.values().map(|(l, ..)| l.as_str()).collect();
        let mut stale = Vec::new();
        for layer in &self.config.layers {
            if !carried.contains(layer.as_str()) {
                let (path, line) = self.config.locate("layers");
                stale.push((
                    path,
                    line,
                    format!("layer `{layer}` is configured but no module carries it: this rule checks nothing"),
                ));
            }
        }
        for (layer, patterns) in &self.config.layer_modules {
            for pattern in patterns {
                if !self.files.iter().any(|f| module_matches(f.record.module.as_str(), pattern)) {
                    let (path, line) = self.config.locate(&format!("\"{pattern}\""));
                    let message =
                        format!("layer_modules.{layer}: `{pattern}` matches no module: this rule checks nothing");
                    stale.push((path, line, message));
                }
            }
        }
        for (path, line, message) in stale {
            self.findings.push(Finding {
                rule: RuleId::D008,
                severity: self.severity(RuleId::D008),
                path,
                line,
                unit: None,
                message,
                evidence: Vec::new(),
                baselined: false,
            });
        }
        for f in 0..self.files.len() {
            let tags: Vec<(u32, Option<u32>, String)> = self.files[f]
                .tags
                .tags
                .iter()
                .filter(|t| t.key == "layer")
                .flat_map(|t| t.values.iter().map(move |v| (t.line, t.unit, v.clone())))
                .collect();
            for (line, unit, layer) in tags {
                if unit.is_some() {
                    let message =
                        format!("@layer:{layer} is on a unit; layers are a module's: put it at the top of the module");
                    self.finding(RuleId::D008, f, line, unit.map(|u| u as usize), message, Vec::new());
                } else if !self.config.layers.contains(&layer) {
                    let message = format!(
                        "@layer:{layer}: no such layer in the configuration's `layers` ({})",
                        self.config.layers.join(", ")
                    );
                    self.finding(RuleId::D008, f, line, None, message, Vec::new());
                }
            }
        }
    }

    /// Applies suppressions; unused ones become D008 findings.
    fn suppress(&mut self, report: &mut DriftReport) {
        let mut used: HashSet<(usize, usize)> = HashSet::new();
        let findings = std::mem::take(&mut self.findings);
        for finding in findings {
            let file = self.files.iter().position(|f| f.record.path == finding.path);
            let suppressed = file.and_then(|f| {
                let record = &self.files[f].record;
                let unit = finding.unit.as_ref().and_then(|q| {
                    let id = self.calls.id_of(&UnitRef::new(record.module.as_str(), q.as_str()))?;
                    id.unit.filter(|_| id.file as usize == f).map(|u| u as usize)
                });
                self.files[f]
                    .tags
                    .suppressions
                    .iter()
                    .position(|s| {
                        s.rules.iter().any(|r| r == &finding.rule.to_string())
                            && (s.line == finding.line
                                || finding.evidence.iter().any(|e| e.path == finding.path && e.line == s.line)
                                || s.unit.is_some_and(|su| is_within(record, unit, su)))
                    })
                    .map(|s| (f, s))
            });
            match suppressed {
                Some(key) => {
                    used.insert(key);
                }
                None => report.findings.push(finding),
            }
        }
        for (f, file) in self.files.iter().enumerate() {
            for (s, suppression) in file.tags.suppressions.iter().enumerate() {
                if !used.contains(&(f, s)) {
                    let unit = suppression
                        .unit
                        .filter(|&u| (u as usize) < file.record.units.len())
                        .map(|u| self.qualname((f, u as usize)));
                    report.findings.push(Finding {
                        rule: RuleId::D008,
                        severity: self.severity(RuleId::D008),
                        path: file.record.path.clone(),
                        line: suppression.line,
                        unit,
                        message: format!(
                            "unused suppression of {}: nothing to ignore here",
                            suppression.rules.join(", ")
                        ),
                        evidence: Vec::new(),
                        baselined: false,
                    });
                }
            }
        }
    }
}

/// `unit` is `scope` or nested in it.
fn is_within(record: &FileSummary, unit: Option<usize>, scope: u32) -> bool {
    let mut current = unit.map(|u| u as u32);
    while let Some(u) = current {
        if u == scope {
            return true;
        }
        current = record.units.get(u as usize).and_then(|x| x.parent);
    }
    false
}

fn unit_id((file, unit): Place) -> UnitId {
    UnitId { file: file as u32, unit: Some(unit as u32) }
}

/// The place of a unit id (module-level code has none).
fn place(id: UnitId) -> Option<Place> {
    Some((id.file as usize, id.unit? as usize))
}

/// `shop.models` matches the module itself; `shop.domain.*` every module below.
fn module_matches(module: &str, pattern: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => module == prefix || module.starts_with(&format!("{prefix}.")),
        None => module == pattern,
    }
}
