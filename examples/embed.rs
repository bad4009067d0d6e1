//! Embed the chunks of a Python codebase.
//!
//! ```text
//! cargo run --release --example embed -- <ROOT> [--embedder hash|openai] [--model M] [--dimensions N]
//!     [--api-base URL] [--rpm N] [--tpm N] [--concurrency N] [--truncate] [--deadline SECONDS]
//!     [--max-tokens 512] [--format jsonl|summary] [--quiet] [--progress-every 10] [--stall-after 120]
//! ```
//! The chunks are the `chunk` example's (same defaults, same ids). `jsonl`
//! prints one line per embedded chunk as its batch completes:
//! `{"id", "path", "start_line", "end_line", "model", "vector"}`; `summary`
//! prints the counts, tokens, requests, retries, 429s, limiter wait and
//! estimated cost. Chunks that could not be embedded are listed on stderr
//! with their reason. Exit status: 0 when every chunk got a vector, 1 when
//! some did not, 2 for a bad argument, root or configuration. On a terminal
//! a progress bar, elsewhere a progress line every 10 s; a stall warning
//! either way.

#[path = "common/embedder.rs"]
mod embedder;
#[path = "common/progress.rs"]
mod progress;
#[path = "common/runtime.rs"]
mod runtime;

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pyatlas::chunker::{Chunk, ChunkConfig, Chunker, Tiktoken};
use pyatlas::embed::{Embedded, Embedder};
use pyatlas::parser::{Config, discover, parse_files};

use self::embedder::EmbedderArgs;
use self::progress::{ProgressArgs, Reporter};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Embed the AST-aware chunks of a Python codebase")]
struct Args {
    /// The codebase's root folder (or a single file).
    root: PathBuf,
    #[command(flatten)]
    embedder: EmbedderArgs,
    /// Hard cap on each chunk's tokens, as in the `chunk` example.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    #[command(flatten)]
    progress: ProgressArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Summary,
}

fn main() -> ExitCode {
    let args = Args::parse();
    runtime::exit_status(false, run(&args))
}

/// Returns whether every chunk got a vector.
async fn run(args: &Args) -> anyhow::Result<bool> {
    let start = Instant::now();
    let embedder: Arc<dyn Embedder> = args.embedder.build()?.into();
    let chunker = Chunker::new(ChunkConfig::default().max_tokens(args.max_tokens), Tiktoken::cl100k_base())?;
    let parse_config = Config::default();
    let discovery = discover(&args.root, &parse_config)?;
    let mut chunks: Vec<Chunk> = Vec::new();
    parse_files(&discovery.files, &parse_config, |parsed| chunker.chunk(&parsed), |c| chunks.extend(c))?;
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();

    let progress = ProgressBar::new(texts.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {per_sec} eta {eta}").context("template")?,
    );
    let reporter = Reporter::start(&args.progress, "embed", "chunks", progress.clone(), Arc::clone(&embedder));
    let mut out = BufWriter::new(std::io::stdout());
    let mut write_error = None;
    let model = embedder.model_id().to_owned();
    let mut on_batch = |batch: Vec<Embedded>| {
        progress.inc(batch.len() as u64);
        if args.format != Format::Jsonl || write_error.is_some() {
            return;
        }
        for item in &batch {
            let chunk = &chunks[item.index];
            let line = serde_json::json!({
                "id": chunk.id,
                "path": chunk.path,
                "start_line": chunk.start_line,
                "end_line": chunk.end_line,
                "model": model,
                "vector": item.vector,
            });
            let written = serde_json::to_writer(&mut out, &line).map_err(anyhow::Error::from);
            if let Err(error) = written.and_then(|()| Ok(out.write_all(b"\n")?)) {
                write_error = Some(error);
                return;
            }
        }
    };
    let report = embedder.embed_each(&texts, &mut on_batch).await;
    drop(reporter);
    progress.finish_and_clear();
    if let Some(error) = write_error {
        return Err(error.context("writing the vectors"));
    }
    for failure in &report.failures {
        let chunk = &chunks[failure.index];
        eprintln!("not embedded: {} {}:{}: {}", chunk.id, chunk.path, chunk.start_line, failure.error);
    }
    for truncation in &report.truncated {
        let chunk = &chunks[truncation.index];
        eprintln!(
            "truncated: {} {}:{}: {} of {} tokens embedded",
            chunk.id, chunk.path, chunk.start_line, truncation.kept, truncation.tokens
        );
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if args.format == Format::Summary {
        let m = &report.metrics;
        writeln!(out, "pyatlas embed {} with {} ({} dimensions)", args.root.display(), model, embedder.dimensions())?;
        writeln!(out, "  files {}, chunks {}", discovery.files.len(), texts.len())?;
        let (embedded, failed, truncated) = (report.embedded, report.failures.len(), report.truncated.len());
        writeln!(out, "  embedded {embedded}, failed {failed}, truncated {truncated}")?;
        let (requests, tokens, retries, refused) = (m.requests, m.tokens, m.retries, m.rate_limited);
        let (wait, cost) = (m.limiter_wait.as_secs_f64(), m.estimated_cost_usd);
        writeln!(
            out,
            "  requests {requests}, tokens {tokens}, retries {retries}, 429s {refused}, limiter wait {wait:.1} s, estimated cost ${cost:.4}"
        )?;
        writeln!(out, "  {:.2} s", start.elapsed().as_secs_f64())?;
    }
    out.flush()?;
    Ok(report.is_complete())
}
