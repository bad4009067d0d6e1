//! The report of a contracts run: lint-imports' text, a stable JSON
//! contract, and SARIF 2.1.0 for code scanning.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Contract, ContractError, ContractReport, ContractType, Scope};
use crate::imports::{ImportGraph, ModuleKind};
use crate::query::Hop;

/// Every contract's report, and the size of the graph they were checked on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractsReport {
    /// One report per contract, in the configuration's order.
    pub contracts: Vec<ContractReport>,
    /// Modules in scope, external packages included when they are (lint-imports' "Analyzed N files").
    pub files: usize,
    /// Imports between them, one per pair of modules (its "dependencies").
    pub dependencies: usize,
}

impl ContractsReport {
    /// Checks every contract in turn.
    ///
    /// # Errors
    /// The first contract that cannot be checked, as lint-imports stops.
    pub fn check<'a>(
        graph: &ImportGraph,
        scope: &Scope,
        contracts: impl IntoIterator<Item = &'a Contract>,
    ) -> Result<Self, ContractError> {
        let contracts = contracts.into_iter().map(|c| graph.check(c, scope)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::of(graph, scope, contracts))
    }

    /// The report of contracts already checked on `graph` within `scope`.
    pub fn of(graph: &ImportGraph, scope: &Scope, contracts: Vec<ContractReport>) -> Self {
        let in_scope = |name: &str| match graph.module(name).map(|m| m.kind) {
            Some(ModuleKind::Internal) => scope.is_internal(name),
            Some(_) => scope.include_external_packages,
            None => false,
        };
        let files = graph.modules().filter(|m| in_scope(&m.name)).count();
        let dependencies = graph.edges().filter(|(a, b, _)| in_scope(a) && in_scope(b)).count();
        Self { contracts, files, dependencies }
    }

    /// `true` when every contract is kept.
    pub fn kept(&self) -> bool {
        self.contracts.iter().all(|c| c.kept)
    }

    /// The text lint-imports users know: a KEPT or BROKEN line per
    /// contract, then every broken one with its chains hop by hop.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Analyzed {} files, {} dependencies.\n", self.files, self.dependencies);
        for c in &self.contracts {
            let ignored = match c.ignored_imports {
                0 => String::new(),
                1 => " (1 ignored import)".to_owned(),
                n => format!(" ({n} ignored imports)"),
            };
            let _ = writeln!(out, "{} {}{ignored}", c.name, if c.kept { "KEPT" } else { "BROKEN" });
        }
        let broken = self.contracts.iter().filter(|c| !c.kept).count();
        let _ = writeln!(out, "\nContracts: {} kept, {broken} broken.", self.contracts.len() - broken);
        for c in &self.contracts {
            for warning in &c.warnings {
                let _ = writeln!(out, "\nWarning in {}: {warning}", c.name);
            }
        }
        if broken > 0 {
            let _ = writeln!(out, "\n\n----------------\nBroken contracts\n----------------");
        }
        for c in self.contracts.iter().filter(|c| !c.kept) {
            let _ = writeln!(out, "\n{}\n{}\n", c.name, "-".repeat(c.name.chars().count()));
            for v in &c.violations {
                match c.contract_type {
                    ContractType::AcyclicSiblings => {
                        let _ = writeln!(
                            out,
                            "{} and its siblings form a cycle: {} imports {}:\n",
                            v.importer, v.importer, v.imported
                        );
                    }
                    ContractType::Protected => {
                        let _ =
                            writeln!(out, "{} is not allowed to import the protected {}:\n", v.importer, v.imported);
                    }
                    _ => {
                        let _ = writeln!(out, "{} is not allowed to import {}:\n", v.importer, v.imported);
                    }
                }
                if let Some(reason) = &v.reason {
                    let _ = writeln!(out, "{reason}\n");
                }
                for chain in &v.chains {
                    for (i, hop) in chain.iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "{} {} -> {} ({})",
                            if i == 0 { "-" } else { " " },
                            hop.importer,
                            hop.imported,
                            lines(hop)
                        );
                    }
                    out.push('\n');
                }
            }
            if !c.undeclared_modules.is_empty() {
                let _ = writeln!(out, "The following modules are not listed as layers:\n");
                for m in &c.undeclared_modules {
                    let _ = writeln!(out, "- {m}");
                }
                let _ = writeln!(
                    out,
                    "\n(Since this contract is marked as 'exhaustive', every child of every container must be declared as a layer.)\n"
                );
            }
            if let Some(guidance) = &c.guidance {
                let _ = writeln!(out, "{guidance}\n");
            }
        }
        out
    }

    /// The JSON contract (see the README): contracts with their
    /// violations and chains, files and dependencies.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let contracts: Vec<Value> = self
            .contracts
            .iter()
            .map(|c| {
                let mut warnings = c.warnings.clone();
                warnings.extend(
                    c.undeclared_modules
                        .iter()
                        .map(|m| format!("{m} is not listed as a layer (the contract is exhaustive).")),
                );
                json!({"id": c.id, "name": c.name, "type": c.contract_type, "kept": c.kept,
                       "violations": c.violations, "warnings": warnings, "ignored_imports": c.ignored_imports,
                       "guidance": c.guidance})
            })
            .collect();
        serde_json::to_string_pretty(
            &json!({"contracts": contracts, "files": self.files, "dependencies": self.dependencies}),
        )
    }

    /// SARIF 2.1.0: one result per violation, at the first import of each
    /// chain, the rest of the chain as related locations. `path_of` gives a
    /// module's file, relative to the repository.
    pub fn to_sarif(&self, path_of: impl Fn(&str) -> Option<String>) -> serde_json::Result<String> {
        let rules: Vec<Value> = ContractType::ALL
            .iter()
            .map(|t| json!({"id": t.as_str(), "shortDescription": {"text": format!("a broken {t} contract")}, "defaultConfiguration": {"level": "error"}}))
            .collect();
        let location = |hop: &Hop| -> Value {
            let uri = path_of(&hop.importer).unwrap_or_else(|| hop.importer.replace('.', "/"));
            json!({"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": hop.lines.first().copied().unwrap_or(1).max(1)}},
                   "message": {"text": format!("{} -> {}", hop.importer, hop.imported)}})
        };
        let mut results = Vec::new();
        for c in self.contracts.iter().filter(|c| !c.kept) {
            for v in &c.violations {
                for chain in &v.chains {
                    let Some(first) = chain.first() else { continue };
                    let related: Vec<Value> = chain
                        .iter()
                        .enumerate()
                        .map(|(i, h)| {
                            let mut l = location(h);
                            l["id"] = json!(i);
                            l
                        })
                        .collect();
                    let text = chain
                        .iter()
                        .map(|h| format!("{} -> {} ({})", h.importer, h.imported, lines(h)))
                        .collect::<Vec<_>>()
                        .join("; ");
                    results.push(json!({
                        "ruleId": c.contract_type.as_str(),
                        "level": "error",
                        "message": {"text": format!("{}: {} is not allowed to import {}: {text}", c.name, v.importer, v.imported)},
                        "locations": [location(first)],
                        "relatedLocations": related,
                        "partialFingerprints": {"pyatlasContract/v1": format!("{}|{}|{}|{}", c.id.as_deref().unwrap_or(&c.name), v.importer, v.imported, first.imported)},
                    }));
                }
            }
            for m in &c.undeclared_modules {
                let uri = path_of(m).unwrap_or_else(|| m.replace('.', "/"));
                results.push(json!({
                    "ruleId": c.contract_type.as_str(), "level": "error",
                    "message": {"text": format!("{}: {m} is not listed as a layer (the contract is exhaustive)", c.name)},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}}],
                }));
            }
        }
        serde_json::to_string_pretty(&json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "pyatlas-contracts", "informationUri": "https://github.com/pyatlas/pyatlas",
                                     "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
                "results": results,
            }],
        }))
    }
}

fn lines(hop: &Hop) -> String {
    if hop.lines.is_empty() {
        return "l.?".to_owned();
    }
    hop.lines.iter().map(|l| format!("l.{l}")).collect::<Vec<_>>().join(", ")
}
