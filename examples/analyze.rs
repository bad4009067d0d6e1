//! Parse a Python codebase and print a summary (text) or every record (JSON).
//!
//! ```text
//! cargo run --release --example analyze -- <ROOT> [--format text|json] [--threads N]
//! ```
//! Exit status: 0 when the analysis ran (diagnostics are findings, not
//! failures), 2 for a bad argument or an unreadable root. The JSON contract
//! is documented in the README; it is streamed, file by file.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pyatlas::parser::{Config, FileRecord, Severity, Stats, WalkProblem, discover, parse_files};

// tree-sitter allocates heavily, from every worker thread: mimalloc (also
// for its C code, through the `override` feature) is ~17% faster than glibc's
// malloc on two threads. See benches/README.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Errors listed by the text summary; the rest are counted.
const SHOWN: usize = 25;

#[derive(Parser)]
#[command(about = "Parse a Python codebase: units, imports, calls, comments, diagnostics")]
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
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
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
    let progress = ProgressBar::new(discovery.files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta}").context("progress template")?,
    );
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut write_error = None;
    // Text mode lists the first errors and counts the rest: memory stays flat.
    let (mut shown, mut hidden) = (Vec::new(), 0usize);
    let root = args.root.display().to_string();
    if let Format::Json = args.format {
        write!(out, "{{\"root\":{},\"files\":[", serde_json::to_string(&root)?)?;
    }
    let mut first = true;
    let mut stats = parse_files(
        &discovery.files,
        &config,
        |parsed| parsed.into_record(),
        |record: FileRecord| {
            progress.inc(1);
            match args.format {
                Format::Text => {
                    for d in record.diagnostics.iter().filter(|d| d.severity == Severity::Error) {
                        if shown.len() < SHOWN { shown.push(format!("{}:{d}", record.path)) } else { hidden += 1 }
                    }
                }
                Format::Json if write_error.is_none() => {
                    let comma = if std::mem::take(&mut first) { "" } else { "," };
                    let written = out.write_all(comma.as_bytes()).map_err(anyhow::Error::from);
                    write_error = written.and_then(|()| Ok(serde_json::to_writer(&mut out, &record)?)).err();
                }
                Format::Json => {}
            }
        },
    )?;
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
        Format::Text => write_summary(&mut out, &root, &stats, (&shown, hidden), &discovery.problems, &config)?,
    }
    out.flush()?;
    Ok(())
}

fn write_summary(
    out: &mut impl Write,
    root: &str,
    stats: &Stats,
    (shown, hidden): (&[String], usize),
    problems: &[WalkProblem],
    config: &Config,
) -> std::io::Result<()> {
    let mb = stats.bytes as f64 / 1e6;
    writeln!(out, "pyatlas analyze {root}")?;
    writeln!(out, "  files     {:>10}", stats.files)?;
    writeln!(out, "  lines     {:>10}", stats.lines)?;
    writeln!(out, "  units     {:>10}", stats.units)?;
    writeln!(out, "  imports   {:>10}", stats.imports)?;
    writeln!(out, "  files with errors: {}", stats.files_with_errors)?;
    for line in shown {
        writeln!(out, "    {line}")?;
    }
    if hidden > 0 {
        writeln!(out, "    ... and {hidden} more errors (see --format json)")?;
    }
    for problem in problems {
        writeln!(out, "  walk: {}: {}", problem.path.as_deref().unwrap_or(root), problem.message)?;
    }
    let rate = if stats.seconds > 0.0 { mb / stats.seconds } else { 0.0 };
    writeln!(
        out,
        "  {mb:.1} MB in {:.2} s ({rate:.1} MB/s) on {} thread(s)",
        stats.seconds,
        config.thread_count().min(stats.files.max(1) as usize)
    )
}
