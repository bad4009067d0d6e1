//! Parsing throughput: bare tree-sitter against pyatlas's full extraction,
//! on one thread and on all cores.
//!
//! The corpus is `$PYATLAS_BENCH_CORPUS`, or the standard library of the
//! machine's `python3` (without `site-packages`). Run with
//! `cargo bench --bench parse`; see `benches/README.md` for the figures.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pyatlas::parser::{Config, SourceParser, discover, parse_files};

// tree-sitter allocates heavily, from every worker thread: mimalloc (also
// for its C code, through the `override` feature) is ~17% faster than glibc's
// malloc on two threads. See benches/README.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench_parse(c: &mut Criterion) {
    let root = common::corpus_root();
    let config = Config::default();
    let discovery = discover(&root, &config).expect("walk the corpus");
    let files: Vec<_> =
        discovery.files.iter().map(|f| (f.clone(), std::fs::read(&f.path).expect("read a corpus file"))).collect();
    let bytes: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    eprintln!("corpus: {} ({} files, {:.1} MB)", root.display(), files.len(), bytes as f64 / 1e6);

    let mut group = c.benchmark_group("parse");
    group.sample_size(10).throughput(Throughput::Bytes(bytes));

    group.bench_function("bare_tree_sitter/1", |b| {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("grammar");
        b.iter(|| {
            for (_, source) in &files {
                std::hint::black_box(parser.parse(source, None));
            }
        });
    });

    group.bench_function("pyatlas_extract/1", |b| {
        let mut parser = SourceParser::new(&config).expect("grammar");
        b.iter(|| {
            for (file, source) in &files {
                std::hint::black_box(parser.parse_bytes(file, source));
            }
        });
    });

    let cores = config.thread_count();
    for threads in [1, cores] {
        let config = Config::default().threads(threads);
        group.bench_with_input(BenchmarkId::new("pyatlas_parse_files", threads), &config, |b, config| {
            b.iter(|| parse_files(&discovery.files, config, |p| p.into_record().units.len(), drop).expect("parse"));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
