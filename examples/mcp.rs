//! An MCP server for coding agents over a Python codebase's map, on stdio.
//!
//! ```text
//! cargo run --release --example mcp -- [ROOT] [--database-url URL]
//! ```
//! With a ROOT, the in-memory map of ROOT (no database, no API key), kept
//! fresh: a changed file is seen by the next answer. With a database
//! (`--database-url` or `DATABASE_URL`) and no ROOT, the store's latest
//! complete run (`--project` when it holds several). Messages go over
//! stdin and stdout; nothing else is written to stdout. Exit status: 0 when
//! the client closes the connection, 2 for a bad argument or a failure.

#[path = "common/database.rs"]
mod database;
#[path = "common/runtime.rs"]
mod runtime;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pyatlas::mcp::PyatlasMcp;
use pyatlas::query::{At, StoreMap};
use pyatlas::store::Store;

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "An MCP server (stdio) over a Python codebase's map")]
struct Args {
    /// The codebase to serve from memory (without a database).
    root: Option<PathBuf>,
    /// The store to serve (default: DATABASE_URL, when there is no ROOT).
    #[arg(long)]
    database_url: Option<String>,
    /// The project of the store to answer about (default: its only one).
    #[arg(long)]
    project: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    runtime::exit_status(true, run(args))
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let server = match (args.root, args.database_url) {
        (Some(root), None) => PyatlasMcp::fresh(root).await?,
        (None, url) => {
            let config = database::config(url.as_deref())?.statement_timeout(Duration::from_secs(10));
            let map = StoreMap::new(Store::connect(config).await?);
            let at = args.project.map_or_else(At::default, At::project);
            PyatlasMcp::new(Arc::new(map)).at(at)
        }
        (Some(_), Some(_)) => anyhow::bail!("give a ROOT (served from memory) or a database, not both"),
    };
    server.serve_stdio().await?;
    Ok(true)
}
