//! import-linter configurations, read as import-linter 2.17 reads them:
//! `.importlinter`, `setup.cfg` (`[importlinter]`, `[importlinter:contract:ID]`)
//! or `pyproject.toml` (`[tool.importlinter]`, `[[tool.importlinter.contracts]]`),
//! every built-in contract type and its options. Every error names the
//! file, the contract and the option.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::ini::{self, Value};
use super::{
    Alerting, Contract, ContractError, ContractKind, ContractType, Layer, LayerModule, ModuleExpression, Scope,
};

/// The files import-linter looks for, in its order (INI readers first).
pub const CANDIDATES: [&str; 3] = ["setup.cfg", ".importlinter", "pyproject.toml"];

/// A configuration: its session options and its contracts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// `root_package` or `root_packages`.
    pub root_packages: Vec<String>,
    /// `include_external_packages`.
    pub include_external_packages: bool,
    /// `exclude_type_checking_imports`.
    pub exclude_type_checking_imports: bool,
    /// The contracts, in the file's order.
    pub contracts: Vec<Contract>,
}

/// One thing wrong with a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The line, when known (INI files).
    pub line: Option<usize>,
    /// The contract's name (or id), when the problem is in one.
    pub contract: Option<String>,
    /// The option, when the problem is in one.
    pub key: Option<String>,
    /// What is wrong, in import-linter's words where it has them.
    pub message: String,
}

/// A configuration that cannot be used: every problem found, with its file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ConfigError {
    /// The file (or the folder searched, when none was found).
    pub file: PathBuf,
    /// What is wrong.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            if let Some(contract) = &p.contract {
                write!(f, ": contract '{contract}'")?;
            }
            if let Some(key) = &p.key {
                write!(f, ": {key}")?;
            }
            write!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn one(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            problems: vec![Problem { line: None, contract: None, key: None, message: message.into() }],
        }
    }
}

/// A raw option: one value or a list, and its line in an INI file.
#[derive(Clone, Debug)]
struct Raw {
    value: Value,
    line: Option<usize>,
}

type Options = BTreeMap<String, Raw>;

impl Config {
    /// Finds and reads the configuration in `root` as lint-imports does:
    /// the first of [`CANDIDATES`] that has an import-linter section.
    ///
    /// # Errors
    /// No configuration, or an invalid one.
    pub fn discover(root: &Path) -> Result<Self, ConfigError> {
        Self::find(root)?.ok_or_else(|| {
            ConfigError::one(
                root,
                format!("Could not read any configuration: no import-linter section in {}.", CANDIDATES.join(", ")),
            )
        })
    }

    /// Like [`Config::discover`], but `None` when no file has an
    /// import-linter section.
    ///
    /// # Errors
    /// An unreadable or invalid configuration.
    pub fn find(root: &Path) -> Result<Option<Self>, ConfigError> {
        for name in CANDIDATES {
            let file = root.join(name);
            if file.is_file()
                && let Some(config) = Self::read(&file)?
            {
                return Ok(Some(config));
            }
        }
        Ok(None)
    }

    /// Reads `file`: as TOML when its name ends in `.toml`, else as INI.
    ///
    /// # Errors
    /// An unreadable file, one without an import-linter section, or an invalid configuration.
    pub fn from_file(file: &Path) -> Result<Self, ConfigError> {
        Self::read(file)?
            .ok_or_else(|| ConfigError::one(file, format!("Could not read any configuration from {}.", file.display())))
    }

    fn read(file: &Path) -> Result<Option<Self>, ConfigError> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| ConfigError::one(file, format!("Could not read {}: {e}.", file.display())))?;
        let raw = if file.extension().is_some_and(|e| e == "toml") {
            from_toml(file, &text)?
        } else {
            from_ini(file, &text)?
        };
        raw.map(|(session, contracts)| Self::build(file, session, contracts)).transpose()
    }

    fn build(file: &Path, session: Options, contracts: Vec<(Option<usize>, Options)>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |line: Option<usize>, contract: Option<&str>, key: Option<&str>, message: String| {
            problems.push(Problem {
                line,
                contract: contract.map(str::to_owned),
                key: key.map(str::to_owned),
                message,
            });
        };
        let root_packages = match (session.get("root_packages"), session.get("root_package")) {
            (Some(raw), _) | (None, Some(raw)) => list(raw),
            (None, None) => {
                problem(None, None, Some("root_packages"), "Either root_package or root_packages is required.".into());
                Vec::new()
            }
        };
        let flag = |key: &str| {
            session.get(key).is_some_and(|raw| matches!(&raw.value, Value::One(v) if v == "True" || v == "true"))
        };
        let custom: BTreeMap<String, String> = session
            .get("contract_types")
            .map(list)
            .unwrap_or_default()
            .into_iter()
            .map(|entry| match entry.split_once(':') {
                Some((name, class)) => (name.trim().to_owned(), class.trim().to_owned()),
                None => (entry.clone(), entry),
            })
            .collect();
        if contracts.is_empty() {
            problem(
                None,
                None,
                None,
                "No contracts found. Each contract goes in an 'importlinter:contract:<name>' section (INI files) or a 'tool.importlinter.contracts' array of tables (TOML files).".into(),
            );
        }
        let mut parsed = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for (line, options) in contracts {
            let name = options.get("name").and_then(|r| one(r).map(str::to_owned));
            let id = options.get("id").and_then(|r| one(r).map(str::to_owned));
            let label = name.clone().or_else(|| id.clone());
            let mut fields = Fields { options: &options, errors: Vec::new() };
            if name.is_none() {
                fields.errors.push(("name".into(), "This is a required field.".into()));
            }
            if let Some(id) = &id {
                if id.contains(':') {
                    fields.errors.push((
                        "id".into(),
                        format!("The contract id '{id}' is invalid. Contract ids may not contain a colon."),
                    ));
                }
                if ids.contains(id) {
                    fields.errors.push((
                        "id".into(),
                        format!("More than one contract has the id '{id}'. Contract ids must be unique within a file."),
                    ));
                }
                ids.push(id.clone());
            }
            let kind = match options.get("type").and_then(|r| one(r)) {
                None => {
                    fields.errors.push(("type".into(), "This is a required field.".into()));
                    None
                }
                Some(t) if custom.contains_key(t) => {
                    fields.errors.push((
                        "type".into(),
                        format!("'{t}' is a custom contract type ({}, registered by contract_types): a Python class cannot run here, so this contract is not checked.", custom[t]),
                    ));
                    None
                }
                Some(t) => match ContractType::ALL.into_iter().find(|c| c.as_str() == t) {
                    Some(contract_type) => fields.kind(contract_type),
                    None => {
                        fields.errors.push(("type".into(), format!("No such contract type: '{t}'.")));
                        None
                    }
                },
            };
            let ignore_imports =
                fields.list("ignore_imports", |s| s.parse().map_err(|e: super::ExpressionError| e.to_string()));
            let alerting = fields.alerting();
            let guidance = options.get("broken_contract_guidance").map(|raw| match &raw.value {
                Value::One(text) => text.clone(),
                Value::Many(lines) => lines.join("\n"),
            });
            let label_ref = label.as_deref();
            for (key, message) in &fields.errors {
                let line = options.get(key).and_then(|r| r.line).or(line);
                problem(line, label_ref, Some(key), message.clone());
            }
            let (Some(name), Some(kind), true) = (name, kind, fields.errors.is_empty()) else { continue };
            let contract = Contract {
                id,
                name,
                kind,
                ignore_imports: ignore_imports.unwrap_or_default(),
                unmatched_ignore_imports: alerting,
                broken_contract_guidance: guidance,
            };
            match contract.validate() {
                Ok(()) => parsed.push(contract),
                Err(ContractError::Invalid { key, message, .. }) => {
                    let line = options.get(&key).and_then(|r| r.line).or(line);
                    problem(line, label_ref, Some(&key), message);
                }
                Err(other) => problem(line, label_ref, None, other.to_string()),
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { file: file.to_path_buf(), problems });
        }
        Ok(Self {
            file: file.to_path_buf(),
            root_packages,
            include_external_packages: flag("include_external_packages"),
            exclude_type_checking_imports: flag("exclude_type_checking_imports"),
            contracts: parsed,
        })
    }

    /// The scope the contracts are checked in.
    pub fn scope(&self) -> Scope {
        Scope::new(self.root_packages.clone()).include_external_packages(self.include_external_packages)
    }
}

fn one(raw: &Raw) -> Option<&str> {
    match &raw.value {
        Value::One(v) => Some(v),
        Value::Many(_) => None,
    }
}

fn list(raw: &Raw) -> Vec<String> {
    match &raw.value {
        Value::One(v) => vec![v.clone()],
        Value::Many(v) => v.clone(),
    }
    .into_iter()
    .map(|s| s.trim().to_owned())
    .filter(|s| !s.is_empty())
    .collect()
}

/// The options of one contract, parsed field by field; errors gathered by key.
struct Fields<'a> {
    options: &'a Options,
    errors: Vec<(String, String)>,
}

impl Fields<'_> {
    fn list<T>(&mut self, key: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<Vec<T>> {
        let raw = self.options.get(key)?;
        let mut out = Vec::new();
        for item in list(raw) {
            match parse(&item) {
                Ok(v) => out.push(v),
                Err(message) => {
                    self.errors.push((key.to_owned(), message));
                    return None;
                }
            }
        }
        Some(out)
    }

    fn required_list<T>(&mut self, key: &str, parse: impl Fn(&str) -> Result<T, String>) -> Vec<T> {
        if !self.options.contains_key(key) {
            self.errors.push((key.to_owned(), "This is a required field.".into()));
            return Vec::new();
        }
        self.list(key, parse).unwrap_or_default()
    }

    fn modules(&mut self, key: &str, required: bool) -> Vec<ModuleExpression> {
        let parse = |s: &str| s.parse::<ModuleExpression>().map_err(|e| e.to_string());
        if required { self.required_list(key, parse) } else { self.list(key, parse).unwrap_or_default() }
    }

    fn single(&mut self, key: &str) -> Option<String> {
        let raw = self.options.get(key)?;
        match one(raw) {
            Some(v) => Some(v.to_owned()),
            None => {
                self.errors.push((key.to_owned(), "Expected a single value, got multiple values.".into()));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.single(key) {
            None => default,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.errors.push((key.to_owned(), format!("Could not parse a boolean from '{v}'.")));
                default
            }
        }
    }

    fn alerting(&mut self) -> Alerting {
        let key = "unmatched_ignore_imports_alerting";
        match self.single(key).as_deref().map(str::trim) {
            None | Some("") | Some("error") => Alerting::Error,
            Some("warn") => Alerting::Warn,
            Some("none") => Alerting::None,
            Some(other) => {
                self.errors
                    .push((key.to_owned(), format!("Invalid value '{other}': expected 'none', 'warn' or 'error'.")));
                Alerting::Error
            }
        }
    }

    fn kind(&mut self, contract_type: ContractType) -> Option<ContractKind> {
        let mut known: Vec<&str> = vec![
            "id",
            "name",
            "type",
            "ignore_imports",
            "unmatched_ignore_imports_alerting",
            "broken_contract_guidance",
        ];
        let kind = match contract_type {
            ContractType::Layers => {
                known.extend(["layers", "containers", "exhaustive", "exhaustive_ignores"]);
                let layers = self.required_list("layers", parse_layer);
                ContractKind::Layers {
                    layers,
                    containers: self.modules("containers", false),
                    exhaustive: self.boolean("exhaustive", false),
                    exhaustive_ignores: self.list("exhaustive_ignores", |s| Ok(s.to_owned())).unwrap_or_default(),
                }
            }
            ContractType::Forbidden => {
                known.extend(["source_modules", "forbidden_modules", "allow_indirect_imports", "as_packages"]);
                ContractKind::Forbidden {
                    source_modules: self.modules("source_modules", true),
                    forbidden_modules: self.modules("forbidden_modules", true),
                    allow_indirect_imports: self.boolean("allow_indirect_imports", false),
                    as_packages: self.boolean("as_packages", true),
                }
            }
            ContractType::Independence => {
                known.push("modules");
                ContractKind::Independence { modules: self.modules("modules", true) }
            }
            ContractType::Protected => {
                known.extend(["protected_modules", "allowed_importers", "as_packages"]);
                ContractKind::Protected {
                    protected_modules: self.modules("protected_modules", true),
                    allowed_importers: self.modules("allowed_importers", true),
                    as_packages: self.boolean("as_packages", true),
                }
            }
            ContractType::Tach => {
                self.errors.push((
                    "type".into(),
                    "No such contract type: 'tach' (tach's rules are read from tach.toml).".into(),
                ));
                return None;
            }
            ContractType::AcyclicSiblings => {
                known.extend(["ancestors", "depth", "skip_descendants"]);
                let depth = match self.single("depth") {
                    None => 10,
                    Some(v) => match v.trim().parse::<i64>() {
                        Ok(d) if d >= 0 => d as usize,
                        Ok(_) => {
                            self.errors.push(("depth".into(), "Must be >= 0.".into()));
                            0
                        }
                        Err(_) => {
                            self.errors.push(("depth".into(), format!("'{v}' is not an integer.")));
                            0
                        }
                    },
                };
                ContractKind::AcyclicSiblings {
                    ancestors: self.modules("ancestors", true),
                    depth,
                    skip_descendants: self.modules("skip_descendants", false),
                }
            }
        };
        let unknown: Vec<String> = self.options.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect();
        for key in unknown {
            let mut message = "Unrecognized option.".to_owned();
            if let Some(close) = closest(&key, &known) {
                message.push_str(&format!(" Did you mean '{close}'?"));
            }
            self.errors.push((key, message));
        }
        Some(kind)
    }
}

/// The known option most like `key`, when it is close (difflib's 0.6 cut-off).
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let ratio = |a: &str, b: &str| {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 0..a.len() {
            for j in 0..b.len() {
                table[i + 1][j + 1] = if a[i] == b[j] { table[i][j] + 1 } else { table[i][j + 1].max(table[i + 1][j]) };
            }
        }
        2.0 * table[a.len()][b.len()] as f64 / (a.len() + b.len()).max(1) as f64
    };
    known
        .iter()
        .map(|k| (ratio(key, k), *k))
        .filter(|(r, _)| *r >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// One layer: `name`, `(optional)`, `a | b` (independent) or `a : b`.
fn parse_layer(text: &str) -> Result<Layer, String> {
    let (independent, separator) = match (text.contains('|'), text.contains(':')) {
        (true, true) => return Err("Layer cannot have a mixture of independent and non-independent elements.".into()),
        (true, false) => (true, Some('|')),
        (false, true) => (false, Some(':')),
        (false, false) => (true, None),
    };
    let items: Vec<&str> = match separator {
        Some(s) => text.split(s).map(str::trim).collect(),
        None => vec![text.trim()],
    };
    let modules = items
        .into_iter()
        .map(|item| match item.strip_prefix('(').and_then(|i| i.strip_suffix(')')) {
            Some(inner) => LayerModule { name: inner.to_owned(), optional: true },
            None => LayerModule { name: item.to_owned(), optional: false },
        })
        .collect();
    let layer = Layer { modules, independent, closed: false };
    match layer.problem() {
        Some(problem) => Err(problem),
        None => Ok(layer),
    }
}

type RawConfig = (Options, Vec<(Option<usize>, Options)>);

fn from_ini(file: &Path, text: &str) -> Result<Option<RawConfig>, ConfigError> {
    let sections = ini::parse(text).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        problems: vec![Problem { line: Some(e.line), contract: None, key: None, message: e.message }],
    })?;
    let raw = |section: &ini::Section| -> Options {
        section.options.iter().map(|(k, e)| (k.clone(), Raw { value: e.value.clone(), line: Some(e.line) })).collect()
    };
    let Some((_, session)) = sections.iter().find(|(name, _)| name == "importlinter") else { return Ok(None) };
    let contracts = sections
        .iter()
        .filter_map(|(name, section)| {
            let id = name.strip_prefix("importlinter:")?;
            let id = id.rsplit(':').next().unwrap_or(id);
            let mut options = raw(section);
            options.insert("id".into(), Raw { value: Value::One(id.to_owned()), line: Some(section.line) });
            Some((Some(section.line), options))
        })
        .collect();
    Ok(Some((raw(session), contracts)))
}

fn from_toml(file: &Path, text: &str) -> Result<Option<RawConfig>, ConfigError> {
    let document: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::one(file, e.to_string()))?;
    let Some(section) = document.get("tool").and_then(|t| t.get("importlinter")).and_then(toml::Value::as_table) else {
        return Ok(None);
    };
    if section.is_empty() {
        return Ok(None);
    }
    let convert = |table: &toml::Table, contract: Option<&str>| -> Result<Options, ConfigError> {
        let mut options = Options::new();
        for (key, value) in table {
            let value = match value {
                toml::Value::String(s) => Value::One(s.clone()),
                toml::Value::Boolean(b) => Value::One(if *b { "True" } else { "False" }.to_owned()),
                toml::Value::Integer(i) => Value::One(i.to_string()),
                toml::Value::Array(items) => Value::Many(
                    items
                        .iter()
                        .map(|i| match i {
                            toml::Value::String(s) => Ok(s.clone()),
                            other => Err(other.to_string()),
                        })
                        .collect::<Result<_, _>>()
                        .map_err(|v| ConfigError {
                            file: file.to_path_buf(),
                            problems: vec![Problem {
                                line: None,
                                contract: contract.map(str::to_owned),
                                key: Some(key.clone()),
                                message: format!("Expected strings, got {v}."),
                            }],
                        })?,
                ),
                other => {
                    return Err(ConfigError {
                        file: file.to_path_buf(),
                        problems: vec![Problem {
                            line: None,
                            contract: contract.map(str::to_owned),
                            key: Some(key.clone()),
                            message: format!("Expected a string, a boolean or a list, got {other}."),
                        }],
                    });
                }
            };
            options.insert(key.clone(), Raw { value, line: None });
        }
        Ok(options)
    };
    let mut session = section.clone();
    let contracts = match session.remove("contracts") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_table() {
                Some(table) => {
                    let label = table.get("name").and_then(toml::Value::as_str);
                    convert(table, label).map(|o| (None, o))
                }
                None => Err(ConfigError::one(file, "tool.importlinter.contracts must be an array of tables.")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ConfigError::one(file, "tool.importlinter.contracts must be an array of tables.")),
    };
    Ok(Some((convert(&session, None)?, contracts)))
}

impl Config {
    /// How to build the graph these contracts are checked on, for the
    /// codebase at `root`: only the root packages, found in `root` or in
    /// `root/src` as lint-imports finds them on the path; external packages
    /// and `TYPE_CHECKING` imports as the configuration says.
    ///
    /// # Errors
    /// A root package found in neither place, or found as a module.
    pub fn graph_config(&self, root: &Path) -> Result<crate::GraphConfig, ConfigError> {
        let mut source_roots: Vec<PathBuf> = Vec::new();
        let mut include = Vec::new();
        for package in &self.root_packages {
            let path = package.replace('.', "/");
            let Some(base) = ["", "src"].into_iter().find(|base| root.join(base).join(&path).is_dir()) else {
                let message = if ["", "src"].iter().any(|b| root.join(b).join(format!("{path}.py")).is_file()) {
                    format!(
                        "'{package}' is a module, not a package. root_packages should only contain packages (directories with __init__.py), not individual .py files."
                    )
                } else {
                    format!("Could not find root package '{package}' in {} or its src folder.", root.display())
                };
                return Err(ConfigError::one(&self.file, message));
            };
            if !source_roots.iter().any(|r| r == Path::new(base)) {
                source_roots.push(PathBuf::from(base));
            }
            include.push(if base.is_empty() { format!("{path}/**") } else { format!("{base}/{path}/**") });
        }
        let discovery = pyatlas_parser::Config::default().source_roots(source_roots).include(include);
        Ok(crate::GraphConfig::default()
            .discovery(discovery)
            .include_external(self.include_external_packages)
            .include_type_checking(!self.exclude_type_checking_imports))
    }
}
