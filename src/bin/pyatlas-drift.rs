//! Check a Python codebase's intent tags against its code.
//!
//! ```text
//! cargo run --release --example drift -- <ROOT> [--config FILE] [--format text|json|sarif|markdown]
//!     [--baseline FILE] [--write-baseline FILE]
//! ```
//! Exit status: 0 when no error-severity drift is found (findings accepted
//! by the baseline do not count), 1 when some is, 2 for a bad argument, an
//! invalid configuration or an unreadable root.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use pyatlas::intent::{Baseline, IntentConfig, check_codebase};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Check intent tags (# @intent:parallel, @layer:domain, ...) against the code")]
struct Args {
    /// The codebase's root folder.
    root: PathBuf,
    /// A `pyatlas.toml` or `pyproject.toml` (default: the one at the root, if any).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Accept the findings recorded in this file: only new drift fails.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the current findings as accepted, in this file.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
    Markdown,
}

pub(crate) fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(fails) => ExitCode::from(u8::from(fails)),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the check; `true` when error-severity drift was found.
fn run(args: &Args) -> anyhow::Result<bool> {
    if !args.root.is_dir() {
        anyhow::bail!("{} is not a folder", args.root.display());
    }
    let config = match &args.config {
        Some(file) => IntentConfig::from_file(file)?,
        None => IntentConfig::for_root(&args.root)?.0,
    };
    let mut report = check_codebase(&args.root, &config)?;
    if let Some(file) = &args.baseline {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading the baseline {}", file.display()))?;
        let baseline: Baseline =
            serde_json::from_str(&text).with_context(|| format!("the baseline {} is not valid", file.display()))?;
        report.apply_baseline(&baseline);
    }
    if let Some(file) = &args.write_baseline {
        let json = serde_json::to_string_pretty(&Baseline::of(&report))?;
        std::fs::write(file, json + "\n").with_context(|| format!("writing the baseline {}", file.display()))?;
    }
    let output = match args.format {
        Format::Text => report.to_text(&args.root),
        Format::Json => report.to_json()?,
        Format::Sarif => report.to_sarif()?,
        Format::Markdown => report.to_markdown(),
    };
    println!("{}", output.trim_end());
    Ok(report.fails())
}
