//! Chunking throughput and quality, pyatlas against text-splitter's
//! `CodeSplitter`, with the same tokenizer (`cl100k_base`) and the same cap
//! (512 tokens) on the same corpus.
//!
//! ```text
//! cargo bench --bench chunk                 # criterion, on every 8th file of the corpus
//! cargo bench --bench chunk -- --compare    # one side-by-side table on the whole corpus
//! ```
//! The corpus is `$PYATLAS_BENCH_CORPUS`, or the standard library of the
//! machine's `python3`. See `benches/README.md` for the figures.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

mod common;

use std::time::Instant;

use criterion::{Criterion, Throughput};
use pyatlas::chunker::{ChunkConfig, ChunkStats, Chunker, Tiktoken, TokenCounter};
use pyatlas::parser::{Config, SourceFile, discover, parse_files};
use text_splitter::CodeSplitter;

// See benches/README.md: mimalloc, for tree-sitter's C code too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CAP: usize = 512;

fn corpus() -> Vec<SourceFile> {
    discover(common::corpus_root(), &Config::default()).expect("walk the corpus").files
}

fn pyatlas_chunks(files: &[SourceFile], threads: usize, chunker: &Chunker) -> ChunkStats {
    let mut stats = ChunkStats::default();
    let config = Config::default().threads(threads);
    parse_files(
        files,
        &config,
        |parsed| chunker.chunk(&parsed),
        |chunks| {
            for chunk in chunks {
                stats.add(chunk.code(), chunk.token_count);
            }
        },
    )
    .expect("parse");
    stats
}

fn text_splitter_chunks(sources: &[String]) -> ChunkStats {
    let bpe = tiktoken_rs::cl100k_base_singleton();
    let splitter =
        CodeSplitter::new(tree_sitter_python::LANGUAGE, text_splitter::ChunkConfig::new(CAP).with_sizer(bpe))
            .expect("python grammar");
    let counter = Tiktoken::cl100k_base();
    let mut stats = ChunkStats::default();
    for source in sources {
        for chunk in splitter.chunks(source) {
            stats.add(chunk, counter.count(chunk));
        }
    }
    stats
}

fn read_all(files: &[SourceFile]) -> Vec<String> {
    files.iter().map(|f| String::from_utf8_lossy(&std::fs::read(&f.path).expect("read")).into_owned()).collect()
}

fn bench(c: &mut Criterion) {
    let files: Vec<_> = corpus().into_iter().step_by(8).collect();
    let sources = read_all(&files);
    let bytes: usize = sources.iter().map(String::len).sum();
    let chunker = Chunker::new(ChunkConfig::default().max_tokens(CAP), Tiktoken::cl100k_base()).expect("chunker");
    let cores = Config::default().thread_count();
    let mut group = c.benchmark_group("chunk");
    group.sample_size(10).throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(format!("pyatlas/{cores}"), |b| b.iter(|| pyatlas_chunks(&files, cores, &chunker)));
    group.bench_function("pyatlas/1", |b| b.iter(|| pyatlas_chunks(&files, 1, &chunker)));
    group.bench_function("text_splitter/1", |b| b.iter(|| text_splitter_chunks(&sources)));
    group.finish();
}

/// Runs each chunker on the whole corpus `rounds` times, interleaved, and
/// prints medians with the quality figures of both.
fn compare(rounds: usize) {
    let files = corpus();
    let sources = read_all(&files);
    let mb = sources.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let chunker = Chunker::new(ChunkConfig::default().max_tokens(CAP), Tiktoken::cl100k_base()).expect("chunker");
    let cores = Config::default().thread_count();
    println!("corpus: {} files, {mb:.1} MB; cl100k_base, cap {CAP}; {rounds} rounds; {cores} cores", files.len());
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut reports: [Option<ChunkStats>; 3] = Default::default();
    for _ in 0..rounds {
        let runs: [&dyn Fn() -> ChunkStats; 3] =
            [&|| pyatlas_chunks(&files, cores, &chunker), &|| pyatlas_chunks(&files, 1, &chunker), &|| {
                text_splitter_chunks(&sources)
            }];
        for (i, run) in runs.iter().enumerate() {
            let start = Instant::now();
            let stats = run();
            times[i].push(start.elapsed().as_secs_f64());
            reports[i] = Some(stats);
        }
    }
    let names =
        [format!("pyatlas ({cores} threads)"), "pyatlas (1 thread)".to_owned(), "text-splitter (1 thread)".to_owned()];
    let mut medians = [0.0; 3];
    for i in 0..3 {
        times[i].sort_by(f64::total_cmp);
        medians[i] = times[i][times[i].len() / 2];
        let summary = reports[i].as_ref().map(ChunkStats::summary).unwrap_or_default();
        println!("{:26} median {:7.3} s, {:6.2} MB/s; {summary}", names[i], medians[i], mb / medians[i]);
    }
    println!("throughput ratio pyatlas ({cores} threads) / text-splitter: {:.1}x", medians[2] / medians[0]);
    println!("throughput ratio pyatlas (1 thread) / text-splitter: {:.1}x", medians[2] / medians[1]);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--compare") {
        let rounds = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3);
        compare(rounds);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
