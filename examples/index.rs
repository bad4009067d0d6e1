//! Index a Python codebase into PostgreSQL: a thin front to
//! `pyatlas::index::Indexer` (parse, classify, chunk, drift, embed, store).
//!
//! ```text
//! cargo run --release --example index -- <ROOT> [--database-url URL] [--project NAME]
//!     [--embedder hash|openai] [--model M] [--dimensions N] [--api-base URL] [--rpm N] [--tpm N]
//!     [--concurrency N] [--max-tokens 512] [--batch 512] [--threads N] [--quiet] [--progress-every 10]
//!     [--stall-after 120] [--watch]
//! ```
//! `--watch` indexes again after each burst of saves (200 ms quiet), as a
//! new run that parses only the files that changed, until Ctrl-C.
//! `DATABASE_URL` and `OPENAI_API_KEY` come from the environment when not
//! given. Ctrl-C cancels: the run stops promptly and the next `index` of the
//! project resumes it. Exit status: 0 when every chunk was stored and
//! embedded, 1 when some were not (they are listed), 2 for a bad argument,
//! root, configuration or database. On a terminal a progress bar, elsewhere
//! a progress line every 10 s; a stall warning either way.

#[path = "common/database.rs"]
mod database;
#[path = "common/embedder.rs"]
mod embedder;
#[path = "common/progress.rs"]
mod progress;
#[path = "common/runtime.rs"]
mod runtime;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use pyatlas::chunker::ChunkConfig;
use pyatlas::embed::Embedder;
use pyatlas::index::{CancellationToken, DEFAULT_DEBOUNCE, FileCache, IndexEvent, Indexer, watch};
use pyatlas::parser::Config;

use self::embedder::EmbedderArgs;
use self::progress::{ProgressArgs, Reporter};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Index a Python codebase into PostgreSQL with pgvector")]
struct Args {
    /// The codebase's root folder.
    root: PathBuf,
    /// PostgreSQL URL (default: DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
    /// The project's name (default: the root folder's name).
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    embedder: EmbedderArgs,
    /// Hard cap on each chunk's tokens, as in the `chunk` example.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Chunks per store-and-embed batch.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Parser threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    progress: ProgressArgs,
    /// After the run, watch the tree and index each change.
    #[arg(long)]
    watch: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    runtime::exit_status(true, run(args))
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let store = database::connect(args.database_url.as_deref()).await?;
    let bar = ProgressBar::new(0)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta} {msg}")?);
    let shown = bar.clone();
    let cancel = CancellationToken::new();
    let embedder: Arc<dyn Embedder> = args.embedder.build()?.into();
    let _reporter = Reporter::start(&args.progress, "index", "files", bar.clone(), Arc::clone(&embedder));
    let mut indexer = Indexer::builder(&args.root)
        .shared_embedder(embedder)
        .chunk_config(ChunkConfig::default().max_tokens(args.max_tokens))
        .parse_config(Config::default().threads(args.threads))
        .batch(args.batch)
        .cancel(cancel.clone())
        .observer(move |event: &IndexEvent| match event {
            IndexEvent::Started { run, resumed: true, .. } => {
                shown.suspend(|| eprintln!("resuming run {run}, left unfinished by an earlier index"));
            }
            IndexEvent::Started { files, .. } => shown.set_length(*files),
            IndexEvent::Progress(p) => {
                shown.set_position(p.files_done);
                shown.set_message(format!("{} chunks, {} cached, {} embedded", p.chunks, p.cached, p.embedded));
            }
            IndexEvent::Stage { stage } => shown.set_message(format!("{stage}")),
            IndexEvent::Warning { message } => shown.suspend(|| eprintln!("warning: {message}")),
            _ => {}
        });
    if let Some(project) = &args.project {
        indexer = indexer.project(project);
    }
    let indexer = indexer.build()?;
    let stop = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
    // Watching, each run reuses the work of the files that did not change.
    let (changes, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let _watch = if args.watch {
        Some(watch(indexer.root(), DEFAULT_DEBOUNCE, move |paths| drop(changes.send(paths)))?)
    } else {
        None
    };
    let mut cache = FileCache::new();
    loop {
        let summary =
            if args.watch { indexer.run_incremental(&store, &mut cache).await } else { indexer.run(&store).await };
        bar.finish_and_clear();
        match summary {
            Ok(summary) => {
                summary.failures.iter().for_each(|failure| eprintln!("not embedded: {failure}"));
                summary.rejected.iter().for_each(|rejected| eprintln!("not stored: {rejected}"));
                println!("{:?}: {summary}", indexer.project());
                if !args.watch {
                    return Ok(summary.is_complete());
                }
            }
            // Watching, a failed run (a lost database, say) is retried by the next change.
            Err(error) if args.watch && !cancel.is_cancelled() => eprintln!("error: {:#}", anyhow::Error::new(error)),
            Err(error) => return Err(error.into()),
        }
        eprintln!("watching {} for changes (Ctrl-C stops)", indexer.root().display());
        tokio::select! {
            paths = changed.recv() => eprintln!("changed: {:?}", paths.unwrap_or_default()),
            () = cancel.cancelled() => return Ok(true),
        }
        bar.reset();
    }
}
