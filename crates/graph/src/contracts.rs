//! Architecture contracts, as import-linter and tach users write them:
//! layers, forbidden imports and independence. A violation is a chain of
//! imports, reported hop by hop with lines. A contract that names a module
//! or package that does not exist is an error: it would check nothing.

use std::collections::BTreeSet;

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use crate::ContractError;
use crate::imports::ImportGraph;
use crate::query::{Hop, Walk};

/// A rule about which modules may import which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Contract {
    /// Ordered layers, highest first: a lower layer must not import a higher
    /// one, directly or through other modules. The names of one layer
    /// (`"a | b"` in import-linter) must not import each other either.
    Layers {
        /// The contract's name, for reports.
        name: String,
        /// Layers, highest first; each one or more modules or packages.
        layers: Vec<Vec<String>>,
        /// Ignore imports made only under `if TYPE_CHECKING:`.
        #[serde(default)]
        ignore_type_checking: bool,
    },
    /// `sources` must not import `forbidden` (internal or external), directly
    /// or through other modules.
    Forbidden {
        /// The contract's name.
        name: String,
        /// Modules or packages the rule applies to.
        sources: Vec<String>,
        /// Modules or packages they must not reach.
        forbidden: Vec<String>,
        /// Ignore imports made only under `if TYPE_CHECKING:`.
        #[serde(default)]
        ignore_type_checking: bool,
    },
    /// None of these modules or packages may import another, directly or not.
    Independence {
        /// The contract's name.
        name: String,
        /// The independent modules or packages.
        modules: Vec<String>,
        /// Ignore imports made only under `if TYPE_CHECKING:`.
        #[serde(default)]
        ignore_type_checking: bool,
    },
}

/// One broken rule: a chain of imports from a module that must not reach
/// another to that module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Violation {
    /// The module or package that must not import.
    pub importer: String,
    /// The module or package it must not import.
    pub imported: String,
    /// A shortest chain of imports between them, hop by hop with lines.
    pub chain: Vec<Hop>,
}

/// The result of checking one contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractReport {
    /// The contract's name.
    pub name: String,
    /// `true` when there is no violation.
    pub kept: bool,
    /// Every pair that breaks the contract, with one chain each.
    pub violations: Vec<Violation>,
}

impl Contract {
    /// The contract's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Layers { name, .. } | Self::Forbidden { name, .. } | Self::Independence { name, .. } => name,
        }
    }
}

impl ImportGraph {
    /// Checks `contract`.
    ///
    /// # Errors
    /// [`ContractError::MatchesNothing`] when a module or package it names is
    /// not in the graph.
    pub fn check(&self, contract: &Contract) -> Result<ContractReport, ContractError> {
        let select = |name: &str| -> Result<Vec<NodeIndex>, ContractError> {
            let nodes = self.select(name);
            if nodes.is_empty() {
                return Err(ContractError::MatchesNothing {
                    contract: contract.name().to_owned(),
                    module: name.to_owned(),
                });
            }
            Ok(nodes)
        };
        // (importer, imported): the first must not reach the second.
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let walk;
        match contract {
            Contract::Layers { layers, ignore_type_checking, .. } => {
                walk = Walk { skip_type_checking: *ignore_type_checking };
                for (high, higher) in layers.iter().enumerate() {
                    for lower in &layers[high + 1..] {
                        for l in lower {
                            for h in higher {
                                pairs.push((l, h));
                            }
                        }
                    }
                    for a in higher {
                        for b in higher.iter().filter(|b| *b != a) {
                            pairs.push((a, b));
                        }
                    }
                }
                for name in layers.iter().flatten() {
                    select(name)?;
                }
            }
            Contract::Forbidden { sources, forbidden, ignore_type_checking, .. } => {
                walk = Walk { skip_type_checking: *ignore_type_checking };
                for name in sources.iter().chain(forbidden) {
                    select(name)?;
                }
                for s in sources {
                    for f in forbidden {
                        pairs.push((s, f));
                    }
                }
            }
            Contract::Independence { modules, ignore_type_checking, .. } => {
                walk = Walk { skip_type_checking: *ignore_type_checking };
                for name in modules {
                    select(name)?;
                }
                for a in modules {
                    for b in modules.iter().filter(|b| *b != a) {
                        pairs.push((a, b));
                    }
                }
            }
        }
        let mut violations = Vec::new();
        for (importer, imported) in pairs {
            let targets: BTreeSet<NodeIndex> = select(imported)?.into_iter().collect();
            if let Some(chain) = self.chain_between(&select(importer)?, &targets, walk) {
                violations.push(Violation { importer: importer.to_owned(), imported: imported.to_owned(), chain });
            }
        }
        Ok(ContractReport { name: contract.name().to_owned(), kept: violations.is_empty(), violations })
    }
}
