//! Sustained embedding throughput under a provider's rate limits:
//! `OpenAiEmbedder` against a naive client with fixed concurrency and no
//! limiter, side by side, each against a fresh mock server that enforces
//! RPM 3,000 and TPM 1,000,000 with 100 to 300 ms of latency per request;
//! then the same four clients against a provider that counts tokens
//! differently (1.2 times tiktoken plus 8 per input, its limits charged by
//! that count, "Request too large" above its TPM).
//!
//! ```text
//! cargo bench --bench embed_rate                  # 4 clients x 120 s, real time
//! cargo bench --bench embed_rate -- --seconds 300 # longer runs
//! cargo bench --bench embed_rate -- --virtual     # on paused tokio time, in seconds
//! cargo bench --bench embed_rate -- --serve       # only the mock server, until killed
//! cargo bench --bench embed_rate -- --serve --rpm 500 --tpm 50000 --counts-differently
//! ```
//!
//! The texts are the chunks of the corpus (`$PYATLAS_BENCH_CORPUS`, or the
//! standard library of the machine's `python3`) as `pyatlas-chunker` cuts
//! them by default. Every client sends the same batches (at most 100
//! inputs and 20,000 tokens each) with 8 requests in flight.
//!
//! The mock's buckets start full (a minute's worth, as OpenAI's do), so the
//! first seconds run far above the limit for everyone; the figure that
//! matters is the steady state after `--warmup` seconds (default 20): the
//! tokens the server accepted in that window, by its own count, over what
//! the TPM limit allows in it. 429s are counted over the whole run. See
//! `benches/README.md`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pyatlas::chunker::{ChunkConfig, Chunker, Tiktoken};
use pyatlas::embed::mock::{MockConfig, MockServer, Record};
use pyatlas::embed::{Embedder, OpenAiConfig, OpenAiEmbedder};
use pyatlas::parser::{Config, discover, parse_files};

const RPM: u32 = 3_000;
const TPM: u32 = 1_000_000;
const BATCH_INPUTS: usize = 100;
const BATCH_TOKENS: usize = 20_000;
const CONCURRENCY: usize = 8;
const DIMS: usize = 16;

struct Options {
    seconds: u64,
    warmup: u64,
    virtual_time: bool,
}

/// The value after `--name` on the command line, if it parses.
fn value<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn options() -> Options {
    Options {
        seconds: value("--seconds").unwrap_or(120),
        warmup: value("--warmup").unwrap_or(20),
        virtual_time: flag("--virtual"),
    }
}

fn texts() -> Vec<String> {
    let root = common::corpus_root();
    let files = discover(root, &Config::default()).expect("walk the corpus").files;
    let chunker = Chunker::new(ChunkConfig::default(), Tiktoken::cl100k_base()).expect("chunker");
    let mut texts = Vec::new();
    parse_files(
        &files,
        &Config::default(),
        |parsed| chunker.chunk(&parsed),
        |chunks| texts.extend(chunks.into_iter().map(|c| c.text)),
    )
    .expect("parse");
    texts
}

fn server_config(counts_differently: bool) -> MockConfig {
    let (factor, per_input) = if counts_differently { (1.2, 8) } else { (1.0, 0) };
    MockConfig::default()
        .count(factor, per_input)
        .dimensions(DIMS)
        .requests_per_minute(RPM)
        .tokens_per_minute(TPM)
        .latency(Duration::from_millis(100), Duration::from_millis(300))
        .keep_texts(false)
}

/// What one client achieved, read from the server's records.
struct Outcome {
    name: &'static str,
    requests: usize,
    refused: usize,
    accepted_tokens: u64,
    steady_share: f64,
}

fn outcome(name: &'static str, records: &[Record], options: &Options) -> Outcome {
    let (from, to) = (Duration::from_secs(options.warmup), Duration::from_secs(options.seconds));
    let steady: u64 = records.iter().filter(|r| r.status == 200 && r.at >= from && r.at < to).map(|r| r.charged).sum();
    let allowed = f64::from(TPM) / 60.0 * (to - from).as_secs_f64();
    Outcome {
        name,
        requests: records.len(),
        refused: records.iter().filter(|r| r.status == 429).count(),
        accepted_tokens: records.iter().filter(|r| r.status == 200).map(|r| r.charged).sum(),
        steady_share: steady as f64 / allowed,
    }
}

/// `OpenAiEmbedder`, with the limits configured, or with only the
/// provider's headers to go by.
async fn pyatlas_client(url: String, texts: &[String], configured: bool, options: &Options) {
    let mut config = OpenAiConfig::new("text-embedding-3-small")
        .base_url(url)
        .api_key("sk-bench")
        .dimensions(DIMS)
        .max_batch_inputs(BATCH_INPUTS)
        .max_batch_tokens(BATCH_TOKENS)
        .concurrency(CONCURRENCY);
    if configured {
        config = config.requests_per_minute(RPM).tokens_per_minute(TPM);
    }
    let embedder = OpenAiEmbedder::new(config).expect("config");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut ignore = |_| {};
    let run = embedder.embed_each(&refs, &mut ignore);
    // The corpus outlasts the run; stop at the end of the window.
    let _ = tokio::time::timeout(Duration::from_secs(options.seconds), run).await;
}

/// How the naive client waits before sending a refused request again.
#[derive(Clone, Copy)]
enum Backoff {
    /// One second, every time.
    Second,
    /// 0.5 s doubling up to 60 s per batch, without jitter (async-openai's way).
    Exponential,
}

/// The naive client: the same batches, `CONCURRENCY` workers, no limiter;
/// a refused or failed request is sent again after `backoff`.
async fn naive_client(url: String, texts: &[String], backoff: Backoff, options: &Options) {
    let bpe = tiktoken_rs::cl100k_base_singleton();
    let mut batches: Vec<Vec<&str>> = Vec::new();
    let (mut current, mut tokens) = (Vec::new(), 0);
    for text in texts {
        let n = bpe.encode_ordinary(text).len();
        if !current.is_empty() && (current.len() == BATCH_INPUTS || tokens + n > BATCH_TOKENS) {
            batches.push(std::mem::take(&mut current));
            tokens = 0;
        }
        current.push(text.as_str());
        tokens += n;
    }
    batches.push(current);
    let client = reqwest::Client::new();
    let next = AtomicUsize::new(0);
    let url = format!("{url}/embeddings");
    let worker = || async {
        loop {
            let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) else { return };
            let body = serde_json::json!({"model": "text-embedding-3-small", "input": batch, "dimensions": DIMS});
            let mut wait = Duration::from_millis(500);
            loop {
                let sent = client
                    .post(&url)
                    .bearer_auth("sk-bench")
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        break;
                    }
                    _ => match backoff {
                        Backoff::Second => tokio::time::sleep(Duration::from_secs(1)).await,
                        Backoff::Exponential => {
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(60));
                        }
                    },
                }
            }
        }
    };
    let workers = futures_util::future::join_all((0..CONCURRENCY).map(|_| worker()));
    let _ = tokio::time::timeout(Duration::from_secs(options.seconds), workers).await;
}

async fn run_all(texts: Arc<Vec<String>>, options: &Options) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let clients = [
        ("pyatlas (limits configured)", 0),
        ("pyatlas (headers only)", 1),
        ("naive, retry after 1 s", 2),
        ("naive, exponential backoff", 3),
    ];
    for counts_differently in [false, true] {
        if counts_differently {
            println!("a provider that counts 1.2x tiktoken + 8 per input:");
        }
        for (name, client) in clients {
            let server = MockServer::start(server_config(counts_differently)).await.expect("mock server");
            let url = server.url();
            match client {
                0 => pyatlas_client(url, &texts, true, options).await,
                1 => pyatlas_client(url, &texts, false, options).await,
                2 => naive_client(url, &texts, Backoff::Second, options).await,
                _ => naive_client(url, &texts, Backoff::Exponential, options).await,
            }
            let records = server.records();
            let result = outcome(name, &records, options);
            print(&result, options);
            let refused: Vec<String> = records
                .iter()
                .filter(|r| r.status == 429)
                .take(5)
                .map(|r| format!("{:.3} s ({} tokens)", r.at.as_secs_f64(), r.charged))
                .collect();
            if !refused.is_empty() {
                println!("{:28} first 429s at {}", "", refused.join(", "));
            }
            outcomes.push(result);
        }
    }
    outcomes
}

fn print(o: &Outcome, options: &Options) {
    println!(
        "{:28} steady state ({}..{} s): {:5.1}% of TPM; {:5} requests, {:4} answered 429 ({:.2}%); {} tokens accepted",
        o.name,
        options.warmup,
        options.seconds,
        o.steady_share * 100.0,
        o.requests,
        o.refused,
        o.refused as f64 * 100.0 / o.requests.max(1) as f64,
        o.accepted_tokens,
    );
}

/// `--serve`: only the mock server, with the bench's limits and latency
/// (or `--rpm`, `--tpm`, `--counts-differently`), until killed; prints its
/// base URL (for `index --api-base`).
fn serve() {
    let config = server_config(flag("--counts-differently"))
        .requests_per_minute(value("--rpm").unwrap_or(RPM))
        .tokens_per_minute(value("--tpm").unwrap_or(TPM));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let server = MockServer::start(config).await.expect("mock server");
        println!("{}", server.url());
        std::future::pending::<()>().await;
    });
}

fn main() {
    if flag("--serve") {
        serve();
        return;
    }
    let options = options();
    let texts = Arc::new(texts());
    let tokens: usize = texts.iter().map(|t| tiktoken_rs::cl100k_base_singleton().encode_ordinary(t).len()).sum();
    println!(
        "{} chunks, {tokens} tokens; limits RPM {RPM}, TPM {TPM}; latency 100-300 ms; batches of <= {BATCH_INPUTS} \
         inputs and <= {BATCH_TOKENS} tokens; {CONCURRENCY} in flight; {} s per client ({} time)",
        texts.len(),
        options.seconds,
        if options.virtual_time { "virtual" } else { "real" },
    );
    let runtime = if options.virtual_time {
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    }
    .expect("runtime");
    runtime.block_on(run_all(texts, &options));
}
