//! Search an indexed codebase.
//!
//! ```text
//! cargo run --release --example search -- "<query>" [--database-url URL] [--project NAME] [-k 10]
//!     [--path-prefix P] [--domain D] [--kind K] [--mode hybrid|lexical|vector] [--format text|json] [--run ID]
//!     [--embedder hash|openai] [--model M] [--dimensions N] [--api-base URL]
//! ```
//! The query is embedded the way the run was (the embedder spec recorded
//! with it): offline for the `hash` embedder, through the OpenAI-compatible
//! API otherwise (`OPENAI_API_KEY`, `OPENAI_BASE_URL`). JSON: the hits, best
//! first (`id`, `path`, `qualnames`, `start_line`, `end_line`, `score`,
//! `text`, `kind`, `domains`). Exit status: 0 when the search ran (even with
//! no result), 2 for a bad argument, a missing project or run, or a
//! database or embedder error.

#[path = "common/database.rs"]
mod database;
#[path = "common/runtime.rs"]
mod runtime;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use pyatlas::chunker::ChunkKind;
use pyatlas::embed::{Embedder, EmbedderKind, EmbedderSpec, OpenAiEmbedder};
use pyatlas::store::{RunId, RunInfo, SearchMode, SearchQuery};

#[derive(Parser)]
#[command(about = "Search an indexed Python codebase")]
struct Args {
    /// What to look for.
    query: String,
    /// PostgreSQL URL (default: DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
    /// The project (default: the only one, or an error naming them).
    #[arg(long)]
    project: Option<String>,
    /// How many results.
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// Only chunks whose path starts with this.
    #[arg(long)]
    path_prefix: Option<String>,
    /// Only chunks of this domain.
    #[arg(long)]
    domain: Option<String>,
    /// Only chunks of this kind (function, method, class, class_head, module, part).
    #[arg(long)]
    kind: Option<ChunkKind>,
    /// How hits are ranked: hybrid (the default: full text and vectors,
    /// fused), lexical (full text alone) or vector (cosine alone).
    #[arg(long, default_value_t = SearchMode::Hybrid)]
    mode: SearchMode,
    /// Search this run instead of the latest complete one.
    #[arg(long)]
    run: Option<RunId>,
    /// Embed the query with this embedder (hash or openai) instead of the
    /// run's: its vectors must be comparable with the run's.
    #[arg(long)]
    embedder: Option<EmbedderKind>,
    /// The provider's model, instead of the run's.
    #[arg(long)]
    model: Option<String>,
    /// The vector size, instead of the run's.
    #[arg(long)]
    dimensions: Option<usize>,
    /// The provider's base URL, for runs embedded through an API.
    #[arg(long)]
    api_base: Option<String>,
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

/// The embedder a run was indexed with (its spec), with the options' changes.
fn embedder_of(run: &RunInfo, args: &Args) -> anyhow::Result<Box<dyn Embedder>> {
    let mut spec = match args.embedder {
        Some(EmbedderKind::Hash) => EmbedderSpec::hash(run.dimensions),
        Some(_) => EmbedderSpec::openai("text-embedding-3-small", run.dimensions, false),
        None => run.embedder.clone(),
    };
    if let Some(model) = &args.model {
        spec.model.clone_from(model);
    }
    if let Some(dimensions) = args.dimensions {
        spec.request_dimensions = spec.kind == EmbedderKind::OpenAi;
        spec.dimensions = dimensions;
    }
    match (spec.openai_config(), &args.api_base) {
        (Some(config), Some(url)) => Ok(Box::new(OpenAiEmbedder::new(config.base_url(url))?)),
        _ => Ok(spec.embedder()?),
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let store = database::connect(args.database_url.as_deref()).await?;
    let project = store.project_or_only(args.project.as_deref()).await?;
    let run = store.run_or_latest(&project, args.run).await?;
    let embedder = embedder_of(&run, args)?;
    if embedder.model_id() != run.model_id {
        let (id, theirs, ours) = (run.id, &run.model_id, embedder.model_id());
        eprintln!("warning: run {id} was embedded with {theirs}; the query is embedded with {ours}");
    }
    let vector = embedder.embed(&[args.query.as_str()]).await?.pop().context("no vector for the query")?;
    let mut query = SearchQuery::new(&project, vector).run(run.id).k(args.k);
    if let Some(prefix) = &args.path_prefix {
        query = query.path_prefix(prefix);
    }
    if let Some(domain) = &args.domain {
        query = query.domain(domain);
    }
    if let Some(kind) = args.kind {
        query = query.kind(kind);
    }
    query = query.mode(args.mode, &args.query);
    let hits = store.search(&query).await?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(());
    }
    for (rank, hit) in hits.iter().enumerate() {
        let name = hit.qualnames.join(", ");
        println!("{:2}. {:.4}  {}:{}-{}  {name}", rank + 1, hit.score, hit.path, hit.start_line, hit.end_line);
    }
    if hits.is_empty() {
        println!("no result in run {} of {project:?}", run.id);
    }
    Ok(())
}
