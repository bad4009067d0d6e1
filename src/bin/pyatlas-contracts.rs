//! Check a Python codebase's import-linter contracts, read from its own
//! configuration (`.importlinter`, `setup.cfg` or `pyproject.toml`) as
//! lint-imports reads it.
//!
//! ```text
//! cargo run --release --example contracts -- [ROOT] [--config FILE] [--contract ID]...
//!     [--format text|json|sarif]
//! ```
//! Exit status, as lint-imports': 0 when every contract is kept, 1 when one
//! is broken, the configuration is invalid or the root cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use pyatlas::graph::{ContractsReport, ImportGraph, ImportLinterConfig};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Check import-linter contracts, faster")]
struct Args {
    /// The project's root folder: where lint-imports would run.
    #[arg(default_value = ".")]
    root: PathBuf,
    /// The configuration file (INI unless it ends in .toml); default: the
    /// first of setup.cfg, .importlinter, pyproject.toml with a section.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check only the contract with this id (repeatable).
    #[arg(long = "contract", value_name = "ID")]
    contracts: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

pub(crate) fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the check; `true` when every contract is kept.
fn run(args: &Args) -> anyhow::Result<bool> {
    if !args.root.is_dir() {
        bail!("{} is not a folder", args.root.display());
    }
    let config = match &args.config {
        Some(file) => ImportLinterConfig::from_file(file)?,
        None => ImportLinterConfig::discover(&args.root)?,
    };
    let mut contracts: Vec<_> = config.contracts.iter().collect();
    if !args.contracts.is_empty() {
        for id in &args.contracts {
            if !contracts.iter().any(|c| c.id.as_deref() == Some(id)) {
                bail!(
                    "Could not find contract '{id}'. You asked to limit the check to that contract, but nothing exists with that id."
                );
            }
        }
        contracts.retain(|c| c.id.as_ref().is_some_and(|id| args.contracts.contains(id)));
    }
    let (graph, stats) = ImportGraph::build(&args.root, &config.graph_config(&args.root)?)
        .with_context(|| format!("cannot read {}", args.root.display()))?;
    for problem in &stats.problems {
        eprintln!("warning: {problem}");
    }
    let report = ContractsReport::check(&graph, &config.scope(), contracts)?;
    let output = match args.format {
        Format::Text => report.to_text(),
        Format::Json => report.to_json()?,
        Format::Sarif => report.to_sarif(|module| graph.module(module).and_then(|m| m.path.clone()))?,
    };
    println!("{}", output.trim_end());
    Ok(report.kept())
}
