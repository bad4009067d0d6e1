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
use pyatlas::classifier::{Classifier, RuleClassifier, Rules};
use pyatlas::graph::InternalRoots;
use pyatlas::intent::{CodebaseFacts, FileFacts, IntentConfig, check};
use pyatlas::parser::{Config, FileRecord, ParsedFile, discover, parse_files};

use crate::report::{Intent, Summary, file_json};

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
    // Domains and intent tags (and drift, which needs the whole codebase).
    let intent = if args.no_domains {
        None
    } else {
        let (rules, _source) = Rules::for_root(&args.root).context("loading the classifier's rules")?;
        let known = rules.domains.iter().map(|d| d.name.clone()).collect();
        let (config, _source) = IntentConfig::for_root(&args.root).context("loading the intent configuration")?;
        config.check_domains(&known)?;
        Some((RuleClassifier::new(rules), config, known))
    };
    let roots = InternalRoots::new(discovery.files.iter().map(|f| f.module.as_str()));
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
    let gather = |parsed: ParsedFile| {
        let intent = intent.as_ref().map(|(classifier, config, _)| {
            let classification = classifier.classify(parsed.record());
            let facts = FileFacts::gather(&parsed, &classification, config, &roots);
            Intent { classification, facts }
        });
        (parsed.into_record(), intent)
    };
    let mut all_facts = Vec::new();
    let mut stats = parse_files(&discovery.files, &config, gather, |(record, facts): (FileRecord, Option<Intent>)| {
        progress.inc(1);
        match args.format {
            Format::Text => summary.add(&record, facts.as_ref()),
            Format::Json if write_error.is_none() => {
                let comma = if summary.files_written == 0 { "" } else { "," };
                summary.files_written += 1;
                let written = out.write_all(comma.as_bytes()).map_err(anyhow::Error::from);
                write_error = written
                    .and_then(|()| Ok(serde_json::to_writer(&mut out, &file_json(&record, facts.as_ref())?)?))
                    .err();
            }
            Format::Json => {}
        }
        all_facts.extend(facts.map(|f| f.facts));
    })?;
    let drift = intent.as_ref().map(|(_, config, known)| check(&CodebaseFacts::link(all_facts), config, known));
    progress.finish_and_clear();
    if let Some(error) = write_error {
        return Err(error.context("writing the JSON output"));
    }
    stats.seconds = start.elapsed().as_secs_f64();
    match args.format {
        Format::Json => {
            let problems = serde_json::to_string(&discovery.problems)?;
            write!(out, "],\"problems\":{problems},")?;
            if let Some(drift) = &drift {
                let findings = serde_json::to_string(&drift.findings)?;
                write!(
                    out,
                    "\"findings\":{findings},\"tag_diagnostics\":{},",
                    serde_json::to_string(&drift.diagnostics)?
                )?;
            }
            writeln!(out, "\"stats\":{}}}", serde_json::to_string(&stats)?)?;
        }
        Format::Text => {
            summary.write(&mut out, &root, &stats, &discovery.problems, drift.as_ref(), config.thread_count())?;
        }
    }
    out.flush()?;
    Ok(())
}
