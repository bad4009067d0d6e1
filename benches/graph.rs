//! Import graph builds (cold, and warm from the per-file cache) and the
//! import-only scanner's throughput against the full parse.
//!
//! The corpus is `$PYATLAS_BENCH_PACKAGE` (a folder), or the installed Django
//! (`pip install django`), or the machine's standard library.
//! `cargo bench --bench graph`; the side-by-side run against grimp is
//! `benches/graph_vs_grimp.py`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pyatlas::graph::{GraphConfig, ImportGraph};
use pyatlas::parser::{Config, SourceParser, discover, scan_text};

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn python(code: &str) -> Option<String> {
    let out = Command::new("python3").args(["-c", code]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn corpus() -> String {
    std::env::var("PYATLAS_BENCH_PACKAGE")
        .ok()
        .or_else(|| python("import django, os; print(os.path.dirname(django.__file__))"))
        .or_else(|| python("import sysconfig; print(sysconfig.get_paths()['stdlib'])"))
        .expect("a corpus: set PYATLAS_BENCH_PACKAGE")
}

fn bench(c: &mut Criterion) {
    let root = corpus();
    eprintln!("corpus: {root}");
    let mut group = c.benchmark_group("graph");
    group.sample_size(20);
    let cold = GraphConfig::default().include_external(false);
    group.bench_function("build_cold", |b| b.iter(|| ImportGraph::build(&root, &cold).expect("build")));
    let cache = tempfile::tempdir().expect("cache dir");
    let warm = GraphConfig::default().include_external(false).cache_dir(cache.path());
    ImportGraph::build(&root, &warm).expect("prime the cache");
    group.bench_function("build_warm", |b| b.iter(|| ImportGraph::build(&root, &warm).expect("build")));
    group.finish();

    let files = discover(&root, &Config::default()).expect("walk").files;
    let texts: Vec<String> =
        files.iter().map(|f| String::from_utf8_lossy(&std::fs::read(&f.path).expect("read")).into_owned()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut group = c.benchmark_group("imports");
    group.sample_size(10).throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("scan_text", |b| b.iter(|| texts.iter().map(|t| scan_text(t).len()).sum::<usize>()));
    let mut parser = SourceParser::new(&Config::default()).expect("grammar");
    group.bench_function("full_parse", |b| {
        b.iter(|| {
            files
                .iter()
                .zip(&texts)
                .map(|(f, t)| parser.parse_bytes(f, t.as_bytes()).record().imports.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
