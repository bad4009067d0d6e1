//! Ingest and search in PostgreSQL with pgvector: the store's binary COPY
//! path against row-by-row parametrised INSERTs (what `executemany` does),
//! side by side in one run, then search latency over what was ingested.
//!
//! ```text
//! DATABASE_URL=postgres://... cargo bench --bench store_ingest                       # 100,000 chunks, 1,536 dims
//! DATABASE_URL=postgres://... cargo bench --bench store_ingest -- --chunks 20000 --queries 500
//! ```
//! Each path writes the same rows (chunk text, chunk location, vector) into a
//! schema of its own, in transactions of 1,000 rows. Search runs
//! `--queries` nearest-neighbour queries (k = 10) on the HNSW index, each
//! the vector of a stored chunk plus noise, and reports p50 and p95.
//! See `benches/README.md`.

use std::time::{Duration, Instant};

use pyatlas::chunker::{ChunkId, ChunkKind};
use pyatlas::embed::EmbedderSpec;
use pyatlas::store::{ChunkRow, RunSpec, SearchQuery, Store, StoreConfig};

const BATCH: usize = 1_000;

struct Options {
    chunks: usize,
    dims: usize,
    queries: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<usize>().ok())
    };
    Options {
        chunks: value("--chunks").unwrap_or(100_000),
        dims: value("--dims").unwrap_or(1_536),
        queries: value("--queries").unwrap_or(1_000),
    }
}

/// Rows that look like chunks: a header, ~40 lines of code, a random unit vector.
fn rows(options: &Options) -> (Vec<ChunkRow>, Vec<Vec<f32>>) {
    let mut rng = fastrand_like(42);
    let mut chunks = Vec::with_capacity(options.chunks);
    let mut vectors = Vec::with_capacity(options.chunks);
    for i in 0..options.chunks {
        let path = format!("pkg/module_{}/file_{}.py", i / 1000, i / 20);
        let body: String = (0..40).map(|l| format!("    value_{l} = compute_{i}(item_{l}, {l})\n")).collect();
        let text = format!("# {path}\ndef function_{i}(item):\n{body}");
        chunks.push(ChunkRow {
            id: ChunkId::of(&text),
            path,
            qualnames: vec![format!("function_{i}")],
            kind: ChunkKind::Function,
            start_line: 1,
            end_line: 42,
            token_count: 400,
            text,
            domains: vec![],
            metadata: serde_json::json!({}),
        });
        let mut v: Vec<f32> = (0..options.dims).map(|_| rng() * 2.0 - 1.0).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        vectors.push(v);
    }
    (chunks, vectors)
}

/// A tiny deterministic generator (xorshift), so runs are comparable.
fn fastrand_like(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed.max(1);
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    }
}

async fn connect(schema: &str) -> Store {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL: a PostgreSQL with pgvector");
    let admin = Store::connect(StoreConfig::new(&url).expect("url").schema(schema)).await.expect("connect");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    // A fresh schema per run of the bench.
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.expect("drop");
    drop(admin);
    Store::connect(StoreConfig::new(&url).expect("url").schema(schema)).await.expect("connect")
}

/// The store's path: binary COPY into staging, INSERT ... ON CONFLICT.
async fn copy_path(chunks: &[ChunkRow], vectors: &[Vec<f32>], dims: usize) -> (Duration, Store) {
    let store = connect("bench_copy").await;
    let start = Instant::now();
    let run = store
        .begin_run(RunSpec::new("bench", "bench-model", EmbedderSpec::other("bench-model", dims)))
        .await
        .expect("run");
    let mut in_vectors = Duration::ZERO;
    for (part, part_vectors) in chunks.chunks(BATCH).zip(vectors.chunks(BATCH)) {
        run.add_chunks(part).await.expect("chunks");
        let rows: Vec<(ChunkId, &[f32])> =
            part.iter().zip(part_vectors).map(|(c, v)| (c.id.clone(), v.as_slice())).collect();
        let vectors_start = Instant::now();
        store.put_embeddings("bench-model", dims, &rows).await.expect("embeddings");
        in_vectors += vectors_start.elapsed();
    }
    let ingest = start.elapsed();
    println!("  of which vectors:                   {:8.2} s", in_vectors.as_secs_f64());
    let start = Instant::now();
    // Completing builds the HNSW index over what was loaded.
    run.complete(serde_json::json!({})).await.expect("complete");
    println!("HNSW index build at completion:       {:8.2} s", start.elapsed().as_secs_f64());
    (ingest, store)
}

/// Row by row: one parametrised INSERT per table per row, in transactions
/// of `BATCH` rows, as `executemany` does.
async fn insert_path(chunks: &[ChunkRow], vectors: &[Vec<f32>], dims: usize) -> Duration {
    let store = connect("bench_insert").await;
    let run = store
        .begin_run(RunSpec::new("bench", "bench-model", EmbedderSpec::other("bench-model", dims)))
        .await
        .expect("run");
    let url = std::env::var("DATABASE_URL").expect("url");
    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.batch_execute("SET search_path TO bench_insert, public").await.expect("path");
    let start = Instant::now();
    let text = client
        .prepare("INSERT INTO chunk_texts (id, text, token_count) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .await
        .expect("prepare");
    let location = client
        .prepare(
            "INSERT INTO chunks (run_id, id, path, qualnames, kind, start_line, end_line, domains, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .await
        .expect("prepare");
    let embedding = client
        .prepare(
            "INSERT INTO embeddings (model_id, dimensions, chunk_id, embedding) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .await
        .expect("prepare");
    let dims32 = i32::try_from(dims).expect("dims");
    let run_id = run.id();
    let mut in_vectors = Duration::ZERO;
    for (part, part_vectors) in chunks.chunks(BATCH).zip(vectors.chunks(BATCH)) {
        let tx = client.transaction().await.expect("tx");
        for (c, v) in part.iter().zip(part_vectors) {
            let (start_line, end_line, tokens) = (c.start_line as i32, c.end_line as i32, c.token_count as i32);
            tx.execute(&text, &[&c.id.as_str(), &c.text, &tokens]).await.expect("text");
            tx.execute(
                &location,
                &[
                    &run_id.get(),
                    &c.id.as_str(),
                    &c.path,
                    &c.qualnames,
                    &c.kind.as_str(),
                    &start_line,
                    &end_line,
                    &c.domains,
                    &c.metadata,
                ],
            )
            .await
            .expect("location");
            let vector = pgvector::Vector::from(v.clone());
            let vector_start = Instant::now();
            tx.execute(&embedding, &[&"bench-model", &dims32, &c.id.as_str(), &vector]).await.expect("embedding");
            in_vectors += vector_start.elapsed();
        }
        tx.commit().await.expect("commit");
    }
    let elapsed = start.elapsed();
    println!("  of which vector INSERTs:            {:8.2} s", in_vectors.as_secs_f64());
    run.fail("bench: row-by-row copy, not searched").await.expect("fail");
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn bench(options: Options) {
    let (chunks, vectors) = rows(&options);
    println!(
        "{} chunks, {} dimensions, transactions of {BATCH} rows; PostgreSQL at DATABASE_URL",
        options.chunks, options.dims
    );
    let (copy, store) = copy_path(&chunks, &vectors, options.dims).await;
    println!(
        "binary COPY + INSERT ... ON CONFLICT: {:8.2} s, {:8.0} chunks/s",
        copy.as_secs_f64(),
        options.chunks as f64 / copy.as_secs_f64()
    );
    let insert = insert_path(&chunks, &vectors, options.dims).await;
    println!(
        "row-by-row parametrised INSERTs:      {:8.2} s, {:8.0} chunks/s",
        insert.as_secs_f64(),
        options.chunks as f64 / insert.as_secs_f64()
    );
    println!("ratio: COPY is {:.1}x faster", insert.as_secs_f64() / copy.as_secs_f64());

    let mut rng = fastrand_like(7);
    let mut latencies = Vec::with_capacity(options.queries);
    let mut found_self = 0;
    for q in 0..options.queries {
        let target = (q * 7_919) % chunks.len();
        let probe: Vec<f32> = vectors[target].iter().map(|x| x + (rng() - 0.5) * 0.01).collect();
        let start = Instant::now();
        let hits = store.search(&SearchQuery::new("bench", probe).k(10)).await.expect("search");
        latencies.push(start.elapsed());
        found_self += usize::from(hits.first().is_some_and(|h| h.id == chunks[target].id));
    }
    latencies.sort();
    println!(
        "search, k = 10, HNSW over {} vectors: p50 {:.2} ms, p95 {:.2} ms ({} queries; the perturbed chunk first in {:.1}%)",
        options.chunks,
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        options.queries,
        found_self as f64 * 100.0 / options.queries as f64
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench(options()));
}
