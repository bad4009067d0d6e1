//! Incremental indexing on a real tree, in one run: a cold run against
//! runs after editing one file and runs of the unchanged tree, into memory
//! and (with `DATABASE_URL`) into PostgreSQL; the live map's refresh; and,
//! through a watch, the time from a save to the map answering with it.
//!
//! ```text
//! cargo bench --bench incremental -- <ROOT> [--rounds 7]
//! DATABASE_URL=postgres://... cargo bench --bench incremental -- <ROOT>
//! ```
//! The tree is copied to a temporary folder first; each edit appends a
//! function to one file near the middle of the tree. Medians of `--rounds`
//! rounds; see `benches/README.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyatlas::index::{FileCache, Indexer, MemoryTarget};
use pyatlas::parser::{Config, discover};
use pyatlas::query::LiveMap;
use pyatlas::store::{Store, StoreConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("readable") {
        let path = entry.expect("an entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy(&path, &target);
        } else if std::fs::copy(&path, &target).is_err() {
            eprintln!("skipped {}", path.display());
        }
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Appends a function named `marker` to `file`.
fn edit(file: &Path, marker: &str) {
    let mut text = std::fs::read_to_string(file).expect("the edited file");
    text.push_str(&format!("\n\ndef {marker}(value):\n    return value\n"));
    std::fs::write(file, text).expect("saved");
}

fn line(what: &str, times: Vec<f64>) -> f64 {
    let m = median(times.clone());
    println!(
        "{what:<48} median {:>8.1} ms  (min {:.1}, max {:.1})",
        m * 1e3,
        times.iter().copied().fold(f64::INFINITY, f64::min) * 1e3,
        times.iter().copied().fold(0.0, f64::max) * 1e3
    );
    m
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(args.iter().skip(1).find(|a| !a.starts_with("--")).expect("a ROOT"));
    let rounds = args.iter().position(|a| a == "--rounds").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(7);
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy(&root, dir.path());
    let files = discover(dir.path(), &Config::default()).expect("the tree").files;
    let edited = files[files.len() / 2].path.clone();
    println!("{} files; each edit appends a function to {}", files.len(), edited.display());
    let indexer = Indexer::builder(dir.path()).build().expect("an indexer");
    let mut marker = 0;
    let mut next_marker = || {
        marker += 1;
        format!("incremental_bench_marker_{marker}")
    };

    // Into memory.
    let mut cold = Vec::new();
    for _ in 0..rounds.min(3) {
        let clock = Instant::now();
        indexer.run(&MemoryTarget::new()).await.expect("a cold run");
        cold.push(clock.elapsed().as_secs_f64());
    }
    let cold = line("memory: cold run", cold);
    let target = MemoryTarget::new();
    let mut cache = FileCache::new();
    indexer.run_incremental(&target, &mut cache).await.expect("the first run");
    let (mut one, mut unchanged) = (Vec::new(), Vec::new());
    let mut stages = None;
    for _ in 0..rounds {
        edit(&edited, &next_marker());
        let clock = Instant::now();
        let summary = indexer.run_incremental(&target, &mut cache).await.expect("a run");
        one.push(clock.elapsed().as_secs_f64());
        assert_eq!(summary.files - summary.reused, 1, "one file parsed");
        stages = Some(summary.stages);
    }
    println!("memory: the last one-file run's stages (s): {stages:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for _ in 0..rounds {
        let clock = Instant::now();
        indexer.run_incremental(&target, &mut cache).await.expect("a run");
        unchanged.push(clock.elapsed().as_secs_f64());
    }
    let one = line("memory: run after editing one file", one);
    line("memory: run of the unchanged tree", unchanged);
    println!("{:<48} {:>7.1} %", "memory: one-file run / cold run", one / cold * 100.0);

    // The live map: refresh, and a watch.
    let live = Arc::new(
        LiveMap::with_indexer(Indexer::builder(dir.path()).build().expect("an indexer")).await.expect("a live map"),
    );
    let (mut refresh, mut look) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        edit(&edited, &next_marker());
        let clock = Instant::now();
        live.refresh().await.expect("a refresh");
        refresh.push(clock.elapsed().as_secs_f64());
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for _ in 0..rounds {
        let clock = Instant::now();
        assert!(!live.refresh().await.expect("a look"), "nothing changed");
        look.push(clock.elapsed().as_secs_f64());
    }
    line("live map: refresh after editing one file", refresh);
    line("live map: looking at an unchanged tree", look);
    let watch = live.watch().expect("a watch");
    let mut saved_to_answer = Vec::new();
    for _ in 0..rounds {
        let name = next_marker();
        let clock = Instant::now();
        edit(&edited, &name);
        while !live.last().rows().units.iter().any(|u| u.name == name) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        saved_to_answer.push(clock.elapsed().as_secs_f64());
    }
    drop(watch);
    line("watch: from a save to the map answering with it", saved_to_answer);

    // Into PostgreSQL.
    let Ok(url) = std::env::var("DATABASE_URL") else {
        println!("(no DATABASE_URL: the store is not measured)");
        return;
    };
    let schema = format!("bench_incremental_{}", std::process::id());
    let store = Store::connect(StoreConfig::new(&url).expect("DATABASE_URL").schema(&schema)).await.expect("a store");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("a client");
    tokio::spawn(connection);
    client.batch_execute(&format!("SET search_path TO {schema}, public")).await.expect("the schema");
    let clock = Instant::now();
    let cold_summary = indexer.run(&store).await.expect("a cold run");
    let first = cold_summary.run.expect("a run");
    let cold = line("store: cold run", vec![clock.elapsed().as_secs_f64()]);
    println!("store: the cold run's stages (s): {:?}", cold_summary.stages);
    let cold_rows = rows_written(&client, first).await;
    let cold_bytes = bytes(&client, &schema).await;
    println!("{:<48} {cold_rows:>8} rows, {:.1} MB", "store: written by the cold run", cold_bytes as f64 / 1e6);
    // A new process each time: what changed is what the store does not hold.
    let mut fresh = Vec::new();
    for _ in 0..rounds.min(3) {
        edit(&edited, &next_marker());
        let clock = Instant::now();
        indexer.run(&store).await.expect("a run");
        fresh.push(clock.elapsed().as_secs_f64());
    }
    let mut cache = FileCache::new();
    indexer.run_incremental(&store, &mut cache).await.expect("the first run");
    let (mut one, mut unchanged, mut written) = (Vec::new(), Vec::new(), Vec::new());
    let mut stages = None;
    let before = bytes(&client, &schema).await;
    for _ in 0..rounds {
        edit(&edited, &next_marker());
        let clock = Instant::now();
        let summary = indexer.run_incremental(&store, &mut cache).await.expect("a run");
        one.push(clock.elapsed().as_secs_f64());
        written.push(rows_written(&client, summary.run.expect("a run")).await);
        stages = Some(summary.stages);
    }
    let grown = bytes(&client, &schema).await - before;
    println!("store: the last one-file run's stages (s): {stages:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut unchanged_rows = 0;
    for _ in 0..rounds {
        let clock = Instant::now();
        let summary = indexer.run_incremental(&store, &mut cache).await.expect("a run");
        unchanged.push(clock.elapsed().as_secs_f64());
        unchanged_rows += rows_written(&client, summary.run.expect("a run")).await;
        stages = Some(summary.stages);
    }
    println!("store: the last unchanged run's stages (s): {stages:?}");
    let fresh = line("store: one-file run in a new process", fresh);
    let one = line("store: one-file run (the process's cache)", one);
    line("store: run of the unchanged tree", unchanged);
    println!("{:<48} {:>7.1} %", "store: one-file run / cold run", one / cold * 100.0);
    println!("{:<48} {:>7.1} %", "store: one-file run, new process / cold run", fresh / cold * 100.0);
    written.sort_unstable();
    let median_rows = written[written.len() / 2];
    println!(
        "{:<48} {median_rows:>8} rows ({:.3} % of the cold run's); unchanged tree: {unchanged_rows} rows in {rounds} runs",
        "store: rows written by a one-file run (median)",
        median_rows as f64 / cold_rows as f64 * 100.0
    );
    println!(
        "{:<48} {:>8.1} kB per run ({rounds} runs; the cold run: {:.1} MB)",
        "store: storage grown by a one-file run",
        grown as f64 / rounds as f64 / 1e3,
        cold_bytes as f64 / 1e6
    );
}

/// Rows run `run` wrote or closed, in every table of rows.
async fn rows_written(client: &tokio_postgres::Client, run: pyatlas::store::RunId) -> i64 {
    let mut rows = 0;
    for table in ["file_rows", "unit_rows", "chunk_rows", "tag_rows", "edge_rows", "finding_rows", "lexeme_rows"] {
        let query = format!("SELECT count(*) FROM {table} WHERE from_run = $1 OR until_run = $1");
        rows += client.query_one(&query, &[&run]).await.expect("a count").get::<_, i64>(0);
    }
    rows
}

/// The bytes of the schema's tables, their indexes and TOAST included.
async fn bytes(client: &tokio_postgres::Client, schema: &str) -> i64 {
    client
        .query_one(
            "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            &[&schema],
        )
        .await
        .expect("the sizes")
        .get(0)
}
