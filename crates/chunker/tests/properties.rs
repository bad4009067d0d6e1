//! Property tests: the invariants hold for random Python programs under
//! random configurations, and for arbitrary bytes chunking never panics.

mod common;

use proptest::prelude::*;
use pyatlas_chunker::{CharCounter, ChunkConfig, Chunker, Tiktoken};
use pyatlas_parser::{Config, ParsedFile, SourceFile, SourceParser};

fn parse(source: &[u8]) -> ParsedFile {
    let mut parser = SourceParser::new(&Config::default()).expect("grammar loads");
    parser.parse_bytes(&SourceFile::in_memory("pkg/gen.py", "pkg.gen", false), source)
}

/// One step of a program generator that keeps the code valid Python.
#[derive(Clone, Debug)]
enum Op {
    Def { decorators: usize, params: usize, is_async: bool },
    Class { bases: usize },
    Block(&'static str),
    Statement(usize),
    LongLine(usize),
    Comment(usize),
    Docstring(usize),
    Blank,
    Dedent,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, 0usize..6, any::<bool>()).prop_map(|(decorators, params, is_async)| Op::Def { decorators, params, is_async }),
        1 => (0usize..3).prop_map(|bases| Op::Class { bases }),
        2 => prop::sample::select(vec!["if x:", "for i in items:", "while busy:", "with lock:", "try:"]).prop_map(Op::Block),
        8 => (1usize..12).prop_map(Op::Statement),
        1 => (50usize..400).prop_map(Op::LongLine),
        2 => (1usize..8).prop_map(Op::Comment),
        1 => (1usize..6).prop_map(Op::Docstring),
        2 => Just(Op::Blank),
        3 => Just(Op::Dedent),
    ]
}

/// Turns ops into a valid program: every block gets a body, `try` gets its `except`.
fn program(ops: &[Op]) -> String {
    struct Open {
        needs_body: bool,
        is_try: bool,
    }
    let mut out = String::new();
    let mut open: Vec<Open> = Vec::new();
    let indent = |depth: usize| "    ".repeat(depth);
    let close = |out: &mut String, open: &mut Vec<Open>| {
        if let Some(block) = open.pop() {
            let depth = open.len();
            if block.needs_body {
                out.push_str(&format!("{}pass\n", indent(depth + 1)));
            }
            if block.is_try {
                out.push_str(&format!("{}except Exception:\n{}pass\n", indent(depth), indent(depth + 1)));
            }
        }
    };
    for (n, op) in ops.iter().enumerate() {
        let depth = open.len();
        let pad = indent(depth);
        match op {
            Op::Def { decorators, params, is_async } => {
                for d in 0..*decorators {
                    out.push_str(&format!("{pad}@decorator_{d}(option={n})\n"));
                }
                let params: Vec<String> = (0..*params).map(|p| format!("p{p}={p}")).collect();
                let keyword = if *is_async { "async def" } else { "def" };
                out.push_str(&format!("{pad}{keyword} f{n}({}):\n", params.join(", ")));
                if let Some(block) = open.last_mut() {
                    block.needs_body = false;
                }
                open.push(Open { needs_body: true, is_try: false });
            }
            Op::Class { bases } => {
                let bases: Vec<String> = (0..*bases).map(|b| format!("Base{b}")).collect();
                out.push_str(&format!("{pad}class C{n}({}):\n", bases.join(", ")));
                if let Some(block) = open.last_mut() {
                    block.needs_body = false;
                }
                open.push(Open { needs_body: true, is_try: false });
            }
            Op::Block(header) => {
                out.push_str(&format!("{pad}{header}\n"));
                if let Some(block) = open.last_mut() {
                    block.needs_body = false;
                }
                open.push(Open { needs_body: true, is_try: header.starts_with("try") });
            }
            Op::Statement(width) => {
                let terms: Vec<String> = (0..*width).map(|t| format!("value_{t}")).collect();
                out.push_str(&format!("{pad}result_{n} = compute({})\n", terms.join(" + ")));
                if let Some(block) = open.last_mut() {
                    block.needs_body = false;
                }
            }
            Op::LongLine(len) => {
                out.push_str(&format!("{pad}DATA_{n} = {:?}\n", "x".repeat(*len)));
                if let Some(block) = open.last_mut() {
                    block.needs_body = false;
                }
            }
            Op::Comment(words) => out.push_str(&format!("{pad}# {}\n", "note ".repeat(*words).trim_end())),
            Op::Docstring(lines) => {
                out.push_str(&format!(
                    "{pad}\"\"\"Doc line.\n{}{pad}\"\"\"\n",
                    format!("{pad}More text here.\n").repeat(*lines)
                ));
                if let Some(block) = open.last_mut() {
                    block.needs_body = false;
                }
            }
            Op::Blank => out.push('\n'),
            Op::Dedent => close(&mut out, &mut open),
        }
    }
    while !open.is_empty() {
        close(&mut out, &mut open);
    }
    out
}

fn config() -> impl Strategy<Value = ChunkConfig> {
    (24usize..300, 0usize..80, 0usize..4, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(max, min, overlap, header, dedent, strip)| {
            ChunkConfig::default()
                .max_tokens(max)
                .min_tokens(min)
                .overlap_lines(overlap)
                .header(header)
                .dedent(dedent)
                .strip_trailing_whitespace(strip)
        },
    )
}

fn check(chunker: &Chunker, parsed: &ParsedFile) -> Result<(), TestCaseError> {
    let chunks = chunker.chunk(parsed);
    let problems = common::violations(chunker, parsed, &chunks);
    prop_assert!(problems.is_empty(), "{}\n--- source\n{}", problems.join("\n"), parsed.text());
    prop_assert_eq!(&chunks, &chunker.chunk(parsed), "chunking is deterministic");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_generated_programs(ops in prop::collection::vec(op(), 1..80), config in config(), tiktoken in any::<bool>()) {
        let source = program(&ops);
        let parsed = parse(source.as_bytes());
        prop_assert!(!parsed.record().has_errors(), "the generator wrote invalid Python: {:?}\n{source}", parsed.record().diagnostics);
        let counter: Box<dyn Fn() -> Chunker> = if tiktoken {
            Box::new(|| Chunker::new(config.clone(), Tiktoken::cl100k_base()).expect("chunker"))
        } else {
            Box::new(|| Chunker::new(config.clone(), CharCounter).expect("chunker"))
        };
        check(&counter(), &parsed)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_keep_the_caps(source in prop::collection::vec(any::<u8>(), 0..3000), max in 16usize..200) {
        let parsed = parse(&source);
        let chunker = Chunker::new(ChunkConfig::default().max_tokens(max), Tiktoken::cl100k_base()).expect("chunker");
        for chunk in chunker.chunk(&parsed) {
            prop_assert!(chunk.token_count <= max);
            prop_assert_eq!(chunk.token_count, chunker.counter().count(&chunk.text));
        }
    }
}

#[test]
fn a_cap_below_the_minimum_is_refused() {
    assert!(Chunker::new(ChunkConfig::default().max_tokens(8), CharCounter).is_err());
}
