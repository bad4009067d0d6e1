//! Index a Python codebase into PostgreSQL: parse, chunk, embed (cached),
//! store, as one streaming pipeline.
//!
//! ```text
//! cargo run --release --example index -- <ROOT> [--database-url URL] [--project NAME]
//!     [--embedder hash|openai] [--model M] [--dimensions N] [--api-base URL] [--rpm N] [--tpm N]
//!     [--concurrency N] [--max-tokens 512] [--batch 512]
//! ```
//! Parsing and chunking run on the parser's worker pool and feed a bounded
//! channel; batches of chunks are stored, looked up in the store's
//! embedding cache, embedded where missing (rate-limited, async) and their
//! vectors stored, one batch at a time: memory stays flat, and a slow stage
//! slows the others. The run becomes visible to `search` when it completes;
//! a run killed midway is resumed by the next `index` of the project.
//! `DATABASE_URL` and `OPENAI_API_KEY` come from the environment when not
//! given. Exit status: 0 when every chunk was stored and embedded, 1 when
//! some chunks could not be embedded (they are listed), 2 for a bad
//! argument, root, configuration or database.

#[path = "common/database.rs"]
mod database;
#[path = "common/embedder.rs"]
mod embedder;
#[path = "common/runtime.rs"]
mod runtime;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeSet, HashMap};

use pyatlas::chunker::{Chunk, ChunkConfig, Chunker, Tiktoken};
use pyatlas::classifier::{RuleClassifier, Rules};
use pyatlas::embed::{CachedEmbedder, Embedder};
use pyatlas::intent::{FileFacts, IntentConfig, check};
use pyatlas::parser::{Config, discover, parse_files};
use pyatlas::store::{ChunkRow, EdgeRow, FileRow, FindingRow, RunSpec, TagRow};

use self::embedder::EmbedderArgs;

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
}

/// What one parsed file sends down the pipeline.
struct FileWork {
    file: FileRow,
    chunks: Vec<(Chunk, Vec<String>)>,
    edges: Vec<EdgeRow>,
    tags: Vec<TagRow>,
    /// Kept for drift, which needs the whole codebase.
    facts: FileFacts,
}

/// The chunks of a file with their domains (those of the units they hold,
/// or of the module for module-level code), its import edges and its tags.
fn file_work(parsed: &pyatlas::parser::ParsedFile, chunker: &Chunker, facts: FileFacts) -> FileWork {
    let record = parsed.record();
    let module = record.module.to_string();
    let mut unit_domains: HashMap<String, Vec<String>> = HashMap::new();
    for (unit, domains) in record.units.iter().zip(&facts.classification.units) {
        unit_domains.insert(unit.qualname.to_string(), domains.iter().map(|d| d.domain.clone()).collect());
    }
    let module_domains: Vec<String> = facts.classification.module.iter().map(|d| d.domain.clone()).collect();
    let chunks = chunker
        .chunk(parsed)
        .into_iter()
        .map(|chunk| {
            let mut domains = BTreeSet::new();
            for name in &chunk.qualnames {
                domains.extend(unit_domains.get(&name.to_string()).into_iter().flatten().cloned());
            }
            if chunk.qualnames.is_empty() {
                domains.extend(module_domains.iter().cloned());
            }
            (chunk, domains.into_iter().collect())
        })
        .collect();
    let edges = record
        .imports
        .iter()
        .map(|import| EdgeRow {
            kind: "import".into(),
            source: module.clone(),
            target: format!("{}{}", ".".repeat(import.level as usize), import.module),
            line: import.line,
        })
        .collect();
    let tags = facts
        .tags
        .tags
        .iter()
        .flat_map(|tag| {
            let scope = tag
                .unit
                .and_then(|u| record.units.get(u as usize))
                .map_or_else(|| module.clone(), |u| u.qualname.to_string());
            tag.values.iter().map(move |value| TagRow {
                path: record.path.clone(),
                line: tag.line,
                scope: scope.clone(),
                key: tag.key.clone(),
                value: value.clone(),
            })
        })
        .collect();
    let file = FileRow {
        path: record.path.clone(),
        module,
        content_hash: blake3::hash(parsed.text().as_bytes()).to_hex()[..32].to_owned(),
        lines: record.lines,
    };
    FileWork { file, chunks, edges, tags, facts }
}

fn main() -> ExitCode {
    let args = Args::parse();
    runtime::exit_status(true, run(args))
}

fn project_name(args: &Args) -> anyhow::Result<String> {
    if let Some(name) = &args.project {
        return Ok(name.clone());
    }
    let root = args.root.canonicalize().with_context(|| format!("cannot read {}", args.root.display()))?;
    Ok(root.file_name().map_or_else(|| "root".to_owned(), |n| n.to_string_lossy().into_owned()))
}

fn git_commit(root: &Path) -> Option<String> {
    let out = std::process::Command::new("git").arg("-C").arg(root).args(["rev-parse", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn row(chunk: &Chunk, domains: &[String]) -> ChunkRow {
    ChunkRow {
        id: chunk.id.to_string(),
        path: chunk.path.clone(),
        qualnames: chunk.qualnames.iter().map(ToString::to_string).collect(),
        kind: serde_json::to_value(chunk.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        start_line: chunk.start_line,
        end_line: chunk.end_line,
        token_count: u32::try_from(chunk.token_count).unwrap_or(u32::MAX),
        text: chunk.text.clone(),
        domains: domains.to_vec(),
        metadata: serde_json::json!({
            "module": chunk.module.to_string(),
            "part_index": chunk.part_index,
            "part_count": chunk.part_count,
            "parent": chunk.parent.as_ref().map(ToString::to_string),
        }),
    }
}

#[derive(Default)]
struct Totals {
    files: u64,
    chunks: u64,
    cached: u64,
    embedded: u64,
    failed: u64,
    tokens: u64,
    requests: u64,
    rate_limited: u64,
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let start = Instant::now();
    let embedder = args.embedder.build()?;
    let store = database::connect(args.database_url.as_deref()).await?;
    let project = project_name(&args)?;
    let chunker = Chunker::new(ChunkConfig::default().max_tokens(args.max_tokens), Tiktoken::cl100k_base())?;
    let discovery = discover(&args.root, &Config::default())?;
    let (rules, _) = Rules::for_root(&args.root).context("loading the classifier's rules")?;
    let known_domains: BTreeSet<String> = rules.domains.iter().map(|d| d.name.clone()).collect();
    let classifier = RuleClassifier::new(rules);
    let (intent, _) = IntentConfig::for_root(&args.root).context("loading the intent configuration")?;

    let fingerprint = blake3::hash(
        format!("pyatlas {} max_tokens={} model={}", env!("CARGO_PKG_VERSION"), args.max_tokens, embedder.model_id())
            .as_bytes(),
    )
    .to_hex()[..16]
        .to_owned();
    let spec = RunSpec::new(&project, embedder.model_id(), embedder.dimensions())
        .config_fingerprint(fingerprint)
        .git_commit(git_commit(&args.root));
    let run = store.begin_run(spec).await?;
    if run.resumed() {
        eprintln!("resuming run {} of project {project:?}, left unfinished by an earlier index", run.id());
    }
    let cached = CachedEmbedder::new(embedder, store.embedding_cache());

    // Stage 1: parse and chunk on the worker pool, into a bounded channel.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<FileWork>(256);
    let files = discovery.files.clone();
    let vocabulary = intent.vocabulary.clone();
    let producer = std::thread::spawn(move || {
        let config = Config::default();
        parse_files(
            &files,
            &config,
            |parsed| {
                let facts = FileFacts::gather(&parsed, &classifier, &vocabulary);
                file_work(&parsed, &chunker, facts)
            },
            |work| {
                // The receiver only goes away on an error downstream.
                let _ = sender.blocking_send(work);
            },
        )
    });

    // Stage 2: store and embed, batch by batch.
    let progress = ProgressBar::new(discovery.files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta} {msg}").context("template")?,
    );
    let mut totals = Totals::default();
    let mut files: Vec<FileRow> = Vec::new();
    let mut chunks: Vec<(Chunk, Vec<String>)> = Vec::new();
    let mut edges: Vec<EdgeRow> = Vec::new();
    let mut tags: Vec<TagRow> = Vec::new();
    let mut all_facts: Vec<FileFacts> = Vec::new();
    let mut failures = Vec::new();
    let mut done = false;
    while !done {
        match receiver.recv().await {
            Some(work) => {
                files.push(work.file);
                chunks.extend(work.chunks);
                edges.extend(work.edges);
                tags.extend(work.tags);
                all_facts.push(work.facts);
            }
            None => done = true,
        }
        if chunks.len() < args.batch && !done {
            continue;
        }
        totals.files += files.len() as u64;
        totals.chunks += chunks.len() as u64;
        run.add_files(&files).await?;
        run.add_edges(&edges).await?;
        run.add_tags(&tags).await?;
        let rows: Vec<ChunkRow> = chunks.iter().map(|(chunk, domains)| row(chunk, domains)).collect();
        let stored = run.add_chunks(&rows).await?;
        for rejected in &stored.rejected {
            eprintln!("not stored: {}", rejected.reason);
        }
        let texts: Vec<&str> = chunks.iter().map(|(c, _)| c.text.as_str()).collect();
        // The cache is the store: embedded vectors are written as each
        // batch completes, before the next one is sent.
        let report = cached.embed_each(&texts, &mut |_| {}).await;
        totals.cached += report.metrics.cache_hits;
        totals.embedded += report.embedded as u64 - report.metrics.cache_hits;
        totals.failed += report.failures.len() as u64;
        totals.tokens += report.metrics.tokens;
        totals.requests += report.metrics.requests;
        totals.rate_limited += report.metrics.rate_limited;
        for failure in report.failures {
            let (chunk, _) = &chunks[failure.index];
            failures.push(format!("{} {}:{}: {}", chunk.id, chunk.path, chunk.start_line, failure.error));
        }
        for warning in report.warnings {
            eprintln!("warning: {warning}");
        }
        progress.inc(files.len() as u64);
        progress.set_message(format!("{} chunks, {} cached", totals.chunks, totals.cached));
        files.clear();
        chunks.clear();
        edges.clear();
        tags.clear();
    }
    producer.join().map_err(|_| anyhow::anyhow!("the parser's thread panicked"))??;
    progress.finish_and_clear();
    // Drift needs every file's facts: checked once the tree is read.
    let drift = check(&all_facts, &intent, &known_domains);
    let label = |value: serde_json::Result<serde_json::Value>| {
        value.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    };
    let findings: Vec<FindingRow> = drift
        .findings
        .iter()
        .map(|f| FindingRow {
            fingerprint: f.fingerprint(),
            rule: label(serde_json::to_value(f.rule)),
            severity: label(serde_json::to_value(f.severity)),
            path: f.path.clone(),
            line: f.line,
            message: f.message.clone(),
        })
        .collect();
    run.add_findings(&findings).await?;

    let seconds = start.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "files": totals.files,
        "chunks": totals.chunks,
        "cached": totals.cached,
        "embedded": totals.embedded,
        "failed_embeddings": totals.failed,
        "tokens": totals.tokens,
        "requests": totals.requests,
        "rate_limited": totals.rate_limited,
        "findings": findings.len(),
        "seconds": seconds,
        // How `search` embeds a query as this run did.
        "dimensions_requested": args.embedder.dimensions.is_some(),
    });
    let info = run.complete(summary).await?;
    for failure in &failures {
        eprintln!("not embedded: {failure}");
    }
    println!(
        "run {} of {project:?} complete: files {}, chunks {}, cached {}, embedded {}, failed {}, tokens {}, \
         requests {}, 429s {}, {seconds:.2} s",
        info.id,
        totals.files,
        totals.chunks,
        totals.cached,
        totals.embedded,
        totals.failed,
        totals.tokens,
        totals.requests,
        totals.rate_limited
    );
    Ok(failures.is_empty())
}
