//! Architecture contracts, as import-linter users write them: layers,
//! forbidden imports, independence, protected modules and acyclic siblings,
//! each with ignored imports. They are checked as import-linter 2.17 checks
//! them (on grimp's queries), and a violation names the two modules
//! lint-imports names, with its chains of imports hop by hop with lines.
//!
//! A contract that names a module that does not exist is an error, never a
//! contract kept: it would check nothing.

mod engine;
mod expr;
pub mod importlinter;
mod ini;
mod project;
mod report;
pub mod tach;

use serde::{Deserialize, Serialize};

pub use expr::{ExpressionError, ImportExpression, ModuleExpression};
pub use project::{CheckedContracts, ProjectContracts, ProjectContractsError};
pub use report::ContractsReport;

use crate::query::Hop;

/// A rule about which modules may import which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Contract {
    /// The id it is selected by (`[importlinter:contract:ID]`, or `id = ...`).
    pub id: Option<String>,
    /// The name reports give it.
    pub name: String,
    /// What it checks.
    pub kind: ContractKind,
    /// Imports left out before checking: `a.b -> c.d`, wildcards allowed.
    #[serde(default)]
    pub ignore_imports: Vec<ImportExpression>,
    /// What to do with an ignored import that matches nothing (default: error).
    #[serde(default)]
    pub unmatched_ignore_imports: Alerting,
    /// How to fix the contract when it is broken, printed after its violations.
    #[serde(default)]
    pub broken_contract_guidance: Option<String>,
}

impl Contract {
    /// A contract without an id or ignored imports.
    pub fn new(name: impl Into<String>, kind: ContractKind) -> Self {
        Self {
            id: None,
            name: name.into(),
            kind,
            ignore_imports: Vec::new(),
            unmatched_ignore_imports: Alerting::Error,
            broken_contract_guidance: None,
        }
    }

    /// Sets [`Contract::id`].
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets [`Contract::ignore_imports`].
    #[must_use]
    pub fn ignore_imports(mut self, imports: impl IntoIterator<Item = ImportExpression>) -> Self {
        self.ignore_imports = imports.into_iter().collect();
        self
    }

    /// Sets [`Contract::unmatched_ignore_imports`].
    #[must_use]
    pub fn unmatched_ignore_imports(mut self, alerting: Alerting) -> Self {
        self.unmatched_ignore_imports = alerting;
        self
    }

    /// The type of contract.
    pub fn contract_type(&self) -> ContractType {
        match self.kind {
            ContractKind::Layers { .. } => ContractType::Layers,
            ContractKind::Forbidden { .. } => ContractType::Forbidden,
            ContractKind::Independence { .. } => ContractType::Independence,
            ContractKind::Protected { .. } => ContractType::Protected,
            ContractKind::AcyclicSiblings { .. } => ContractType::AcyclicSiblings,
        }
    }
}

/// What a contract checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContractKind {
    /// Ordered layers, highest first: a lower layer must not import a higher
    /// one, directly or through modules outside the layers.
    Layers {
        /// Layers, highest first.
        layers: Vec<Layer>,
        /// Parent packages the layers are named relative to (wildcards
        /// allowed); each container is checked on its own.
        #[serde(default)]
        containers: Vec<ModuleExpression>,
        /// Every child of every container must be a layer (or ignored).
        #[serde(default)]
        exhaustive: bool,
        /// Children an exhaustive contract does not require as layers.
        #[serde(default)]
        exhaustive_ignores: Vec<String>,
    },
    /// Source modules must not import forbidden ones.
    Forbidden {
        /// The modules the rule applies to.
        source_modules: Vec<ModuleExpression>,
        /// The modules they must not import (external top-level packages
        /// too, when the graph includes them).
        forbidden_modules: Vec<ModuleExpression>,
        /// Only direct imports break the contract.
        #[serde(default)]
        allow_indirect_imports: bool,
        /// A module stands for itself and its descendants (default `true`).
        #[serde(default = "yes")]
        as_packages: bool,
    },
    /// None of the modules may import another, directly or through modules
    /// outside the set.
    Independence {
        /// The independent modules (wildcards allowed).
        modules: Vec<ModuleExpression>,
    },
    /// Protected modules may be imported directly only by the allowed
    /// importers (and by each other).
    Protected {
        /// The protected modules.
        protected_modules: Vec<ModuleExpression>,
        /// The only modules allowed to import them.
        allowed_importers: Vec<ModuleExpression>,
        /// A module stands for itself and its descendants (default `true`).
        #[serde(default = "yes")]
        as_packages: bool,
    },
    /// The children of each ancestor, and of their descendants down to
    /// `depth`, import each other without cycles.
    AcyclicSiblings {
        /// The packages whose children are checked.
        ancestors: Vec<ModuleExpression>,
        /// How many levels below each ancestor are checked too (default 10).
        #[serde(default = "ten")]
        depth: usize,
        /// Descendants not checked, nor their own descendants.
        #[serde(default)]
        skip_descendants: Vec<ModuleExpression>,
    },
}

fn yes() -> bool {
    true
}

fn ten() -> usize {
    10
}

/// One layer: one module, or siblings at the same level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Layer {
    /// The modules of the layer (relative to the containers, if any).
    pub modules: Vec<LayerModule>,
    /// The siblings must not import each other (`a | b`); `false` for `a : b`.
    #[serde(default = "yes")]
    pub independent: bool,
    /// Higher layers must not import below this one except through it (tach's closed layers).
    #[serde(default)]
    pub closed: bool,
}

/// `'a', 'b'`.
fn quoted<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

/// `'a' contains 'a.b'`, for each of `names` inside another.
fn containments(names: &std::collections::BTreeSet<&str>) -> Vec<String> {
    names
        .iter()
        .flat_map(|p| {
            names.iter().filter(move |c| in_package(c, p) && c != &p).map(move |c| format!("'{p}' contains '{c}'"))
        })
        .collect()
}

impl Layer {
    /// Why the layer cannot be, in import-linter's words: a module named
    /// twice, or one inside another.
    pub(crate) fn problem(&self) -> Option<String> {
        let mut names = std::collections::BTreeSet::new();
        let repeated: std::collections::BTreeSet<&str> =
            self.modules.iter().map(|m| m.name.as_str()).filter(|n| !names.insert(*n)).collect();
        if !repeated.is_empty() {
            return Some(format!("Modules cannot be repeated in a layer: {}.", quoted(repeated)));
        }
        let contained = containments(&names);
        (!contained.is_empty())
            .then(|| format!("Modules cannot contain each other in a layer: {}.", contained.join(", ")))
    }

    /// A layer of independent siblings (or of one module), none optional.
    pub fn new<S: Into<String>>(modules: impl IntoIterator<Item = S>) -> Self {
        let modules = modules.into_iter().map(|name| LayerModule { name: name.into(), optional: false }).collect();
        Self { modules, independent: true, closed: false }
    }
}

/// A module of a layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LayerModule {
    /// Its name, relative to the containers if there are any.
    pub name: String,
    /// It may be missing (`(name)` in import-linter).
    #[serde(default)]
    pub optional: bool,
}

/// What to do when an ignored import matches no import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alerting {
    /// Nothing.
    None,
    /// A warning in the report.
    Warn,
    /// The contract cannot be checked.
    #[default]
    Error,
}

/// The type of a contract, as the JSON report names it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContractType {
    /// [`ContractKind::Layers`].
    Layers,
    /// [`ContractKind::Forbidden`].
    Forbidden,
    /// [`ContractKind::Independence`].
    Independence,
    /// [`ContractKind::Protected`].
    Protected,
    /// [`ContractKind::AcyclicSiblings`].
    AcyclicSiblings,
    /// tach's dependency and layer rules ([`tach::Config`]).
    Tach,
}

impl ContractType {
    /// Every type.
    pub const ALL: [Self; 6] =
        [Self::Layers, Self::Forbidden, Self::Independence, Self::Protected, Self::AcyclicSiblings, Self::Tach];

    /// The name configurations use: `layers`, `forbidden`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Layers => "layers",
            Self::Forbidden => "forbidden",
            Self::Independence => "independence",
            Self::Protected => "protected",
            Self::AcyclicSiblings => "acyclic_siblings",
            Self::Tach => "tach",
        }
    }
}

impl std::fmt::Display for ContractType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the contracts are checked in: the root packages (the rest of the
/// graph is outside), and whether external packages are modules of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scope {
    /// The packages checked (`root_packages`); empty: every internal module.
    pub root_packages: Vec<String>,
    /// External packages are nodes that contracts may name (`include_external_packages`).
    pub include_external_packages: bool,
}

impl Scope {
    /// The root packages, without external packages.
    pub fn new<S: Into<String>>(root_packages: impl IntoIterator<Item = S>) -> Self {
        Self { root_packages: root_packages.into_iter().map(Into::into).collect(), include_external_packages: false }
    }

    /// Sets [`Scope::include_external_packages`].
    #[must_use]
    pub fn include_external_packages(mut self, include: bool) -> Self {
        self.include_external_packages = include;
        self
    }

    /// `true` when `module` is in one of the root packages.
    pub fn is_internal(&self, module: &str) -> bool {
        self.root_packages.is_empty() || self.root_packages.iter().any(|root| in_package(module, root))
    }
}

/// `module` is `package` or below it.
pub(crate) fn in_package(module: &str, package: &str) -> bool {
    module.strip_prefix(package).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// One pair of modules that breaks a contract, with its chains of imports.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Violation {
    /// The module that must not import (for layers, the lower layer; for
    /// protected, the illegal importer; for acyclic siblings, a sibling).
    pub importer: String,
    /// The module it must not import.
    pub imported: String,
    /// Chains of imports from one to the other, each hop by hop with lines.
    pub chains: Vec<Vec<Hop>>,
    /// Why it is one, when the pair alone does not say (tach's rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The result of checking one contract.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractReport {
    /// The contract's id.
    pub id: Option<String>,
    /// The contract's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub contract_type: ContractType,
    /// `true` when nothing breaks it.
    pub kept: bool,
    /// Every pair of modules that breaks it, sorted.
    pub violations: Vec<Violation>,
    /// Children of a container that an exhaustive layers contract does not declare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undeclared_modules: Vec<String>,
    /// Warnings (ignored imports that match nothing, when they only warn).
    pub warnings: Vec<String>,
    /// How many imports `ignore_imports` removed.
    #[serde(default)]
    pub ignored_imports: usize,
    /// The contract's guidance, when it is broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
}

/// Why a contract cannot be checked. Messages are import-linter's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// A module it names is not in the graph.
    #[error("{contract}: Module '{module}' does not exist.")]
    NoSuchModule {
        /// The contract's name.
        contract: String,
        /// The missing module.
        module: String,
    },
    /// A wildcard expression that must match matches nothing.
    #[error("{contract}: The expression '{expression}' did not match any modules.")]
    NoMatch {
        /// The contract's name.
        contract: String,
        /// The expression.
        expression: String,
    },
    /// A required layer is missing.
    #[error("{contract}: Missing layer '{module}': module {module} does not exist.")]
    MissingLayer {
        /// The contract's name.
        contract: String,
        /// The layer's module.
        module: String,
    },
    /// A required layer is missing from a container.
    #[error("{contract}: Missing layer in container '{container}': module {module} does not exist.")]
    MissingLayerInContainer {
        /// The contract's name.
        contract: String,
        /// The container.
        container: String,
        /// The missing module.
        module: String,
    },
    /// A container outside the root packages.
    #[error("{contract}: Invalid container '{container}': a container must either be a root package, or a subpackage of one of them. (The root packages are: {}.)", roots.join(", "))]
    InvalidContainer {
        /// The contract's name.
        contract: String,
        /// The container.
        container: String,
        /// The root packages.
        roots: Vec<String>,
    },
    /// Ignored imports that match nothing, when that is an error.
    #[error("{contract}: {}", unmatched.iter().map(|e| format!("No matches for ignored import {e}.")).collect::<Vec<_>>().join("\n"))]
    UnmatchedIgnoredImports {
        /// The contract's name.
        contract: String,
        /// The expressions that match nothing.
        unmatched: Vec<ImportExpression>,
    },
    /// An external forbidden module while external packages are not in the graph.
    #[error(
        "{contract}: The top level configuration must have include_external_packages=True when there are external forbidden modules."
    )]
    ExternalsNotIncluded {
        /// The contract's name.
        contract: String,
    },
    /// A forbidden module below an external package's top level.
    #[error("{contract}: Invalid forbidden module {module}: subpackages of external packages are not valid.")]
    ExternalSubpackage {
        /// The contract's name.
        contract: String,
        /// The module.
        module: String,
    },
    /// A contract whose options contradict each other; `key` names the option.
    #[error("{contract}: {key}: {message}")]
    Invalid {
        /// The contract's name.
        contract: String,
        /// The option.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl Contract {
    /// Checks that the options agree with each other, as import-linter
    /// does before checking: no module in two layers, no layer inside
    /// another, `exhaustive` only with containers, no skipped ancestor.
    ///
    /// # Errors
    /// [`ContractError::Invalid`], naming the option.
    pub fn validate(&self) -> Result<(), ContractError> {
        let invalid = |key: &str, message: String| ContractError::Invalid {
            contract: self.name.clone(),
            key: key.to_owned(),
            message,
        };
        match &self.kind {
            ContractKind::Layers { layers, containers, exhaustive, .. } => {
                let mut seen = std::collections::BTreeSet::new();
                let mut repeated = std::collections::BTreeSet::new();
                for layer in layers {
                    if let Some(problem) = layer.problem() {
                        return Err(invalid("layers", problem));
                    }
                    let in_layer: std::collections::BTreeSet<&str> =
                        layer.modules.iter().map(|m| m.name.as_str()).collect();
                    repeated.extend(in_layer.intersection(&seen).copied().collect::<Vec<_>>());
                    seen.extend(in_layer);
                }
                if !repeated.is_empty() {
                    return Err(invalid(
                        "layers",
                        format!("Modules cannot be in more than one layer: {}.", quoted(repeated)),
                    ));
                }
                let contained = containments(&seen);
                if !contained.is_empty() {
                    return Err(invalid(
                        "layers",
                        format!("Layers cannot contain other layers: {}.", contained.join(", ")),
                    ));
                }
                if *exhaustive && containers.is_empty() {
                    return Err(invalid(
                        "exhaustive",
                        "The exhaustive option is not supported for contracts without containers.".to_owned(),
                    ));
                }
            }
            ContractKind::AcyclicSiblings { ancestors, skip_descendants, .. } => {
                if let Some(both) = skip_descendants.iter().filter(|s| ancestors.contains(s)).min() {
                    let message = if both.has_wildcard() {
                        format!("Cannot skip descendant '{both}' as the same expression is in ancestors.")
                    } else {
                        format!("Cannot skip '{both}' as it is also an ancestor.")
                    };
                    return Err(invalid("skip_descendants", message));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl crate::ImportGraph {
    /// Checks `contract` on the modules of `scope`, as import-linter 2.17 does.
    ///
    /// # Errors
    /// A [`ContractError`] when the contract cannot be checked: a module it
    /// names does not exist, an ignored import matches nothing, its options
    /// contradict each other.
    pub fn check(&self, contract: &Contract, scope: &Scope) -> Result<ContractReport, ContractError> {
        engine::check(self, scope, contract)
    }
}
