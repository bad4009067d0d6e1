//! The rules: a taxonomy of domains and the patterns that are evidence for
//! them, loaded from TOML, merged with a user's configuration, and compiled
//! into lookup tables.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// The default rules shipped with the crate.
pub const DEFAULT_RULES: &str = include_str!("../rules/default.toml");

/// What kind of fact a piece of evidence is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EvidenceKind {
    /// An import of a matching module.
    Import,
    /// A call of a matching name.
    Call,
    /// A matching decorator.
    Decorator,
    /// A matching base class.
    Base,
    /// A unit whose name matches.
    Name,
    /// A module whose dotted name has a matching component.
    Module,
}

/// How much one piece of evidence of each kind counts, in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Weights {
    /// An import.
    pub import: f64,
    /// A call of a resolved name.
    pub call: f64,
    /// A decorator.
    pub decorator: f64,
    /// A base class.
    pub base: f64,
    /// A unit name.
    pub name: f64,
    /// A module name.
    pub module: f64,
    /// A call, decorator or base matched only by its last part (`*.fetchall`):
    /// the receiver is unknown, so it counts less.
    #[serde(default = "default_suffix_weight")]
    pub suffix: f64,
}

fn default_suffix_weight() -> f64 {
    0.3
}

impl Weights {
    pub(crate) fn of(&self, kind: EvidenceKind, suffix: bool) -> f64 {
        if suffix && matches!(kind, EvidenceKind::Call | EvidenceKind::Decorator | EvidenceKind::Base) {
            return self.suffix;
        }
        match kind {
            EvidenceKind::Import => self.import,
            EvidenceKind::Call => self.call,
            EvidenceKind::Decorator => self.decorator,
            EvidenceKind::Base => self.base,
            EvidenceKind::Name => self.name,
            EvidenceKind::Module => self.module,
        }
    }
}

/// One domain of the taxonomy and its patterns.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Domain {
    /// Its name, such as `database`.
    pub name: String,
    /// What it means.
    pub description: String,
    /// Module prefixes.
    pub imports: Vec<String>,
    /// Called names.
    pub calls: Vec<String>,
    /// Decorator names.
    pub decorators: Vec<String>,
    /// Base classes.
    pub bases: Vec<String>,
    /// Unit names.
    pub names: Vec<String>,
    /// Components of module names.
    pub modules: Vec<String>,
}

/// A set of rules: the taxonomy, the weights and the threshold. Serialises
/// to the rules as loaded (what a run's fingerprint hashes).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Rules {
    /// A domain is reported when its score reaches this (default 0.5).
    pub threshold: f64,
    /// Weights of the kinds of evidence.
    pub weights: Weights,
    /// The domains, sorted by name.
    pub domains: Vec<Domain>,
}

/// The `classifier` table of a rules file or of a user's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesTable {
    threshold: Option<f64>,
    weights: Option<WeightsPatch>,
    #[serde(default)]
    domains: BTreeMap<String, DomainPatch>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsPatch {
    import: Option<f64>,
    call: Option<f64>,
    decorator: Option<f64>,
    base: Option<f64>,
    name: Option<f64>,
    module: Option<f64>,
    suffix: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainPatch {
    description: Option<String>,
    /// Replace the domain's patterns instead of adding to them.
    #[serde(default)]
    replace: bool,
    /// `false` removes the domain.
    enabled: Option<bool>,
    #[serde(default)]
    imports: Vec<String>,
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    decorators: Vec<String>,
    #[serde(default)]
    bases: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    modules: Vec<String>,
}

/// Where a user's configuration was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// No configuration file: the default rules.
    Defaults,
    /// `[classifier]` in this `pyatlas.toml`.
    PyatlasToml(PathBuf),
    /// `[tool.pyatlas.classifier]` in this `pyproject.toml`.
    Pyproject(PathBuf),
}

impl Default for Rules {
    fn default() -> Self {
        // The default rules are part of the crate and tested to load.
        Self::from_toml(DEFAULT_RULES, Path::new("rules/default.toml")).expect("the bundled default rules are valid")
    }
}

impl Rules {
    /// Rules read from a rules file (the format of `rules/default.toml`).
    ///
    /// # Errors
    /// [`Error::Config`] with the location of a syntax error, an unknown
    /// key or an invalid pattern.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, Error> {
        let table: RulesTable = toml::from_str(text).map_err(|e| Error::config(origin, text, &e))?;
        let mut rules = Self {
            threshold: 0.5,
            weights: Weights {
                import: 0.5,
                call: 0.7,
                decorator: 0.8,
                base: 0.8,
                name: 0.4,
                module: 0.5,
                suffix: default_suffix_weight(),
            },
            domains: Vec::new(),
        };
        rules.apply(table, origin)?;
        Ok(rules)
    }

    /// The default rules extended or overridden by the user's configuration
    /// found at `root`: `[classifier]` in `pyatlas.toml`, or else
    /// `[tool.pyatlas.classifier]` in `pyproject.toml`.
    ///
    /// # Errors
    /// [`Error::Io`] when a configuration file exists but cannot be read,
    /// [`Error::Config`] when it is invalid.
    pub fn for_root(root: &Path) -> Result<(Self, ConfigSource), Error> {
        let mut rules = Self::default();
        let dir = if root.is_file() { root.parent().unwrap_or(root) } else { root };
        let pyatlas = dir.join("pyatlas.toml");
        let pyproject = dir.join("pyproject.toml");
        let read =
            |path: &Path| std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source });
        if pyatlas.is_file() {
            let text = read(&pyatlas)?;
            rules.extend_from(&text, &pyatlas, &["classifier"])?;
            return Ok((rules, ConfigSource::PyatlasToml(pyatlas)));
        }
        if pyproject.is_file() {
            let text = read(&pyproject)?;
            if rules.extend_from(&text, &pyproject, &["tool", "pyatlas", "classifier"])? {
                return Ok((rules, ConfigSource::Pyproject(pyproject)));
            }
        }
        Ok((rules, ConfigSource::Defaults))
    }

    /// Applies the table at `path` (such as `["tool", "pyatlas", "classifier"]`)
    /// of the TOML document `text`; returns whether there was one.
    ///
    /// # Errors
    /// [`Error::Config`] when the document or the table is invalid.
    pub fn extend_from(&mut self, text: &str, origin: &Path, path: &[&str]) -> Result<bool, Error> {
        let document: toml::Table = toml::from_str(text).map_err(|e| Error::config(origin, text, &e))?;
        let mut value = toml::Value::Table(document);
        for key in path {
            match value.get(*key) {
                Some(inner) => value = inner.clone(),
                None => return Ok(false),
            }
        }
        let table: RulesTable = value.try_into().map_err(|e: toml::de::Error| Error::Config {
            path: origin.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("in [{}]: {}", path.join("."), e.message()),
        })?;
        self.apply(table, origin)?;
        Ok(true)
    }

    fn apply(&mut self, table: RulesTable, origin: &Path) -> Result<(), Error> {
        let invalid = |message: String| Error::Config { path: origin.to_path_buf(), line: 0, column: 0, message };
        if let Some(threshold) = table.threshold {
            check_unit_interval("threshold", threshold).map_err(invalid)?;
            self.threshold = threshold;
        }
        if let Some(w) = table.weights {
            let weights = &mut self.weights;
            for (name, patch, slot) in [
                ("import", w.import, &mut weights.import),
                ("call", w.call, &mut weights.call),
                ("decorator", w.decorator, &mut weights.decorator),
                ("base", w.base, &mut weights.base),
                ("name", w.name, &mut weights.name),
                ("module", w.module, &mut weights.module),
                ("suffix", w.suffix, &mut weights.suffix),
            ] {
                if let Some(value) = patch {
                    check_unit_interval(&format!("weights.{name}"), value).map_err(invalid)?;
                    *slot = value;
                }
            }
        }
        for (name, patch) in table.domains {
            for pattern in patch.imports.iter().chain(&patch.calls).chain(&patch.decorators).chain(&patch.bases) {
                check_dotted(pattern)
                    .map_err(|reason| invalid(format!("domain `{name}`: pattern `{pattern}`: {reason}")))?;
            }
            for pattern in patch.names.iter().chain(&patch.modules) {
                Glob::new(pattern)
                    .map_err(|reason| invalid(format!("domain `{name}`: pattern `{pattern}`: {reason}")))?;
            }
            let position = self.domains.iter().position(|d| d.name == name);
            if patch.enabled == Some(false) {
                match position {
                    Some(i) => {
                        self.domains.remove(i);
                    }
                    None => return Err(invalid(format!("domain `{name}` is disabled but no such domain exists"))),
                }
                continue;
            }
            let domain = match position {
                Some(i) => &mut self.domains[i],
                None => {
                    self.domains.push(Domain { name: name.clone(), ..Domain::default() });
                    let last = self.domains.len() - 1;
                    &mut self.domains[last]
                }
            };
            if patch.replace {
                *domain = Domain { name: name.clone(), description: domain.description.clone(), ..Domain::default() };
            }
            if let Some(description) = patch.description {
                domain.description = description;
            }
            for (list, extra) in [
                (&mut domain.imports, patch.imports),
                (&mut domain.calls, patch.calls),
                (&mut domain.decorators, patch.decorators),
                (&mut domain.bases, patch.bases),
                (&mut domain.names, patch.names),
                (&mut domain.modules, patch.modules),
            ] {
                for pattern in extra {
                    if !list.contains(&pattern) {
                        list.push(pattern);
                    }
                }
            }
            let empty = domain.imports.is_empty()
                && domain.calls.is_empty()
                && domain.decorators.is_empty()
                && domain.bases.is_empty()
                && domain.names.is_empty()
                && domain.modules.is_empty();
            if empty {
                return Err(invalid(format!("domain `{name}` has no patterns: this rule checks nothing")));
            }
        }
        self.domains.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(())
    }

    /// The domain called `name`.
    pub fn domain(&self, name: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.name == name)
    }
}

fn check_unit_interval(what: &str, value: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&value) { Ok(()) } else { Err(format!("{what} must be in [0, 1], got {value}")) }
}

/// A dotted-name pattern: `a.b`, `a.b.*` or `*.b`.
fn check_dotted(pattern: &str) -> Result<(), String> {
    let core = pattern.strip_suffix(".*").or_else(|| pattern.strip_prefix("*.")).unwrap_or(pattern);
    if core.is_empty() || core.contains('*') {
        return Err("use `a.b`, `a.b.*` or `*.b`".to_owned());
    }
    if core.split('.').any(str::is_empty) {
        return Err("empty name component".to_owned());
    }
    Ok(())
}

/// A name pattern with at most one `*`.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    prefix: String,
    suffix: Option<String>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        match pattern.split_once('*') {
            None if !pattern.is_empty() => Ok(Self { prefix: pattern.to_owned(), suffix: None }),
            None => Err("empty pattern".to_owned()),
            Some((_, rest)) if rest.contains('*') => Err("at most one `*`".to_owned()),
            Some((prefix, suffix)) => Ok(Self { prefix: prefix.to_owned(), suffix: Some(suffix.to_owned()) }),
        }
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        match &self.suffix {
            None => name == self.prefix,
            Some(suffix) => {
                name.len() >= self.prefix.len() + suffix.len()
                    && name.starts_with(&self.prefix)
                    && name.ends_with(suffix)
            }
        }
    }
}

/// A pattern's domain and whether it matched by suffix only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    pub(crate) domain: u16,
    pub(crate) suffix: bool,
}

/// Dotted-name patterns compiled into hash lookups: exact names, prefixes
/// keyed by their first component, suffixes keyed by their last.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    exact: HashMap<String, Vec<Hit>>,
    prefix: HashMap<String, Vec<(String, Hit)>>,
    suffix: HashMap<String, Vec<(String, Hit)>>,
}

impl NameTable {
    /// `module_prefix`: a plain pattern also matches the names below it (imports).
    fn add(&mut self, pattern: &str, domain: u16, module_prefix: bool) {
        let hit = Hit { domain, suffix: false };
        if let Some(prefix) = pattern.strip_suffix(".*") {
            self.add_prefix(prefix, hit);
        } else if let Some(suffix) = pattern.strip_prefix("*.") {
            let last = suffix.rsplit('.').next().unwrap_or(suffix).to_owned();
            self.suffix.entry(last).or_default().push((format!(".{suffix}"), Hit { suffix: true, ..hit }));
        } else {
            self.exact.entry(pattern.to_owned()).or_default().push(hit);
            if module_prefix {
                self.add_prefix(pattern, hit);
            }
        }
    }

    fn add_prefix(&mut self, prefix: &str, hit: Hit) {
        let root = prefix.split('.').next().unwrap_or(prefix).to_owned();
        self.prefix.entry(root).or_default().push((format!("{prefix}."), hit));
    }

    /// Every hit for `name`, at most one per domain (the strongest).
    pub(crate) fn lookup(&self, name: &str, out: &mut Vec<Hit>) {
        out.clear();
        let mut push = |hit: Hit| match out.iter_mut().find(|h| h.domain == hit.domain) {
            Some(existing) => existing.suffix &= hit.suffix,
            None => out.push(hit),
        };
        if let Some(hits) = self.exact.get(name) {
            hits.iter().copied().for_each(&mut push);
        }
        let root = name.split('.').next().unwrap_or(name);
        if let Some(prefixes) = self.prefix.get(root) {
            for (prefix, hit) in prefixes {
                if name.starts_with(prefix.as_str()) {
                    push(*hit);
                }
            }
        }
        let last = name.rsplit('.').next().unwrap_or(name);
        if let Some(suffixes) = self.suffix.get(last) {
            for (suffix, hit) in suffixes {
                if name.ends_with(suffix.as_str()) {
                    push(*hit);
                }
            }
        }
    }
}

/// The rules, compiled for matching.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) imports: NameTable,
    pub(crate) calls: NameTable,
    pub(crate) decorators: NameTable,
    pub(crate) bases: NameTable,
    pub(crate) names: Vec<(Glob, u16)>,
    pub(crate) modules: Vec<(Glob, u16)>,
}

impl Compiled {
    pub(crate) fn new(rules: &Rules) -> Self {
        let mut compiled = Self {
            imports: NameTable::default(),
            calls: NameTable::default(),
            decorators: NameTable::default(),
            bases: NameTable::default(),
            names: Vec::new(),
            modules: Vec::new(),
        };
        for (i, domain) in rules.domains.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            domain.imports.iter().for_each(|p| compiled.imports.add(p, i, true));
            domain.calls.iter().for_each(|p| compiled.calls.add(p, i, false));
            domain.decorators.iter().for_each(|p| compiled.decorators.add(p, i, false));
            domain.bases.iter().for_each(|p| compiled.bases.add(p, i, false));
            // Patterns were checked when the rules were loaded.
            compiled.names.extend(domain.names.iter().filter_map(|p| Glob::new(p).ok()).map(|g| (g, i)));
            compiled.modules.extend(domain.modules.iter().filter_map(|p| Glob::new(p).ok()).map(|g| (g, i)));
        }
        compiled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_load_with_the_documented_taxonomy() {
        let rules = Rules::default();
        let names: Vec<_> = rules.domains.iter().map(|d| d.name.as_str()).collect();
        for expected in [
            "database",
            "network",
            "web-api",
            "concurrency",
            "filesystem-io",
            "subprocess-os",
            "cli",
            "testing",
            "numeric-data",
            "machine-learning",
            "serialization",
            "logging-observability",
            "security-crypto",
            "configuration",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        assert!(rules.domains.iter().all(|d| !d.description.is_empty()));
    }

    #[test]
    fn lookups_by_exact_prefix_and_suffix() {
        let mut table = NameTable::default();
        table.add("sqlalchemy", 0, true);
        table.add("numpy.*", 1, false);
        table.add("*.fetchall", 2, false);
        table.add("subprocess.run", 3, false);
        let mut hits = Vec::new();
        let domains = |table: &NameTable, name: &str, hits: &mut Vec<Hit>| {
            table.lookup(name, hits);
            hits.iter().map(|h| (h.domain, h.suffix)).collect::<Vec<_>>()
        };
        assert_eq!(domains(&table, "sqlalchemy.orm", &mut hits), [(0, false)]);
        assert_eq!(domains(&table, "sqlalchemy", &mut hits), [(0, false)]);
        assert!(domains(&table, "sqlalchemy_utils", &mut hits).is_empty());
        assert_eq!(domains(&table, "numpy.linalg.norm", &mut hits), [(1, false)]);
        assert!(domains(&table, "numpyx.array", &mut hits).is_empty());
        assert_eq!(domains(&table, "self.cursor.fetchall", &mut hits), [(2, true)]);
        assert_eq!(domains(&table, "subprocess.run", &mut hits), [(3, false)]);
        assert!(domains(&table, "subprocess.runner", &mut hits).is_empty());
    }

    #[test]
    fn globs_take_one_star() {
        assert!(Glob::new("test_*").expect("valid").matches("test_orders"));
        assert!(!Glob::new("test_*").expect("valid").matches("testing"));
        assert!(Glob::new("*Tests").expect("valid").matches("OrderTests"));
        assert!(Glob::new("conftest").expect("valid").matches("conftest"));
        assert!(Glob::new("a*b*").is_err());
    }
}
