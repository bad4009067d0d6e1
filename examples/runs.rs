//! The history of an indexed project: its runs, and what changed between two.
//!
//! ```text
//! cargo run --release --example runs -- <PROJECT> [--database-url URL] [--diff FROM TO] [--format text|json]
//! ```
//! Exit status: 0 when it ran, 2 for a bad argument, an unknown run or a
//! database error.

#[path = "common/database.rs"]
mod database;
#[path = "common/runtime.rs"]
mod runtime;

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use pyatlas::store::RunId;

#[derive(Parser)]
#[command(about = "List the runs of an indexed project, or diff two of them")]
struct Args {
    /// The project.
    project: String,
    /// PostgreSQL URL (default: DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
    /// Diff two runs instead: files and chunks added, removed and changed,
    /// drift findings new and fixed.
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"])]
    diff: Option<Vec<RunId>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    runtime::exit_status(false, async { run(&args).await.map(|()| true) })
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let store = database::connect(args.database_url.as_deref()).await?;
    if let Some([from, to]) = args.diff.as_deref() {
        let diff = store.diff(*from, *to).await?;
        if args.format == Format::Json {
            println!("{}", serde_json::to_string_pretty(&diff)?);
            return Ok(());
        }
        println!("run {from} -> run {to}");
        let list = |label: &str, items: &[String]| {
            println!("  {label} ({}): {}", items.len(), items.join(", "));
        };
        list("files added", &diff.files_added);
        list("files removed", &diff.files_removed);
        list("files changed", &diff.files_changed);
        let names = |chunks: &[pyatlas::store::ChunkRef]| -> Vec<String> {
            chunks.iter().map(|c| format!("{}:{}", c.path, c.qualnames.join("+"))).collect()
        };
        list("chunks added", &names(&diff.chunks_added));
        list("chunks removed", &names(&diff.chunks_removed));
        list("chunks changed", &names(&diff.chunks_changed));
        list("findings new", &diff.findings_new);
        list("findings fixed", &diff.findings_fixed);
        return Ok(());
    }
    let runs = store.runs(&args.project).await?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!("no run of project {:?}", args.project);
    }
    for run in &runs {
        println!(
            "{:5} {:9} {}  {}  {}  {}",
            run.id,
            run.status,
            run.started_at,
            run.git_commit.as_deref().unwrap_or("-"),
            run.embedder,
            run.summary
        );
    }
    Ok(())
}
