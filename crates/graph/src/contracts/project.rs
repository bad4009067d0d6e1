//! A project's own contracts, found and checked as its tools would: its
//! import-linter configuration (`setup.cfg`, `.importlinter`,
//! `pyproject.toml`) and its `tach.toml`. Each is checked on the graph its
//! configuration asks for, so the verdicts are lint-imports' and tach's.

use std::path::{Path, PathBuf};

use pyatlas_parser::WalkProblem;

use super::importlinter::{Config as ImportLinterConfig, ConfigError};
use super::tach::Config as TachConfig;
use super::{ContractError, ContractsReport};
use crate::{BuildError, GraphConfig, ImportGraph};

/// The contracts a project declares: import-linter's, tach's, or both.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProjectContracts {
    /// Its import-linter configuration.
    pub linter: Option<ImportLinterConfig>,
    /// Its `tach.toml`.
    pub tach: Option<TachConfig>,
}

/// Why a project's contracts cannot be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectContractsError {
    /// A configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A contract cannot be checked (lint-imports stops there too).
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// The tree cannot be read.
    #[error("cannot read {}", root.display())]
    Build {
        /// The root.
        root: PathBuf,
        /// Why.
        #[source]
        source: BuildError,
    },
    /// A contract asked for by id does not exist.
    #[error(
        "Could not find contract '{0}'. You asked to limit the check to that contract, but nothing exists with that id."
    )]
    UnknownContract(String),
}

/// Verdicts, and what they were checked on.
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckedContracts {
    /// Every contract's verdict: import-linter's in their order, then tach's.
    pub report: ContractsReport,
    /// The graphs they were checked on (to find a module's file).
    pub graphs: Vec<ImportGraph>,
    /// Files that could not be read while the graphs were built.
    pub problems: Vec<WalkProblem>,
}

impl ProjectContracts {
    /// The contracts of the project at `root`; `None` when it declares none.
    ///
    /// # Errors
    /// A configuration that is there but invalid.
    pub fn discover(root: &Path) -> Result<Option<Self>, ConfigError> {
        Ok(match (ImportLinterConfig::find(root)?, TachConfig::discover(root)?) {
            (None, None) => None,
            (linter, tach) => Some(Self { linter, tach }),
        })
    }

    /// The contracts of one file: `tach.toml`, or import-linter's.
    ///
    /// # Errors
    /// An unreadable or invalid file.
    pub fn from_file(file: &Path) -> Result<Self, ConfigError> {
        Ok(if file.file_name().is_some_and(|n| n == "tach.toml") {
            Self { linter: None, tach: Some(TachConfig::from_file(file)?) }
        } else {
            Self { linter: Some(ImportLinterConfig::from_file(file)?), tach: None }
        })
    }

    /// Checks them on the code at `root`: all of them, or only those whose
    /// ids are in `only` (`tach` for tach's rules).
    ///
    /// # Errors
    /// [`ProjectContractsError`].
    pub fn check(&self, root: &Path, only: &[String]) -> Result<CheckedContracts, ProjectContractsError> {
        let (mut graphs, mut problems) = (Vec::new(), Vec::new());
        let mut build = |config: &GraphConfig| -> Result<ImportGraph, ProjectContractsError> {
            let (graph, stats) = ImportGraph::build(root, config)
                .map_err(|source| ProjectContractsError::Build { root: root.to_owned(), source })?;
            problems.extend(stats.problems);
            Ok(graph)
        };
        let mut report: Option<ContractsReport> = None;
        if let Some(config) = &self.linter {
            let contracts = config
                .contracts
                .iter()
                .filter(|c| only.is_empty() || c.id.as_ref().is_some_and(|id| only.contains(id)));
            let graph = build(&config.graph_config(root)?)?;
            report = Some(ContractsReport::check(&graph, &config.scope(), contracts)?);
            graphs.push(graph);
        }
        if let Some(config) = self.tach.as_ref().filter(|_| only.is_empty() || only.iter().any(|c| c == "tach")) {
            let graph = build(&config.graph_config())?;
            let checked = config.check(&graph, root)?;
            report
                .get_or_insert_with(|| ContractsReport::of(&graph, &Default::default(), Vec::new()))
                .contracts
                .push(checked);
            graphs.push(graph);
        }
        let report =
            report.unwrap_or_else(|| ContractsReport::of(&ImportGraph::default(), &Default::default(), Vec::new()));
        if let Some(id) = only.iter().find(|id| !report.contracts.iter().any(|c| c.id.as_deref() == Some(id.as_str())))
        {
            return Err(ProjectContractsError::UnknownContract(id.clone()));
        }
        Ok(CheckedContracts { report, graphs, problems })
    }
}
