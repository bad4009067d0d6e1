//! Parse a Python codebase, classify its modules and units by domain, and
//! print a summary (text) or every record (JSON).
//!
//! ```text
//! cargo run --release --example analyze -- <ROOT> [--format text|json] [--threads N] [--no-domains]
//! ```
//! Exit status: 0 when the analysis ran (diagnostics are findings, not
//! failures), 2 for a bad argument, an unreadable root or an invalid
//! `pyatlas.toml`. The JSON contract is documented in the README; it is
//! streamed, file by file.

mod report;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pyatlas::classifier::{Classification, Classifier, RuleClassifier, Rules};
use pyatlas::parser::{Config, FileRecord, discover, parse_files};

use crate::report::{Summary, file_json};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Parse a Python codebase: units, imports, calls, comments, domains, diagnostics")]
struct Args {
    /// The codebase's root folder (or a single file).
    root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also parse `*.pyi` stubs.
    #[arg(long)]
    include_stubs: bool,
    /// Skip files and folders matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Do not classify modules and units by domain.
    #[arg(long)]
    no_domains: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let config =
        Config::default().threads(args.threads).include_stubs(args.include_stubs).exclude(args.exclude.clone());
    let discovery = discover(&args.root, &config)?;
    let classifier = if args.no_domains {
        None
    } else {
        let (rules, _source) = Rules::for_root(&args.root).context("loading the classifier's rules")?;
        Some(RuleClassifier::new(rules))
    };
    let progress = ProgressBar::new(discovery.files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta}").context("progress template")?,
    );
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut summary = Summary::default();
    let mut write_error = None;
    let root = args.root.display().to_string();
    if args.format == Format::Json {
        write!(out, "{{\"root\":{},\"files\":[", serde_json::to_string(&root)?)?;
    }
    let classify = |parsed: pyatlas::parser::ParsedFile| {
        let record = parsed.into_record();
        let domains = classifier.as_ref().map(|c| c.classify(&record));
        (record, domains)
    };
    let mut stats =
        parse_files(&discovery.files, &config, classify, |(record, domains): (FileRecord, Option<Classification>)| {
            progress.inc(1);
            match args.format {
                Format::Text => summary.add(&record, domains.as_ref()),
                Format::Json if write_error.is_none() => {
                    let comma = if summary.files_written == 0 { "" } else { "," };
                    summary.files_written += 1;
                    let written = out.write_all(comma.as_bytes()).map_err(anyhow::Error::from);
                    write_error = written
                        .and_then(|()| Ok(serde_json::to_writer(&mut out, &file_json(&record, domains.as_ref())?)?))
                        .err();
                }
                Format::Json => {}
            }
        })?;
    progress.finish_and_clear();
    if let Some(error) = write_error {
        return Err(error.context("writing the JSON output"));
    }
    stats.seconds = start.elapsed().as_secs_f64();
    match args.format {
        Format::Json => {
            let problems = serde_json::to_string(&discovery.problems)?;
            writeln!(out, "],\"problems\":{problems},\"stats\":{}}}", serde_json::to_string(&stats)?)?;
        }
        Format::Text => summary.write(&mut out, &root, &stats, &discovery.problems, config.thread_count())?,
    }
    out.flush()?;
    Ok(())
}
