//! How a file is cut: a snapshot of a fixture's chunks, and one test per
//! rule of the layout.

use pyatlas_chunker::{CharCounter, Chunk, ChunkConfig, ChunkId, ChunkKind, Chunker, Tiktoken, TokenCounter};
use pyatlas_parser::{Config, ParsedFile, SourceFile, SourceParser};

const ORDERS: &str = include_str!("fixtures/orders.py");

fn parse(source: &str) -> ParsedFile {
    let mut parser = SourceParser::new(&Config::default()).expect("grammar loads");
    parser.parse_bytes(&SourceFile::in_memory("shop/orders.py", "shop.orders", false), source.as_bytes())
}

fn chunks(source: &str, config: ChunkConfig) -> Vec<Chunk> {
    Chunker::new(config, Tiktoken::cl100k_base()).expect("chunker").chunk(&parse(source))
}

/// `kind lines qualnames part tokens`, one chunk per line.
fn layout(chunks: &[Chunk]) -> String {
    chunks
        .iter()
        .map(|c| {
            let names: Vec<_> = c.qualnames.iter().map(|q| q.as_str()).collect();
            format!(
                "{:<10} {:>3}-{:<3} [{}] part {}/{} {} tokens{}",
                c.kind.as_str(),
                c.start_line,
                c.end_line,
                names.join(", "),
                c.part_index + 1,
                c.part_count,
                c.token_count,
                if c.split_inside_line { " (split inside a line)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fixture_layout_with_a_roomy_cap() {
    insta::assert_snapshot!("roomy", layout(&chunks(ORDERS, ChunkConfig::default())));
}

#[test]
fn fixture_layout_with_a_tight_cap() {
    let tight = chunks(ORDERS, ChunkConfig::default().max_tokens(120).min_tokens(40));
    insta::assert_snapshot!("tight", layout(&tight));
}

#[test]
fn a_class_that_fits_is_one_chunk() {
    let all = chunks(ORDERS, ChunkConfig::default().max_tokens(1024).min_tokens(0));
    let class = all.iter().find(|c| c.kind == ChunkKind::Class).expect("a class chunk");
    assert_eq!(class.qualnames[0].as_str(), "OrderBook");
    assert_eq!((class.start_line, class.end_line), (22, 58), "from the decorator to the last statement");
}

#[test]
fn a_class_over_the_cap_is_a_head_and_its_methods() {
    let all = chunks(ORDERS, ChunkConfig::default().max_tokens(200).min_tokens(0));
    let in_class: Vec<_> =
        all.iter().filter(|c| c.parent.as_ref().is_some_and(|p| p.as_str() == "OrderBook")).collect();
    let kinds: Vec<_> = in_class.iter().map(|c| (c.kind, c.qualnames[0].as_str())).collect();
    assert_eq!(
        kinds,
        [
            (ChunkKind::ClassHead, "OrderBook"),
            (ChunkKind::Method, "OrderBook.__init__"),
            (ChunkKind::Method, "OrderBook.add"),
            (ChunkKind::Method, "OrderBook.total"),
            (ChunkKind::Method, "OrderBook.report"),
        ]
    );
    let head = in_class[0];
    assert!(
        head.code().starts_with("@register(\"orders\")\nclass OrderBook:\n    \"\"\"Every order, by id."),
        "{}",
        head.code()
    );
    assert!(head.code().ends_with("currency = \"EUR\""), "class-level statements are in the head");
    // Methods carry the class in their context header.
    assert!(in_class[2].header().ends_with("# class OrderBook:\n"), "{}", in_class[2].header());
    // The comment directly above a statement stays with it.
    assert!(in_class[2].code().contains("# Orders are keyed by their id."));
}

#[test]
fn small_neighbours_are_merged_and_listed() {
    let all = chunks(ORDERS, ChunkConfig::default().max_tokens(200).min_tokens(64));
    let merged = all.iter().find(|c| c.qualnames.iter().any(|q| q.as_str() == "tiny")).expect("tiny is in a chunk");
    let names: Vec<_> = merged.qualnames.iter().map(|q| q.as_str()).collect();
    assert!(names.len() > 1, "the small function is merged with a neighbour: {names:?}");
    assert!(names.contains(&"tax") || names.contains(&"discount"), "{names:?}");
    // Merging stops at the container: module-level chunks never hold methods.
    assert!(all.iter().all(|c| c.parent.is_some() || c.qualnames.iter().all(|q| !q.as_str().contains('.'))));
    let unmerged = chunks(ORDERS, ChunkConfig::default().max_tokens(200).min_tokens(0));
    assert!(unmerged.len() > all.len());
}

#[test]
fn the_comment_above_a_function_belongs_to_it() {
    let all = chunks(ORDERS, ChunkConfig::default().min_tokens(0));
    let discount = all.iter().find(|c| c.qualnames.iter().any(|q| q.as_str() == "discount")).expect("discount");
    assert!(
        discount.code().starts_with("# Discounts apply per line, before tax.\ndef discount"),
        "{}",
        discount.code()
    );
    assert_eq!(discount.start_line, 8);
}

#[test]
fn a_unit_over_the_cap_is_split_into_parts_that_repeat_its_signature_and_overlap() {
    let config = ChunkConfig::default().max_tokens(64).min_tokens(0).overlap_lines(1);
    let all = chunks(ORDERS, config);
    let parts: Vec<_> =
        all.iter().filter(|c| c.qualnames.first().is_some_and(|q| q.as_str() == "OrderBook.total")).collect();
    assert!(parts.len() > 1, "{}", layout(&all));
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(part.kind, ChunkKind::Part);
        assert_eq!((part.part_index as usize, part.part_count as usize), (i, parts.len()));
        assert!(part.token_count <= 64);
        if i > 0 {
            assert!(part.header().contains("#     def total(self):"), "the signature is repeated: {}", part.header());
            assert_eq!(part.start_line, parts[i - 1].end_line, "one line of overlap");
        }
    }
    assert!(parts[0].code().starts_with("    def total(self):\n"));
}

#[test]
fn a_line_longer_than_the_cap_is_split_inside_and_flagged() {
    let source = format!("TABLE = {:?}\n\ndef after():\n    return TABLE\n", "word ".repeat(400));
    let all = chunks(&source, ChunkConfig::default().max_tokens(128).min_tokens(0));
    let pieces: Vec<_> = all.iter().filter(|c| c.split_inside_line).collect();
    assert!(pieces.len() >= 3, "{}", layout(&all));
    assert!(pieces.iter().all(|c| c.start_line == 1 && c.end_line == 1 && c.token_count <= 128));
    let joined: String = pieces.iter().map(|c| c.code()).collect();
    assert_eq!(joined, source.lines().next().expect("a first line"), "the pieces are the line, in order");
    assert!(all.iter().any(|c| !c.split_inside_line && c.qualnames.iter().any(|q| q.as_str() == "after")));
}

#[test]
fn headers_and_normalisation_are_configurable() {
    let config = ChunkConfig::default().header(false).dedent(true).strip_trailing_whitespace(true).max_tokens(200);
    let all = chunks(
        "class A:\n    def m(self):   \n        return 1\n\n    def n(self):\n        return 2\n",
        config.clone(),
    );
    assert!(all.iter().all(|c| c.header_len == 0 && c.text == c.code()));
    let with_header = chunks("def f():\n    return 1\n", ChunkConfig::default());
    assert_eq!(with_header[0].header(), "# shop/orders.py\n");
    let dedented =
        chunks(&format!("class A:\n{}", "    def m(self):   \n        return 1\n".repeat(30)), config.min_tokens(0));
    // The first method holds the `class` line; the others are dedented.
    let method = dedented.iter().rfind(|c| c.kind == ChunkKind::Method).expect("a method chunk");
    assert!(method.code().starts_with("def m(self):\n    return 1"), "{:?}", method.code());
}

#[test]
fn ids_are_content_addressed() {
    let first = chunks(ORDERS, ChunkConfig::default());
    let second = chunks(ORDERS, ChunkConfig::default());
    assert_eq!(first, second);
    for chunk in &first {
        assert_eq!(chunk.id, ChunkId::of(&chunk.text));
    }
    // BLAKE3 of "abc" (the official test vector), first 128 bits.
    assert_eq!(ChunkId::of("abc").as_str(), "6437b3ac38465133ffb63b75273a8db5");
    // Editing one function changes its chunk's id only.
    let edited = chunks(&ORDERS.replace("return 1", "return 2"), ChunkConfig::default());
    let changed: Vec<_> = first.iter().zip(&edited).filter(|(a, b)| a.id != b.id).collect();
    assert_eq!(changed.len(), 1);
}

#[test]
fn other_counters_plug_in() {
    struct Words;
    impl TokenCounter for Words {
        fn name(&self) -> &str {
            "words"
        }
        fn count(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
    }
    let chunker = Chunker::new(ChunkConfig::default().max_tokens(40).min_tokens(0), Words).expect("chunker");
    let all = chunker.chunk(&parse(ORDERS));
    assert!(all.iter().all(|c| c.token_count <= 40 && c.token_count == Words.count(&c.text)));
    let chars = Chunker::new(ChunkConfig::default().max_tokens(300), CharCounter).expect("chunker");
    assert!(chars.chunk(&parse(ORDERS)).iter().all(|c| c.text.chars().count() <= 300));
}
