//! Embedding through a provider that counts tokens differently from
//! tiktoken: 1.2 times its count plus 8 tokens per input, RPM 500 and TPM
//! 50,000, answering 429 "Request too large" to any request above its TPM,
//! as OpenAI does. The inputs are the chunks of the standard library's
//! `email` and `asyncio` packages (about 200,000 tokens by the provider's
//! count: four minutes of its budget), as `chunk` cuts them; everything runs on paused tokio
//! time (minutes of pacing take no real time), against the loopback mock.
//!
//! Whatever the client is told, it must finish with every input embedded,
//! use at least 90% of the provider's token budget after the first minute,
//! and be refused (429) for at most 5% of its requests. The last test runs
//! the index pipeline itself over the two packages, into memory.

mod common;

use std::time::Duration;

use pyatlas::chunker::{ChunkConfig, Chunker, Tiktoken};
use pyatlas::embed::mock::{MockConfig, MockServer, Record, Usage};
use pyatlas::embed::{Embedder, OpenAiConfig, OpenAiEmbedder};
use pyatlas::parser::{Config, discover, parse_files};

const RPM: u32 = 500;
const TPM: u32 = 50_000;
const DIMS: usize = 8;

/// The chunks of the `email` and `asyncio` packages.
fn chunks() -> Vec<String> {
    let chunker = Chunker::new(ChunkConfig::default(), Tiktoken::cl100k_base()).expect("chunker");
    let mut texts = Vec::new();
    for package in ["email", "asyncio"] {
        let files = discover(common::stdlib_package(package), &Config::default()).expect("walk").files;
        parse_files(
            &files,
            &Config::default(),
            |p| chunker.chunk(&p),
            |c| {
                texts.extend(c.into_iter().map(|c| c.text));
            },
        )
        .expect("parse");
    }
    texts
}

fn provider(usage: Usage) -> MockConfig {
    MockConfig::default()
        .dimensions(DIMS)
        .count(1.2, 8)
        .usage(usage)
        .requests_per_minute(RPM)
        .tokens_per_minute(TPM)
        .latency(Duration::from_millis(100), Duration::from_millis(300))
        .keep_texts(false)
}

/// The share of the provider's budget used from the first minute to the
/// last accepted request, and the share of requests refused.
fn figures(records: &[Record]) -> (f64, f64) {
    let accepted: Vec<&Record> = records.iter().filter(|r| r.status == 200).collect();
    let last = accepted.last().expect("accepted requests").at;
    let minute = Duration::from_secs(60);
    assert!(last > minute * 3, "the corpus should outlast three minutes: {last:?}");
    let used: u64 = accepted.iter().filter(|r| r.at >= minute && r.at < last).map(|r| r.charged).sum();
    let allowed = f64::from(TPM) / 60.0 * (last - minute).as_secs_f64();
    let refused = records.iter().filter(|r| r.status == 429).count();
    (used as f64 / allowed, refused as f64 / records.len() as f64)
}

/// A client told the provider's limits.
fn limited_client(server: &MockServer) -> OpenAiEmbedder {
    OpenAiEmbedder::new(
        OpenAiConfig::new("text-embedding-3-small")
            .base_url(server.url())
            .api_key("sk-count")
            .dimensions(DIMS)
            .requests_per_minute(RPM)
            .tokens_per_minute(TPM),
    )
    .expect("config")
}

async fn embed_all(server: &MockServer, config: OpenAiConfig, texts: &[String]) -> OpenAiEmbedder {
    let embedder =
        OpenAiEmbedder::new(config.base_url(server.url()).api_key("sk-count").dimensions(DIMS)).expect("config");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut delivered = vec![false; texts.len()];
    let report = embedder
        .embed_each(&refs, &mut |batch| {
            for item in batch {
                assert!(!delivered[item.index], "input {} delivered twice", item.index);
                assert_eq!(item.vector, MockServer::vector_for(&texts[item.index], DIMS));
                delivered[item.index] = true;
            }
        })
        .await;
    assert!(report.is_complete(), "{:?}", report.failures.first());
    assert!(delivered.iter().all(|d| *d), "an input was not delivered");
    embedder
}

/// The provider's `usage` reports what it charges: the client learns the
/// count from it, with its limits configured or from the headers alone.
#[tokio::test(start_paused = true)]
async fn a_provider_that_counts_differently_gets_its_budget_and_few_429s() {
    let texts = chunks();
    let clients = [
        (
            "limits configured",
            OpenAiConfig::new("text-embedding-3-small").requests_per_minute(RPM).tokens_per_minute(TPM),
        ),
        ("headers only", OpenAiConfig::new("text-embedding-3-small")),
    ];
    for (name, config) in clients {
        let server = MockServer::start(provider(Usage::Charged)).await.expect("mock");
        let embedder = embed_all(&server, config, &texts).await;
        let records = server.records();
        let (budget, refused) = figures(&records);
        let count = embedder.provider_count();
        eprintln!(
            "{name}: {} requests, {:.1}% of TPM after the first minute, {:.1}% refused; learned {count:?}",
            records.len(),
            budget * 100.0,
            refused * 100.0
        );
        assert!(budget >= 0.90, "{name}: {:.1}% of the budget", budget * 100.0);
        assert!(refused <= 0.05, "{name}: {:.1}% of requests refused", refused * 100.0);
        assert!((count.per_token - 1.2).abs() < 0.02 && (count.per_input - 8.0).abs() < 1.0, "{count:?}");
        // Once the first answer has told the count, no request is larger
        // than a quarter of the limit by the provider's count.
        let largest = records.iter().skip(1).map(|r| r.charged).max().unwrap_or(0);
        assert!(largest <= u64::from(TPM) / 4, "{name}: a request of {largest} tokens");
    }
}

/// A provider that reports no usage: the client learns from the drop of
/// `x-ratelimit-remaining-tokens` across requests and the "Requested N" of
/// refusals instead, and stays within the same bounds. And one whose
/// `usage` is tiktoken's count while it charges its own: its refusals show
/// the usage model short, and scale it up. With one or two refusals to go
/// by, the scale is a ratio that misses the tokens per input, so the client
/// keeps a little further from the limit: at least 85% of the budget (91%
/// measured).
#[tokio::test(start_paused = true)]
async fn usage_that_disagrees_or_is_missing() {
    let texts = chunks();
    for (usage, floor) in [(Usage::None, 0.90), (Usage::Tiktoken, 0.85)] {
        let server = MockServer::start(provider(usage)).await.expect("mock");
        let config = OpenAiConfig::new("text-embedding-3-small").requests_per_minute(RPM).tokens_per_minute(TPM);
        let embedder = embed_all(&server, config, &texts).await;
        let records = server.records();
        let (budget, refused) = figures(&records);
        eprintln!(
            "usage {usage:?}: {} requests, {:.1}% of TPM, {:.1}% refused; learned {:?}",
            records.len(),
            budget * 100.0,
            refused * 100.0,
            embedder.provider_count()
        );
        assert!(budget >= floor, "{usage:?}: {:.1}% of the budget", budget * 100.0);
        assert!(refused <= 0.05, "{usage:?}: {:.1}% refused", refused * 100.0);
        assert!(embedder.provider_count().per_token > 1.15, "{:?}", embedder.provider_count());
    }
}

/// As `index` embeds: through the cache, one call per 512 chunks, one call
/// after the other. The learned count and the budget carry over from call
/// to call: the same bounds hold.
#[tokio::test(start_paused = true)]
async fn calls_of_512_chunks_as_index_makes_them() {
    use pyatlas::embed::{CachedEmbedder, InMemoryCache};

    let texts = chunks();
    let server = MockServer::start(provider(Usage::Charged)).await.expect("mock");
    let inner = limited_client(&server);
    let embedder = CachedEmbedder::new(inner, InMemoryCache::default());
    let mut embedded = 0;
    for part in texts.chunks(512) {
        let refs: Vec<&str> = part.iter().map(String::as_str).collect();
        let report = embedder.embed_each(&refs, &mut |_| {}).await;
        assert!(report.is_complete(), "{:?}", report.failures.first());
        embedded += report.embedded;
    }
    assert_eq!(embedded, texts.len());
    let records = server.records();
    let (budget, refused) = figures(&records);
    eprintln!(
        "calls of 512: {} requests, {:.1}% of TPM, {:.1}% refused",
        records.len(),
        budget * 100.0,
        refused * 100.0
    );
    assert!(budget >= 0.90, "{:.1}% of the budget", budget * 100.0);
    assert!(refused <= 0.05, "{:.1}% refused", refused * 100.0);
    let status = embedder.status().expect("the inner embedder's status");
    assert!(!status.active && status.metrics.requests == records.len() as u64, "{status:?}");
}

/// The index pipeline itself (`Indexer`, as `index` runs it) over a copy of
/// the same two packages, into memory: every chunk embedded, the same
/// bounds on the budget and the refusals, and the summary's counts the
/// provider's. Its batch holds the whole corpus, so that every file is
/// parsed before the first request: paused time jumps ahead whenever the
/// runtime waits with a timer pending, and a wait for the parser's threads
/// (real time) would then count as minutes of budget left unused. The
/// pipeline's own batches of 512 are `calls_of_512_chunks_as_index_makes_them`.
#[tokio::test(start_paused = true)]
async fn the_index_pipeline_gets_its_budget_and_few_429s() {
    use pyatlas::index::{Indexer, MemoryTarget};

    let root = tempfile::tempdir().expect("tempdir");
    for package in ["email", "asyncio"] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(common::stdlib_package(package))
            .arg(root.path())
            .status()
            .expect("cp");
        assert!(status.success(), "copying {package}");
    }
    let server = MockServer::start(provider(Usage::Charged)).await.expect("mock");
    let embedder = limited_client(&server);
    let indexer = Indexer::builder(root.path()).embedder(embedder).batch(usize::MAX).build().expect("indexer");
    let target = MemoryTarget::new();
    let summary = indexer.run(&target).await.expect("the run");
    assert!(summary.is_complete(), "{:?}", summary.failures.first());
    assert!(summary.chunks > 900, "{summary:?}");
    assert_eq!(summary.embedded + summary.cached, summary.chunks, "every chunk has a vector");
    let rows = target.take_rows().expect("the run's rows");
    assert_eq!(rows.chunks.len() as u64, summary.chunks);
    let records = server.records();
    let (budget, refused) = figures(&records);
    eprintln!(
        "index: {} chunks, {} requests, {:.1}% of TPM after the first minute, {:.1}% refused",
        summary.chunks,
        records.len(),
        budget * 100.0,
        refused * 100.0
    );
    assert_eq!(summary.requests, records.len() as u64, "the summary counts the provider's requests");
    assert_eq!(summary.rate_limited, records.iter().filter(|r| r.status == 429).count() as u64);
    assert!(budget >= 0.90, "{:.1}% of the budget", budget * 100.0);
    assert!(refused <= 0.05, "{:.1}% refused", refused * 100.0);
}
