//! tach's `tach.toml` (or `[tool.tach]` in `pyproject.toml`), read as tach
//! 0.35 reads it, and `tach check`'s dependency and layer checks: every
//! import of a module's files must be to a module it may depend on.
//!
//! Read and checked: `source_roots`, `exclude`, `[[modules]]` (`path` or
//! `paths`, globs included), `depends_on` (strings or `{path, deprecated}`,
//! globs included), `cannot_depend_on`, `layer`, `utility`, `visibility`,
//! `unchecked`; `layers` (strings or `{name, closed}`), `root_module`,
//! `ignore_type_checking_imports`, `forbid_circular_dependencies`,
//! `layers_explicit_depends_on`, `exact`, and `# tach-ignore` comments.
//! Not checked: `[[interfaces]]` (a configuration with interfaces gets a
//! warning saying so), `tach check-external`'s `[external]`, and domains.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

use super::importlinter::{ConfigError, Problem};
use super::{ContractReport, ContractType, Violation};
use crate::imports::{ImportGraph, ModuleKind};
use crate::query::Hop;

/// The name of the root module in tach's configuration.
pub const ROOT_MODULE: &str = "<root>";

/// tach's default `exclude`.
pub const DEFAULT_EXCLUDE: [&str; 5] = ["**/tests", "**/docs", "**/*__pycache__", "**/*egg-info", "**/venv"];

/// A tach configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The file it was read from.
    #[serde(skip)]
    pub file: PathBuf,
    /// Modules and their rules.
    #[serde(default)]
    pub modules: Vec<Module>,
    /// Layers, highest first.
    #[serde(default)]
    pub layers: Vec<LayerEntry>,
    /// Folders (relative to the project) that hold the top-level packages.
    #[serde(default = "dot")]
    pub source_roots: Vec<PathBuf>,
    /// Globs of paths left out.
    #[serde(default = "default_exclude")]
    pub exclude: Vec<String>,
    /// Declared dependencies that are never used are errors.
    #[serde(default)]
    pub exact: bool,
    /// Imports under `if TYPE_CHECKING:` are not checked (default `true`).
    #[serde(default = "yes")]
    pub ignore_type_checking_imports: bool,
    /// Declared dependencies may not form a cycle.
    #[serde(default)]
    pub forbid_circular_dependencies: bool,
    /// A higher layer's import of a lower one must be declared too.
    #[serde(default)]
    pub layers_explicit_depends_on: bool,
    /// How files outside every module are treated.
    #[serde(default)]
    pub root_module: RootModule,
    /// `[[interfaces]]`: not checked here.
    #[serde(default)]
    pub interfaces: Vec<toml::Value>,
    /// The `tach.domain.toml` files of the project, by the module of their folder.
    #[serde(skip)]
    pub domains: Vec<Domain>,
    // Read so that they are not unknown keys; not used by these checks.
    #[serde(default, rename = "include_string_imports")]
    _include_string_imports: bool,
    #[serde(default, rename = "respect_gitignore")]
    _respect_gitignore: Option<toml::Value>,
    #[serde(default, rename = "cache")]
    _cache: Option<toml::Value>,
    #[serde(default, rename = "external")]
    _external: Option<toml::Value>,
    #[serde(default, rename = "map")]
    _map: Option<toml::Value>,
    /// `[rules]`: what an unused or unexplained `# tach-ignore` and a
    /// function-level import cost.
    #[serde(default)]
    pub rules: Rules,
    #[serde(default, rename = "plugins")]
    _plugins: Option<toml::Value>,
}

fn dot() -> Vec<PathBuf> {
    vec![PathBuf::from(".")]
}

fn default_exclude() -> Vec<String> {
    DEFAULT_EXCLUDE.iter().map(|s| (*s).to_owned()).collect()
}

fn yes() -> bool {
    true
}

/// tach's `[rules]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Rules {
    /// A `# tach-ignore` that ignores nothing (default: warn).
    #[serde(default = "warn")]
    pub unused_ignore_directives: RuleSetting,
    /// A `# tach-ignore` without a `(reason)` (default: off).
    #[serde(default = "off")]
    pub require_ignore_directive_reasons: RuleSetting,
    /// A broken rule by an import inside a function (default: error).
    #[serde(default = "error_setting")]
    pub local_imports: RuleSetting,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            unused_ignore_directives: warn(),
            require_ignore_directive_reasons: off(),
            local_imports: error_setting(),
        }
    }
}

fn warn() -> RuleSetting {
    RuleSetting::Warn
}

fn off() -> RuleSetting {
    RuleSetting::Off
}

fn error_setting() -> RuleSetting {
    RuleSetting::Error
}

/// How a rule's breach counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSetting {
    /// It breaks the contract.
    Error,
    /// A warning.
    Warn,
    /// Nothing.
    Off,
}

/// `root_module`: how the files outside every module count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootModule {
    /// Not checked, and free to import (the default).
    #[default]
    Ignore,
    /// A module of its own, `<root>`, checked like the others.
    Allow,
    /// `<root>` may not appear in the configuration.
    Forbid,
    /// `<root>` is checked for what it imports; importing it is free.
    #[serde(rename = "dependenciesonly")]
    DependenciesOnly,
}

/// A `[[modules]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Module {
    /// Its dotted path (a glob allowed).
    #[serde(default)]
    pub path: Option<String>,
    /// Several paths with the same rules.
    #[serde(default)]
    pub paths: Vec<String>,
    /// What it may import; absent: anything.
    #[serde(default)]
    pub depends_on: Option<Vec<Dependency>>,
    /// What it may never import.
    #[serde(default)]
    pub cannot_depend_on: Vec<Dependency>,
    /// Its layer.
    #[serde(default)]
    pub layer: Option<String>,
    /// Anyone may import it.
    #[serde(default)]
    pub utility: bool,
    /// Who may declare a dependency on it (globs).
    #[serde(default)]
    pub visibility: Option<Vec<String>>,
    /// Its own imports are not checked.
    #[serde(default)]
    pub unchecked: bool,
    #[serde(default, rename = "depends_on_external")]
    _depends_on_external: Option<toml::Value>,
    #[serde(default, rename = "cannot_depend_on_external")]
    _cannot_depend_on_external: Option<toml::Value>,
    #[serde(default, rename = "strict")]
    _strict: Option<toml::Value>,
}

/// A dependency: a path (glob allowed), maybe deprecated.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Dependency {
    /// `"pkg.mod"`.
    Path(String),
    /// `{path = "pkg.mod", deprecated = true}`.
    Detailed {
        /// The path.
        path: String,
        /// Using it is a warning, not an error.
        #[serde(default)]
        deprecated: bool,
    },
}

impl Dependency {
    /// The path.
    pub fn path(&self) -> &str {
        match self {
            Self::Path(path) | Self::Detailed { path, .. } => path,
        }
    }

    fn deprecated(&self) -> bool {
        matches!(self, Self::Detailed { deprecated: true, .. })
    }
}

/// A `layers` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum LayerEntry {
    /// `"core"`.
    Name(String),
    /// `{name = "core", closed = true}`.
    Detailed {
        /// The layer's name.
        name: String,
        /// Higher layers may not import below it except through it.
        #[serde(default)]
        closed: bool,
    },
}

impl LayerEntry {
    fn name(&self) -> &str {
        match self {
            Self::Name(name) | Self::Detailed { name, .. } => name,
        }
    }

    fn closed(&self) -> bool {
        matches!(self, Self::Detailed { closed: true, .. })
    }
}

/// A `tach.domain.toml`: the rules of one package's modules, with paths
/// relative to it (`//pkg.x` is absolute, `<domain_root>` the package).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Domain {
    /// The package the file's folder is.
    #[serde(skip)]
    pub module: String,
    /// The package's own rules.
    #[serde(default)]
    pub root: Option<Module>,
    /// Its modules.
    #[serde(default)]
    pub modules: Vec<Module>,
    /// Not checked here.
    #[serde(default)]
    pub interfaces: Vec<toml::Value>,
}

impl Domain {
    fn resolve(&self, path: &str) -> String {
        if let Some(absolute) = path.strip_prefix("//") {
            absolute.to_owned()
        } else if path == "<domain_root>" {
            self.module.clone()
        } else {
            format!("{}.{path}", self.module)
        }
    }

    fn resolve_module(&self, module: &Module, path: String) -> (String, Module) {
        let deps = |deps: &[Dependency]| -> Vec<Dependency> {
            deps.iter()
                .map(|d| Dependency::Detailed { path: self.resolve(d.path()), deprecated: d.deprecated() })
                .collect()
        };
        let mut resolved = module.clone();
        resolved.path = Some(path.clone());
        resolved.paths = Vec::new();
        resolved.depends_on = module.depends_on.as_deref().map(deps);
        resolved.cannot_depend_on = deps(&module.cannot_depend_on);
        resolved.visibility = module.visibility.as_ref().map(|v| v.iter().map(|p| self.resolve(p)).collect());
        (path, resolved)
    }

    /// Every (path or glob, rules) of the domain, resolved.
    fn rules(&self) -> Vec<(String, Module)> {
        let mut rules: Vec<(String, Module)> =
            self.root.iter().map(|r| self.resolve_module(r, self.module.clone())).collect();
        for module in &self.modules {
            for path in paths(module) {
                rules.push(self.resolve_module(module, self.resolve(path)));
            }
        }
        rules
    }
}

/// The `tach.domain.toml` files under `root`'s source roots, outside `exclude`.
fn find_domains(root: &Path, source_roots: &[PathBuf], exclude: &[String]) -> Result<Vec<Domain>, ConfigError> {
    let mut globs = globset::GlobSetBuilder::new();
    for pattern in exclude {
        if let Ok(glob) = globset::Glob::new(pattern) {
            globs.add(glob);
        }
    }
    let excluded = globs.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let mut domains = Vec::new();
    for source_root in source_roots {
        let base = root.join(source_root);
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
            entries.sort();
            for path in entries {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if name.starts_with('.') || excluded.is_match(&relative) {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else if name == "tach.domain.toml" && dir != base {
                    let text = read(&path)?;
                    let mut domain: Domain =
                        toml::from_str(&text).map_err(|e| error(&path, None, e.message().to_owned()))?;
                    let folder = dir.strip_prefix(&base).unwrap_or(&dir);
                    domain.module = folder.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join(".");
                    domains.push(domain);
                }
            }
        }
    }
    Ok(domains)
}

/// tach's module globs: names as path segments, `*` within one, `**` any depth.
fn matcher(pattern: &str) -> Option<GlobMatcher> {
    if !pattern.contains(['*', '?', '[', '{']) {
        return None;
    }
    let mut glob = pattern.split('.').collect::<Vec<_>>().join("/");
    if let Some(base) = glob.strip_suffix("/**") {
        glob = format!("{base}{{,/**}}");
    }
    GlobBuilder::new(&glob).literal_separator(true).empty_alternates(true).build().ok().map(|g| g.compile_matcher())
}

/// A module path or glob, compiled once.
struct Pattern {
    text: String,
    glob: Option<GlobMatcher>,
}

impl Pattern {
    fn new(text: &str) -> Self {
        Self { text: text.to_owned(), glob: matcher(text) }
    }

    fn matches(&self, module: &str) -> bool {
        match &self.glob {
            Some(glob) => glob.is_match(module.replace('.', "/")),
            None => self.text == module,
        }
    }
}

impl Config {
    /// `tach.toml` in `root`, else `[tool.tach]` of its `pyproject.toml`;
    /// `None` when there is neither.
    ///
    /// # Errors
    /// A file that cannot be read or is not a valid configuration.
    pub fn discover(root: &Path) -> Result<Option<Self>, ConfigError> {
        let file = root.join("tach.toml");
        if file.is_file() {
            return Self::from_file(&file).map(Some);
        }
        let pyproject = root.join("pyproject.toml");
        if pyproject.is_file() {
            let text = read(&pyproject)?;
            let table: toml::Table =
                text.parse().map_err(|e: toml::de::Error| error(&pyproject, None, e.to_string()))?;
            if let Some(tach) = table.get("tool").and_then(|t| t.get("tach")) {
                return Self::parse(&pyproject, tach.clone()).map(Some);
            }
        }
        Ok(None)
    }

    /// Reads a `tach.toml` (or a `pyproject.toml` with `[tool.tach]`).
    ///
    /// # Errors
    /// A file that cannot be read or is not a valid configuration.
    pub fn from_file(file: &Path) -> Result<Self, ConfigError> {
        let text = read(file)?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| error(file, None, e.to_string()))?;
        match table.get("tool").and_then(|t| t.get("tach")) {
            Some(tach) if file.file_name().is_some_and(|n| n == "pyproject.toml") => Self::parse(file, tach.clone()),
            _ => Self::parse(file, toml::Value::Table(table)),
        }
    }

    fn parse(file: &Path, value: toml::Value) -> Result<Self, ConfigError> {
        let mut config: Self =
            value.try_into().map_err(|e: toml::de::Error| error(file, None, e.message().to_owned()))?;
        config.file = file.to_path_buf();
        let project = file.parent().unwrap_or(Path::new("."));
        config.domains = find_domains(project, &config.source_roots, &config.exclude)?;
        for (i, module) in config.modules.iter().enumerate() {
            if module.path.is_none() && module.paths.is_empty() {
                return Err(error(file, Some(format!("modules[{i}]")), "a module needs `path` or `paths`.".into()));
            }
            if let Some(layer) = &module.layer
                && !config.layers.iter().any(|l| l.name() == layer)
            {
                return Err(error(
                    file,
                    Some(module_label(module)),
                    format!("Layer '{layer}' is not defined in the project's layers."),
                ));
            }
        }
        if config.root_module == RootModule::Forbid {
            let named: Vec<String> = config
                .modules
                .iter()
                .filter(|m| paths(m).any(|p| p == ROOT_MODULE) || all_deps(m).any(|d| d.path() == ROOT_MODULE))
                .map(module_label)
                .collect();
            if !named.is_empty() {
                return Err(error(
                    file,
                    None,
                    format!(
                        "The root module ('{ROOT_MODULE}') is forbidden, but was found in module configuration for modules: {}.",
                        named.join(", ")
                    ),
                ));
            }
        }
        Ok(config)
    }

    /// How to build the graph tach checks: the source roots, without the
    /// excluded paths, with or without `TYPE_CHECKING` imports.
    pub fn graph_config(&self) -> crate::GraphConfig {
        let source_roots: Vec<PathBuf> =
            self.source_roots.iter().map(|r| if r == Path::new(".") { PathBuf::new() } else { r.clone() }).collect();
        let exclude: Vec<String> = self.exclude.iter().flat_map(|g| [g.clone(), format!("{g}/**")]).collect();
        // tach's modules include stubs (`extension.pyi` for a compiled extension).
        let discovery =
            pyatlas_parser::Config::default().source_roots(source_roots).exclude(exclude).include_stubs(true);
        // External packages in the graph too: their lines exempt `# tach-ignore`s, as in tach.
        crate::GraphConfig::default()
            .discovery(discovery)
            .include_external(true)
            .include_type_checking(!self.ignore_type_checking_imports)
    }
}

fn read(file: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(file).map_err(|e| error(file, None, format!("Could not read {}: {e}.", file.display())))
}

fn error(file: &Path, contract: Option<String>, message: String) -> ConfigError {
    ConfigError { file: file.to_path_buf(), problems: vec![Problem { line: None, contract, key: None, message }] }
}

fn paths(module: &Module) -> impl Iterator<Item = &str> {
    module.path.iter().chain(&module.paths).map(String::as_str)
}

fn all_deps(module: &Module) -> impl Iterator<Item = &Dependency> {
    module.depends_on.iter().flatten().chain(&module.cannot_depend_on)
}

fn module_label(module: &Module) -> String {
    paths(module).collect::<Vec<_>>().join(", ")
}

/// Why a pair of modules breaks tach's rules, and the imports that do.
type Broken = (String, Vec<Vec<Hop>>);

/// A module of the tree: a configured path resolved to a module of the
/// codebase, with its dependency patterns compiled.
struct Resolved {
    path: String,
    /// The glob it was found by, if any: such a module gives way to one named otherwise.
    origin: Option<String>,
    config: Module,
    /// `depends_on`, with whether each is deprecated.
    depends_on: Option<Vec<(Pattern, bool)>>,
    cannot_depend_on: Vec<Pattern>,
}

impl Resolved {
    fn new(path: String, origin: Option<String>, config: Module) -> Self {
        let depends_on = config
            .depends_on
            .as_ref()
            .map(|deps| deps.iter().map(|d| (Pattern::new(d.path()), d.deprecated())).collect());
        let cannot_depend_on = config.cannot_depend_on.iter().map(|d| Pattern::new(d.path())).collect();
        Self { path, origin, config, depends_on, cannot_depend_on }
    }
}

impl Config {
    /// Checks every import of the codebase in `graph` (built with
    /// [`Config::graph_config`] from `root`) as `tach check` does.
    ///
    /// # Errors
    /// A configuration tach refuses: a module declared twice, a dependency
    /// on a module whose `visibility` excludes the declarer, a cycle of
    /// declared dependencies under `forbid_circular_dependencies`.
    pub fn check(&self, graph: &ImportGraph, root: &Path) -> Result<ContractReport, ConfigError> {
        let internal: Vec<&str> =
            graph.modules().filter(|m| m.kind == ModuleKind::Internal).map(|m| m.name.as_str()).collect();
        let mut warnings = Vec::new();
        let mut rules: Vec<(String, Module)> =
            self.modules.iter().flat_map(|m| paths(m).map(move |p| (p.to_owned(), m.clone()))).collect();
        rules.extend(self.domains.iter().flat_map(Domain::rules));
        let mut modules: Vec<Resolved> = Vec::new();
        let mut duplicates = BTreeSet::new();
        let mut add =
            |modules: &mut Vec<Resolved>, module: Resolved| match modules.iter().position(|m| m.path == module.path) {
                Some(i) if modules[i].origin.is_some() && modules[i].origin != module.origin => modules[i] = module,
                Some(_) => {
                    duplicates.insert(module.path.clone());
                }
                None => modules.push(module),
            };
        for (path, config) in rules {
            let pattern = Pattern::new(&path);
            if path == ROOT_MODULE || (pattern.glob.is_none() && internal.contains(&path.as_str())) {
                add(&mut modules, Resolved::new(path, None, config));
            } else if pattern.glob.is_some() {
                for name in internal.iter().filter(|m| pattern.matches(m)) {
                    add(&mut modules, Resolved::new((*name).to_owned(), Some(path.clone()), config.clone()));
                }
            } else {
                warnings.push(format!("Module '{path}' not found. It will be skipped."));
            }
        }
        if !duplicates.is_empty() {
            return Err(error(
                &self.file,
                None,
                format!(
                    "Failed to build module tree. The following modules were defined more than once: {}",
                    duplicates.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        self.check_visibility(&modules)?;
        if self.forbid_circular_dependencies {
            self.check_cycles(&modules)?;
        }
        let interfaces = self.interfaces.len() + self.domains.iter().map(|d| d.interfaces.len()).sum::<usize>();
        if interfaces > 0 {
            warnings.push(format!(
                "{interfaces} [[interfaces]] entries are not checked: pyatlas checks tach's dependencies and layers, not its interfaces."
            ));
        }
        let by_path: HashMap<&str, &Resolved> = modules.iter().map(|m| (m.path.as_str(), m)).collect();
        let nearest = |name: &str| -> Option<&Resolved> {
            let mut candidate = name;
            loop {
                if let Some(m) = by_path.get(candidate) {
                    return Some(m);
                }
                candidate = candidate.rsplit_once('.')?.0;
            }
        };
        let root_module = by_path.get(ROOT_MODULE).copied();
        let mut directives = Directives::default();
        // (tach module, tach module) -> (why, the imports).
        let mut violations: BTreeMap<(String, String), Broken> = BTreeMap::new();
        let mut used: BTreeSet<(String, String)> = BTreeSet::new();
        let mut checked_files: BTreeMap<PathBuf, (String, String)> = BTreeMap::new();
        let source_of = |importer: &str| -> Option<&Resolved> {
            let source = match nearest(importer) {
                Some(m) => m,
                None if self.root_module == RootModule::Ignore => return None,
                None => root_module?,
            };
            let ignored =
                source.config.unchecked || (source.path == ROOT_MODULE && self.root_module == RootModule::Ignore);
            (!ignored).then_some(source)
        };
        for module in graph.modules().filter(|m| m.kind == ModuleKind::Internal) {
            if let (Some(path), Some(source)) = (&module.path, source_of(&module.name)) {
                checked_files.insert(root.join(path), (source.path.clone(), module.name.clone()));
            }
        }
        for (importer, imported, edge) in graph.edges() {
            let (Some(from), Some(to)) = (graph.module(importer), graph.module(imported)) else { continue };
            let (Some(path), Some(source)) = (&from.path, source_of(importer)) else { continue };
            let file = root.join(path);
            if to.kind != ModuleKind::Internal {
                // tach drops the directives of imports outside the project.
                directives.exempt(&file, &edge.lines);
                continue;
            }
            let target = match nearest(imported) {
                Some(m) => m,
                None if matches!(self.root_module, RootModule::Ignore | RootModule::DependenciesOnly) => continue,
                None => match root_module {
                    Some(m) => m,
                    None => continue,
                },
            };
            if target.path == ROOT_MODULE
                && matches!(self.root_module, RootModule::Ignore | RootModule::DependenciesOnly)
            {
                continue;
            }
            if std::ptr::eq(source, target) {
                continue;
            }
            let verdict = self.rule(source, target, &mut warnings);
            let setting = if edge.function_level { self.rules.local_imports } else { RuleSetting::Error };
            for &line in &edge.lines {
                if verdict.broken.is_some() && directives.ignores(&file, line, imported) {
                    continue;
                }
                if verdict.detected {
                    used.insert((source.path.clone(), target.path.clone()));
                }
                let Some(reason) = &verdict.broken else { continue };
                if setting == RuleSetting::Off {
                    continue;
                }
                if setting == RuleSetting::Warn {
                    warnings.push(format!("{path}:{line}: {reason}"));
                    continue;
                }
                let key = (source.path.clone(), target.path.clone());
                let (why, chains) = violations.entry(key).or_default();
                why.clone_from(reason);
                chains.push(vec![Hop {
                    importer: importer.to_owned(),
                    imported: imported.to_owned(),
                    lines: vec![line],
                }]);
            }
        }
        for (file, (source, module)) in &checked_files {
            for (line, message, setting) in directives.problems(file, &self.rules) {
                let relative = file.strip_prefix(root).unwrap_or(file).display().to_string();
                match setting {
                    RuleSetting::Error => {
                        let (why, chains) = violations.entry((source.clone(), "tach-ignore".to_owned())).or_default();
                        message.clone_into(why);
                        chains.push(vec![Hop {
                            importer: module.clone(),
                            imported: "tach-ignore".to_owned(),
                            lines: vec![u32::try_from(line).unwrap_or(u32::MAX)],
                        }]);
                    }
                    RuleSetting::Warn => warnings.push(format!("{relative}:{line}: {message}")),
                    RuleSetting::Off => {}
                }
            }
        }
        let mut violations: Vec<Violation> = violations
            .into_iter()
            .map(|((importer, imported), (reason, chains))| Violation {
                importer,
                imported,
                chains,
                reason: Some(reason),
            })
            .collect();
        if self.exact {
            for module in modules.iter().filter(|m| m.origin.is_none()) {
                for (dep, _) in module.depends_on.iter().flatten() {
                    let detected = used.iter().any(|(from, to)| *from == module.path && dep.matches(to));
                    if !detected {
                        violations.push(Violation {
                            importer: module.path.clone(),
                            imported: dep.text.clone(),
                            chains: Vec::new(),
                            reason: Some(format!(
                                "Module '{}' declares a dependency on '{}' which is never used.",
                                module.path, dep.text
                            )),
                        });
                    }
                }
            }
        }
        let kept = violations.is_empty();
        Ok(ContractReport {
            id: Some("tach".to_owned()),
            name: format!(
                "tach ({})",
                self.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ),
            contract_type: ContractType::Tach,
            kept,
            violations,
            undeclared_modules: Vec::new(),
            warnings,
            ignored_imports: 0,
            guidance: None,
        })
    }

    /// tach's rules for one import between two modules.
    fn rule(&self, source: &Resolved, target: &Resolved, warnings: &mut Vec<String>) -> Verdict {
        let broken = |reason: String| Verdict { broken: Some(reason), detected: true };
        let allowed = |detected: bool| Verdict { broken: None, detected };
        if let (Some(from_layer), Some(to_layer)) = (&source.config.layer, &target.config.layer) {
            let index = |name: &str| self.layers.iter().position(|l| l.name() == name);
            if let (Some(from), Some(to)) = (index(from_layer), index(to_layer)) {
                if from > to {
                    return broken(format!(
                        "Layer '{from_layer}' ('{}') is lower than layer '{to_layer}' ('{}').",
                        source.path, target.path
                    ));
                }
                if from < to {
                    if let Some(closed) = self.layers[from + 1..to].iter().find(|l| l.closed()) {
                        return broken(format!(
                            "Layer '{from_layer}' ('{}') cannot import from layer '{to_layer}' ('{}') because layer '{}' is a closed layer between them.",
                            source.path,
                            target.path,
                            closed.name()
                        ));
                    }
                    if !self.layers_explicit_depends_on || target.config.utility {
                        return allowed(false);
                    }
                }
            }
        }
        if source.cannot_depend_on.iter().any(|d| d.matches(&target.path)) {
            return broken(format!("Module '{}' cannot depend on '{}'.", source.path, target.path));
        }
        let Some(declared) = &source.depends_on else { return allowed(false) };
        if target.config.utility {
            return allowed(false);
        }
        match declared.iter().find(|(d, _)| d.matches(&target.path)) {
            Some((_, deprecated)) => {
                if *deprecated {
                    let warning = format!("Import of '{}' by '{}' is deprecated.", target.path, source.path);
                    if !warnings.contains(&warning) {
                        warnings.push(warning);
                    }
                }
                allowed(true)
            }
            None => broken(format!("Module '{}' cannot depend on '{}'.", source.path, target.path)),
        }
    }

    fn check_visibility(&self, modules: &[Resolved]) -> Result<(), ConfigError> {
        for module in modules {
            for dep in module.config.depends_on.iter().flatten() {
                let Some(target) = modules.iter().find(|m| m.path == dep.path()) else { continue };
                let Some(visibility) = &target.config.visibility else { continue };
                if !visibility.iter().any(|pattern| {
                    globset::Glob::new(pattern)
                        .map(|g| g.compile_matcher().is_match(&module.path))
                        .unwrap_or(pattern == &module.path)
                }) {
                    return Err(error(
                        &self.file,
                        Some(module.path.clone()),
                        format!(
                            "Module '{}' cannot depend on '{}' because '{}' does not match its visibility: {}.",
                            module.path,
                            target.path,
                            module.path,
                            visibility.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_cycles(&self, modules: &[Resolved]) -> Result<(), ConfigError> {
        let mut names: Vec<&str> = Vec::new();
        let mut edges: Vec<(u32, u32)> = Vec::new();
        let mut index = |name| match names.iter().position(|n| *n == name) {
            Some(i) => i as u32,
            None => {
                names.push(name);
                (names.len() - 1) as u32
            }
        };
        for module in modules {
            let from = index(module.path.as_str());
            for dep in module.config.depends_on.iter().flatten() {
                let to = index(dep.path());
                edges.push((from, to));
            }
        }
        let graph = petgraph::graph::DiGraph::<(), ()>::from_edges(&edges);
        let mut cyclic: Vec<&str> = petgraph::algo::kosaraju_scc(&graph)
            .into_iter()
            .filter(|c| c.len() > 1)
            .flatten()
            .map(|n| names[n.index()])
            .collect();
        cyclic.sort_unstable();
        if cyclic.is_empty() {
            return Ok(());
        }
        Err(error(&self.file, None, format!("Circular dependency detected for module(s): {}", cyclic.join(", "))))
    }
}

/// What tach's rules say of one import.
struct Verdict {
    /// Why it breaks them.
    broken: Option<String>,
    /// `tach sync` would count it as a dependency (for `exact`).
    detected: bool,
}

/// A `# tach-ignore` comment.
struct Directive {
    /// Its own line.
    line: usize,
    /// The line it covers: its own, or the next when it stands alone.
    covers: usize,
    /// The imports it names (empty: every import on the line).
    modules: Vec<String>,
    /// It gives a `(reason)`.
    reason: bool,
    /// The import statement on the covered line.
    statement: String,
    /// It ignored a diagnostic.
    used: bool,
    /// It sits on an import from outside the project: tach drops it.
    exempt: bool,
}

/// The `# tach-ignore` comments of each file, read on demand.
#[derive(Default)]
struct Directives {
    files: HashMap<PathBuf, Vec<Directive>>,
}

impl Directives {
    fn of(&mut self, path: &Path) -> &mut Vec<Directive> {
        self.files.entry(path.to_path_buf()).or_insert_with(|| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if !text.contains("tach-ignore") {
                return Vec::new();
            }
            let lines: Vec<&str> = text.lines().collect();
            lines
                .iter()
                .enumerate()
                .filter_map(|(i, text)| {
                    let (modules, reason) = directive(text)?;
                    let covers = if text.trim_start().starts_with('#') { i + 2 } else { i + 1 };
                    let statement = lines.get(covers - 1).copied().unwrap_or_default().to_owned();
                    Some(Directive { line: i + 1, covers, modules, reason, statement, used: false, exempt: false })
                })
                .collect()
        })
    }

    /// `true` when a directive covers an import of `imported` at `line`; it is then used.
    fn ignores(&mut self, path: &Path, line: u32, imported: &str) -> bool {
        let line = line as usize;
        let Some(directive) = self.of(path).iter_mut().find(|d| d.covers == line) else { return false };
        let matched = directive.modules.is_empty()
            || directive
                .modules
                .iter()
                .any(|m| imported.ends_with(m.as_str()) || directive.statement.contains(m.as_str()));
        directive.used |= matched;
        matched
    }

    fn exempt(&mut self, path: &Path, lines: &[u32]) {
        for directive in self.of(path).iter_mut() {
            directive.exempt |= lines.contains(&(directive.covers as u32));
        }
    }

    /// What `[rules]` says of the file's directives: (line, message, setting).
    fn problems(&mut self, path: &Path, rules: &Rules) -> Vec<(usize, &'static str, RuleSetting)> {
        let mut problems = Vec::new();
        for d in self.of(path).iter().filter(|d| !d.exempt) {
            if !d.reason && rules.require_ignore_directive_reasons != RuleSetting::Off {
                problems.push((
                    d.line,
                    "Ignore directive is missing a reason.",
                    rules.require_ignore_directive_reasons,
                ));
            }
            if !d.used && rules.unused_ignore_directives != RuleSetting::Off {
                problems.push((d.line, "Ignore directive is unused.", rules.unused_ignore_directives));
            }
        }
        problems
    }
}

/// The modules a `# tach-ignore[(reason)] [modules...]` comment names
/// (empty: everything) and whether it gives a reason; `None` when the line
/// has none.
fn directive(line: &str) -> Option<(Vec<String>, bool)> {
    let at = line.find("tach-ignore")?;
    let before = line[..at].trim_end();
    if !before.ends_with('#') {
        return None;
    }
    let mut rest = &line[at + "tach-ignore".len()..];
    let mut reason = false;
    if let Some(inner) = rest.strip_prefix('(') {
        let close = inner.find(')')?;
        reason = !inner[..close].is_empty();
        rest = &inner[close + 1..];
    }
    let modules: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    modules.iter().all(|m| m.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')).then_some((modules, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_directives_read_as_tach_reads_them() {
        let matches = |pattern: &str, module: &str| Pattern::new(pattern).matches(module);
        assert!(matches("tach.filesystem.**", "tach.filesystem.git_ops"));
        assert!(matches("tach.filesystem.**", "tach.filesystem"));
        assert!(matches("*", "tach") && !matches("*", "tach.cli"));
        assert!(matches("tach.*", "tach.cli") && !matches("tach.*", "tach.cli.x"));
        assert_eq!(directive("import a  # tach-ignore"), Some((vec![], false)));
        assert_eq!(directive("# tach-ignore(reason here) a.b c"), Some((vec!["a.b".to_owned(), "c".to_owned()], true)));
        assert_eq!(directive("import a  # not tach-ignore"), None);
    }
}
