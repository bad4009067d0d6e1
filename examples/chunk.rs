//! Cut a Python codebase into token-capped chunks for embeddings.
//!
//! ```text
//! cargo run --release --example chunk -- <ROOT> [--max-tokens 512] [--min-tokens N] [--overlap-lines N]
//!     [--tokenizer cl100k|o200k|chars] [--no-header] [--format jsonl|stats]
//! ```
//! `jsonl` prints one chunk per line (the contract is in the README);
//! `stats` prints the chunk count, the token distribution, tiny and
//! header-only chunks, seconds and MB/s. Exit status: 0 when it ran, 2 for a
//! bad argument or an unreadable root.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pyatlas::chunker::{CharCounter, Chunk, ChunkConfig, ChunkStats, Chunker, Tiktoken, TokenCounter};
use pyatlas::parser::{Config, discover, parse_files};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Cut a Python codebase into AST-aware, token-capped chunks")]
struct Args {
    /// The codebase's root folder (or a single file).
    root: PathBuf,
    /// Hard cap on each chunk's tokens, header included.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Merge neighbouring chunks smaller than this (0: never).
    #[arg(long)]
    min_tokens: Option<usize>,
    /// Lines repeated between consecutive parts of a split unit.
    #[arg(long)]
    overlap_lines: Option<usize>,
    /// How tokens are counted.
    #[arg(long, value_enum, default_value_t = Tokenizer::Cl100k)]
    tokenizer: Tokenizer,
    /// No context header (path, classes, signature) before the code.
    #[arg(long)]
    no_header: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Tokenizer {
    Cl100k,
    O200k,
    Chars,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Stats,
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
    let counter: Arc<dyn TokenCounter> = match args.tokenizer {
        Tokenizer::Cl100k => Arc::new(Tiktoken::cl100k_base()),
        Tokenizer::O200k => Arc::new(Tiktoken::o200k_base()),
        Tokenizer::Chars => Arc::new(CharCounter),
    };
    let defaults = ChunkConfig::default();
    let config = ChunkConfig::default()
        .max_tokens(args.max_tokens)
        .min_tokens(args.min_tokens.unwrap_or(defaults.min_tokens))
        .overlap_lines(args.overlap_lines.unwrap_or(defaults.overlap_lines))
        .header(!args.no_header);
    let chunker = Chunker::with_counter(config, counter)?;
    let parse_config = Config::default().threads(args.threads);
    let discovery = discover(&args.root, &parse_config)?;
    let progress = ProgressBar::new(discovery.files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta}").context("template")?,
    );

    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut stats = ChunkStats::default();
    let mut write_error = None;
    let mut skipped = Vec::new();
    let parsed = parse_files(
        &discovery.files,
        &parse_config,
        |parsed| (parsed.tree().is_none().then(|| parsed.record().path.clone()), chunker.chunk(&parsed)),
        |(unparsed, chunks): (Option<String>, Vec<Chunk>)| {
            progress.inc(1);
            skipped.extend(unparsed);
            for chunk in &chunks {
                stats.add(chunk.code(), chunk.token_count);
                if args.format == Format::Jsonl && write_error.is_none() {
                    let written = serde_json::to_writer(&mut out, chunk).map_err(anyhow::Error::from);
                    write_error = written.and_then(|()| Ok(out.write_all(b"\n")?)).err();
                }
            }
        },
    )?;
    progress.finish_and_clear();
    if let Some(error) = write_error {
        return Err(error.context("writing the chunks"));
    }
    for path in &skipped {
        eprintln!("warning: {path} was not parsed (unreadable or over the size limit): no chunks");
    }
    if args.format == Format::Stats {
        let seconds = start.elapsed().as_secs_f64();
        writeln!(
            out,
            "pyatlas chunk {} ({} tokens, cap {})",
            args.root.display(),
            chunker.counter().name(),
            args.max_tokens
        )?;
        writeln!(out, "  files {}, {:.1} MB", parsed.files, parsed.bytes as f64 / 1e6)?;
        writeln!(out, "  {}", stats.summary())?;
        writeln!(out, "  {seconds:.2} s, {:.1} MB/s", parsed.bytes as f64 / 1e6 / seconds)?;
    }
    out.flush()?;
    Ok(())
}
