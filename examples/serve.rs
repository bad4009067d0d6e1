//! Serve a codebase's map over HTTP: the in-memory map of a folder, or the
//! runs of a pyatlas store in PostgreSQL.
//!
//! ```text
//! cargo run --release --example serve -- [ROOT] [--database-url URL] [--bind 127.0.0.1:7878] [--token TOKEN]
//!     [--allow-root DIR]... [--cors ORIGIN]... [--embedder hash|openai] [--model M] ...
//! ```
//! With a ROOT and no database, ROOT is indexed into memory (parse,
//! domains, chunks, hash embeddings, graphs, drift), served, and kept up to
//! date: a save is indexed incrementally (`LiveMap`). With a
//! database (`--database-url` or `DATABASE_URL`), the store is served, and
//! `POST /api/jobs` indexes folders under each `--allow-root DIR` with the
//! embedder the `index` example's flags choose; jobs left by a stopped
//! server are taken up again. The web UI answers at `/`, the JSON API
//! under `/api/`, and the MCP server (`pyatlas-mcp`) answers at
//! `/mcp` over streamable HTTP. It binds to loopback unless given a token,
//! prints the URL it listens on, and stops gracefully on SIGINT or SIGTERM
//! (requests in flight finish, running jobs end resumable).
//! Exit status: 0 after a clean stop, 2 for a bad argument or a failure.

#[path = "common/database.rs"]
mod database;
#[path = "common/embedder.rs"]
mod embedder;
#[path = "common/runtime.rs"]
mod runtime;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use pyatlas::mcp::PyatlasMcp;
use pyatlas::query::{CodeMap, LiveMap, StoreMap};
use pyatlas::serve::{Jobs, ServeOptions, Token, check_bind, router, serve};
use pyatlas::store::Store;

use self::embedder::EmbedderArgs;

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Serve a Python codebase's map over HTTP (JSON)")]
struct Args {
    /// The codebase to index into memory and serve (without a database).
    root: Option<PathBuf>,
    /// The store to serve (default: DATABASE_URL, when there is no ROOT).
    #[arg(long)]
    database_url: Option<String>,
    /// Where to listen; an address off loopback needs --token.
    #[arg(long, default_value = "127.0.0.1:7878")]
    bind: SocketAddr,
    /// A bearer token every request must carry (default: PYATLAS_TOKEN).
    #[arg(long)]
    token: Option<String>,
    /// An origin browsers may call the API from (repeatable; default: none).
    #[arg(long, value_name = "ORIGIN")]
    cors: Vec<String>,
    /// A folder whose subfolders index jobs may index (repeatable; needs a database).
    #[arg(long, value_name = "DIR")]
    allow_root: Vec<PathBuf>,
    /// The embedder of index jobs.
    #[command(flatten)]
    embedder: EmbedderArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    runtime::exit_status(true, run(args))
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let token = args.token.or_else(|| std::env::var("PYATLAS_TOKEN").ok()).and_then(Token::new);
    let cors = args
        .cors
        .iter()
        .map(|o| o.parse().with_context(|| format!("bad --cors origin {o:?}")))
        .collect::<Result<_, _>>()?;
    let mut options = ServeOptions { token, cors, ..ServeOptions::default() };
    check_bind(args.bind, &options)?;
    let mut _watch = None;
    let map: Arc<dyn CodeMap> = match (&args.root, &args.database_url) {
        (Some(_), _) if !args.allow_root.is_empty() => anyhow::bail!("index jobs (--allow-root) need a database"),
        (Some(root), None) => {
            eprintln!("indexing {} into memory, kept up to date as files change ...", root.display());
            let live = Arc::new(LiveMap::new(root).await?);
            // Answers look at the folder after the watch hears a change (or each time, without one).
            _watch = live.watch().inspect(|watch| live.trust_watch(watch)).map_err(|e| eprintln!("warning: {e}")).ok();
            // Agents ask the same map over MCP, at /mcp.
            options.mcp = Some(PyatlasMcp::live(Arc::clone(&live)));
            live
        }
        (None, url) => {
            // Every question is a few reads: none may hold a connection long.
            let config = database::config(url.as_deref())?.statement_timeout(Duration::from_secs(10));
            let store = Store::connect(config).await?;
            let jobs = Jobs::new(store.clone(), args.allow_root.clone(), args.embedder.build()?.into())?;
            let resumed = jobs.resume().await?;
            if !resumed.is_empty() {
                eprintln!("resuming {} job(s) left by a stopped server", resumed.len());
            }
            tokio::spawn(jobs.clone().watch());
            options.jobs = Some(jobs);
            let map = Arc::new(StoreMap::new(store));
            options.mcp = Some(PyatlasMcp::new(Arc::clone(&map) as Arc<dyn CodeMap>));
            map
        }
        (Some(_), Some(_)) => anyhow::bail!("give a ROOT (served from memory) or a database, not both"),
    };
    let listener = tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    println!("listening on http://{}", listener.local_addr()?);
    eprintln!("open that URL in a browser for the web UI; the JSON API is under /api/");
    let jobs = options.jobs.clone();
    let stop = jobs.clone();
    serve(listener, router(map, options), async move {
        shutdown().await;
        // Running jobs end resumable, and event streams end, so that the
        // requests in flight can finish.
        if let Some(jobs) = &stop {
            jobs.stop();
        }
    })
    .await?;
    if let Some(jobs) = jobs {
        jobs.stopped().await;
    }
    eprintln!("stopped");
    Ok(true)
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
