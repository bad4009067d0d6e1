//! The invariants on real code nobody here wrote: every file of the
//! standard library of the machine's `python3`, chunked with the defaults
//! and with a small cap, dedent, stripping and no header.

mod common;

use std::process::Command;
use std::sync::Mutex;

use pyatlas_chunker::{ChunkConfig, Chunker, Tiktoken, is_tiny};
use pyatlas_parser::{Config, discover, parse_files};

fn stdlib() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3 is required (scripts/test installs it)");
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

fn check(config: ChunkConfig, every_nth_file: usize) {
    let chunker = Chunker::new(config.clone(), Tiktoken::cl100k_base()).expect("chunker");
    let parse_config = Config::default();
    let discovery = discover(stdlib(), &parse_config).expect("walk the standard library");
    let files: Vec<_> = discovery.files.iter().step_by(every_nth_file).cloned().collect();
    assert!(files.len() > 100, "expected a real standard library");
    let problems = Mutex::new(Vec::new());
    let (mut chunks, mut tiny, mut inline) = (0usize, 0usize, 0usize);
    parse_files(
        &files,
        &parse_config,
        |parsed| {
            let first = chunker.chunk(&parsed);
            let again = chunker.chunk(&parsed);
            let mut found = common::violations(&chunker, &parsed, &first);
            if first != again {
                found.push(format!("{}: chunking twice gave different chunks", parsed.record().path));
            }
            if !found.is_empty() {
                problems.lock().expect("lock").extend(found);
            }
            first
        },
        |file_chunks| {
            chunks += file_chunks.len();
            tiny += file_chunks.iter().filter(|c| is_tiny(c.code())).count();
            inline += file_chunks.iter().filter(|c| c.split_inside_line).count();
        },
    )
    .expect("parse");
    let problems = problems.into_inner().expect("lock");
    let tiny_share = tiny as f64 / chunks.max(1) as f64;
    eprintln!(
        "{config:?}: {} files, {chunks} chunks, {tiny} tiny ({:.2}%), {inline} split inside a line, {} violations",
        files.len(),
        tiny_share * 100.0,
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} violations, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(15)].join("\n")
    );
}

#[test]
fn default_config_holds_the_invariants_on_the_standard_library() {
    check(ChunkConfig::default(), 1);
}

#[test]
fn small_cap_dedent_strip_and_no_header_hold_the_invariants() {
    check(
        ChunkConfig::default()
            .max_tokens(96)
            .min_tokens(24)
            .overlap_lines(3)
            .header(false)
            .dedent(true)
            .strip_trailing_whitespace(true),
        3,
    );
}
