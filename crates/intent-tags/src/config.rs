//! The `[intent]` configuration: declared keys, layers, and rule options.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::drift::{RuleId, Severity};
use crate::tags::{KeySpec, Vocabulary};

/// How drift is checked. Read from `[intent]` in `pyatlas.toml` or
/// `[tool.pyatlas.intent]` in `pyproject.toml`; every field has a default.
/// Serialises to its effective values (what a run's fingerprint hashes).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IntentConfig {
    /// The tag keys and values (built-in ones plus declared ones).
    pub vocabulary: Vocabulary,
    /// Layers, highest first (`["api", "services", "domain"]`).
    pub layers: Vec<String>,
    /// Modules assigned to a layer by pattern (`domain = ["shop.models", "shop.domain.*"]`),
    /// besides `@layer:` tags.
    pub layer_modules: BTreeMap<String, Vec<String>>,
    /// D003: report concurrency without a declared intent (default: `false`).
    pub require_parallel_intent: bool,
    /// How many calls deep D001, D002 and D006 follow the call graph (default: 3).
    pub call_depth: usize,
    /// D005: ignore imports made only under `if TYPE_CHECKING:` (default: `false`).
    pub ignore_type_checking: bool,
    /// Severity overrides per rule.
    pub severities: BTreeMap<RuleId, Severity>,
    /// The classifier's domains the rules rely on.
    pub domains: RuleDomains,
    /// The file it was read from (its name) and its text, to point findings
    /// about the configuration at the right line.
    #[serde(skip)]
    pub origin: Option<(String, String)>,
}

/// The classifier's domains that the rules rely on, by name, so that a
/// project that renames its domains keeps its rules (`[intent.domains]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleDomains {
    /// What D001, D003 and D007 take for concurrency (default `concurrency`).
    pub concurrency: String,
    /// What D006 takes for I/O (default `filesystem-io`, `network`,
    /// `database`, `subprocess-os`).
    pub io: Vec<String>,
}

impl Default for RuleDomains {
    fn default() -> Self {
        Self {
            concurrency: "concurrency".to_owned(),
            io: ["filesystem-io", "network", "database", "subprocess-os"].map(String::from).to_vec(),
        }
    }
}

impl Default for IntentConfig {
    fn default() -> Self {
        Self {
            vocabulary: Vocabulary::default(),
            layers: Vec::new(),
            layer_modules: BTreeMap::new(),
            require_parallel_intent: false,
            call_depth: 3,
            ignore_type_checking: false,
            severities: BTreeMap::new(),
            domains: RuleDomains::default(),
            origin: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    layers: Option<Vec<String>>,
    #[serde(default)]
    layer_modules: BTreeMap<String, Vec<String>>,
    require_parallel_intent: Option<bool>,
    call_depth: Option<usize>,
    ignore_type_checking: Option<bool>,
    #[serde(default)]
    keys: BTreeMap<String, KeyTable>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
    domains: Option<DomainsTable>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsTable {
    concurrency: Option<String>,
    io: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyTable {
    /// Allowed values; absent: the key takes no value; `[]`: any value.
    values: Option<Vec<String>>,
    #[serde(default)]
    description: String,
}

impl IntentConfig {
    /// The configuration of the project at `root` (`pyatlas.toml`, else
    /// `pyproject.toml`), or the defaults; and the file it came from.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid file.
    pub fn for_root(root: &Path) -> Result<(Self, Option<PathBuf>), ConfigError> {
        let dir = if root.is_file() { root.parent().unwrap_or(root) } else { root };
        for name in ["pyatlas.toml", "pyproject.toml"] {
            let path = dir.join(name);
            if path.is_file() {
                return Ok((Self::from_file(&path)?, Some(path)));
            }
        }
        Ok((Self::default(), None))
    }

    /// The configuration in `path`: `[intent]` of a `pyatlas.toml`, or
    /// `[tool.pyatlas.intent]` of a `pyproject.toml` (by file name).
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or is invalid.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::new(path, e.to_string()))?;
        let document: toml::Table =
            toml::from_str(&text).map_err(|e| ConfigError::new(path, e.message().to_owned()))?;
        let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let keys: &[&str] = if is_pyproject { &["tool", "pyatlas", "intent"] } else { &["intent"] };
        let mut value = Some(toml::Value::Table(document));
        for key in keys {
            value = value.and_then(|v| v.get(*key).cloned());
        }
        let Some(value) = value else { return Ok(Self::default()) };
        let table: Table = value.try_into().map_err(|e: toml::de::Error| {
            ConfigError::new(path, format!("in [{}]: {}", keys.join("."), e.message()))
        })?;
        let mut config = Self::from_table(table).map_err(|message| ConfigError::new(path, message))?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        config.origin = Some((name, text));
        Ok(config)
    }

    /// Checks that the domains the rules rely on ([`IntentConfig::domains`])
    /// are in the classifier's taxonomy as loaded (`taxonomy`: its domain
    /// names). A domain renamed or disabled under `[classifier]` would
    /// silently turn rules off: that is an error naming the file and the key.
    ///
    /// # Errors
    /// [`ConfigError`] for the first domain the taxonomy lacks.
    pub fn check_domains(&self, taxonomy: &BTreeSet<String>) -> Result<(), ConfigError> {
        let wanted = std::iter::once(("concurrency", &self.domains.concurrency, "D001, D003 and D007"))
            .chain(self.domains.io.iter().map(|d| ("io", d, "D006")));
        for (key, domain, rules) in wanted {
            if taxonomy.contains(domain) {
                continue;
            }
            let (file, line) = self.locate(&format!("\"{domain}\""));
            let known: Vec<&str> = taxonomy.iter().map(String::as_str).collect();
            let message = format!(
                "line {line}: intent.domains.{key}: `{domain}` is not a domain of the classifier's taxonomy (renamed or \
                 disabled under [classifier]?), so {rules} would check nothing; name one of its domains ({}) \
                 under [intent.domains], or enable it",
                known.join(", ")
            );
            return Err(ConfigError::new(Path::new(&file), message));
        }
        Ok(())
    }

    /// The configuration file's name and the line of the first line that
    /// contains `needle` (1 when unknown).
    pub(crate) fn locate(&self, needle: &str) -> (String, u32) {
        match &self.origin {
            Some((name, text)) => {
                let line = text.lines().position(|l| l.contains(needle)).map_or(1, |i| i as u32 + 1);
                (name.clone(), line)
            }
            None => ("pyatlas.toml".to_owned(), 1),
        }
    }

    fn from_table(table: Table) -> Result<Self, String> {
        let mut config = Self::default();
        if let Some(layers) = table.layers {
            config.layers = layers;
        }
        for layer in table.layer_modules.keys() {
            if !config.layers.contains(layer) {
                return Err(format!(
                    "layer_modules.{layer}: `{layer}` is not in `layers` ({})",
                    config.layers.join(", ")
                ));
            }
        }
        config.layer_modules = table.layer_modules;
        config.require_parallel_intent = table.require_parallel_intent.unwrap_or(false);
        config.call_depth = table.call_depth.unwrap_or(3);
        config.ignore_type_checking = table.ignore_type_checking.unwrap_or(false);
        if let Some(domains) = table.domains {
            if let Some(concurrency) = domains.concurrency {
                config.domains.concurrency = concurrency;
            }
            if let Some(io) = domains.io {
                config.domains.io = io;
            }
        }
        for (key, spec) in table.keys {
            if config.vocabulary.get(&key).is_some() {
                if let Some(values) = spec.values {
                    config.vocabulary.allow_values(&key, values);
                }
                continue;
            }
            config.vocabulary.declare(key, KeySpec { values: spec.values, description: spec.description });
        }
        for (rule, severity) in table.severity {
            let rule: RuleId = rule.parse().map_err(|()| format!("severity: unknown rule `{rule}` (D001 to D008)"))?;
            let severity = match severity.as_str() {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                other => return Err(format!("severity.{rule}: `{other}` is neither `error` nor `warning`")),
            };
            config.severities.insert(rule, severity);
        }
        Ok(config)
    }
}
