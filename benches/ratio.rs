//! Interleaved timing of the parser's targets, robust to a noisy machine.
//!
//! Each round times, back to back on the same in-memory corpus: bare
//! tree-sitter parsing on one thread, pyatlas's full extraction on one
//! thread, and `parse_files` (reading from disk) on one thread and on all
//! cores. Drift of the machine's speed hits all four alike, so the median of
//! the per-round ratios is steadier than ratios of separate benchmarks.
//!
//! ```text
//! cargo bench --bench ratio [-- ROUNDS]
//! ```
//! The corpus is `$PYATLAS_BENCH_CORPUS`, or the standard library of the
//! machine's `python3`.

mod common;

use std::time::Instant;

use pyatlas::parser::{Config, SourceParser, discover, parse_files};

// tree-sitter allocates heavily, from every worker thread: mimalloc (also
// for its C code, through the `override` feature) is ~17% faster than glibc's
// malloc on two threads. See benches/README.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(7);
    let root = common::corpus_root();
    let config = Config::default();
    let cores = config.thread_count();
    let discovery = discover(&root, &config).expect("walk the corpus");
    let files: Vec<_> =
        discovery.files.iter().map(|f| (f.clone(), std::fs::read(&f.path).expect("read a corpus file"))).collect();
    let mb = files.iter().map(|(_, b)| b.len()).sum::<usize>() as f64 / 1e6;
    println!("corpus {}: {} files, {mb:.1} MB, {rounds} rounds, {cores} cores", root.display(), files.len());

    let mut ts = tree_sitter::Parser::new();
    ts.set_language(&tree_sitter_python::LANGUAGE.into()).expect("grammar");
    let mut parser = SourceParser::new(&config).expect("grammar");
    let one = Config::default().threads(1);
    let all = Config::default().threads(cores);
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };

    let (mut bare, mut extract, mut files1, mut files_n) = (vec![], vec![], vec![], vec![]);
    let (mut r_extract, mut r_files1, mut r_speedup) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        let b = time(&mut || files.iter().for_each(|(_, s)| drop(std::hint::black_box(ts.parse(s, None)))));
        let e = time(&mut || files.iter().for_each(|(f, s)| drop(std::hint::black_box(parser.parse_bytes(f, s)))));
        let p1 = time(&mut || drop(parse_files(&discovery.files, &one, |p| p.record().units.len(), drop)));
        let pn = time(&mut || drop(parse_files(&discovery.files, &all, |p| p.record().units.len(), drop)));
        println!("round: bare {b:.3} s, extract {e:.3} s, parse_files(1) {p1:.3} s, parse_files({cores}) {pn:.3} s");
        r_extract.push(e / b);
        r_files1.push(p1 / b);
        r_speedup.push(p1 / pn);
        bare.push(b);
        extract.push(e);
        files1.push(p1);
        files_n.push(pn);
    }
    println!(
        "medians: bare {:.3} s ({:.1} MB/s), extract {:.3} s, parse_files(1) {:.3} s, parse_files({cores}) {:.3} s ({:.1} MB/s)",
        median(&mut bare),
        mb / median(&mut bare.clone()),
        median(&mut extract),
        median(&mut files1),
        median(&mut files_n),
        mb / median(&mut files_n.clone())
    );
    println!("median ratio extract/bare (1 thread):          {:.3}", median(&mut r_extract));
    println!("median ratio parse_files(1)/bare (from disk):  {:.3}", median(&mut r_files1));
    println!("median speed-up parse_files {cores} threads vs 1:    {:.3}", median(&mut r_speedup));
}
