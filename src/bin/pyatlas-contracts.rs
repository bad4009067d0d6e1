//! Check a Python codebase's import-linter contracts, read from its own
//! configuration (`.importlinter`, `setup.cfg` or `pyproject.toml`) as
//! lint-imports reads it, and its `tach.toml` as `tach check` reads it.
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
use pyatlas::graph::{CheckedContracts, ProjectContracts};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Check import-linter contracts, faster")]
struct Args {
    /// The project's root folder: where lint-imports would run.
    #[arg(default_value = ".")]
    root: PathBuf,
    /// The configuration file: `tach.toml`, or import-linter's (INI unless
    /// it ends in .toml); default: the first of setup.cfg, .importlinter,
    /// pyproject.toml with an import-linter section, and tach.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check only the contract with this id (repeatable; `tach` for tach's rules).
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
    let root = &args.root;
    let contracts = match &args.config {
        Some(file) => ProjectContracts::from_file(file)?,
        None => ProjectContracts::discover(root)?.with_context(|| {
            format!(
                "no configuration in {}: neither an import-linter section (setup.cfg, .importlinter, pyproject.toml) nor tach.toml",
                root.display()
            )
        })?,
    };
    let CheckedContracts { report, graphs, problems, .. } = contracts.check(root, &args.contracts)?;
    for problem in &problems {
        eprintln!("warning: {problem}");
    }
    let path_of = |module: &str| graphs.iter().find_map(|g| g.module(module).and_then(|m| m.path.clone()));
    let output = match args.format {
        Format::Text => report.to_text(),
        Format::Json => report.to_json()?,
        Format::Sarif => report.to_sarif(path_of)?,
    };
    println!("{}", output.trim_end());
    Ok(report.kept())
}
