//! Property tests: whatever the input, parsing does not panic and the
//! records are well-formed.

use proptest::prelude::*;
use pyatlas_parser::{Config, DiagnosticKind, ParsedFile, SourceFile, SourceParser};

fn parse(source: &[u8]) -> ParsedFile {
    let mut parser = SourceParser::new(&Config::default()).expect("grammar loads");
    parser.parse_bytes(&SourceFile::in_memory("pkg/m.py", "pkg.m", false), source)
}

/// The structural invariants every record holds.
fn check_invariants(parsed: &ParsedFile) -> Result<(), TestCaseError> {
    let record = parsed.record();
    let text = parsed.text();
    prop_assert!(
        !record.diagnostics.iter().any(|d| d.kind == DiagnosticKind::Internal),
        "the extractor panicked: {:?}",
        record.diagnostics
    );
    let last_line = record.lines.max(1);
    for (i, unit) in record.units.iter().enumerate() {
        prop_assert!(1 <= unit.start_line && unit.start_line <= unit.line, "{unit:?}");
        prop_assert!(
            unit.line <= unit.header_end_line && unit.header_end_line <= unit.end_line.max(unit.line),
            "{unit:?}"
        );
        prop_assert!(unit.end_line <= last_line, "{unit:?} beyond {last_line} lines");
        prop_assert!(unit.bytes.start <= unit.bytes.end && unit.bytes.end <= text.len(), "{unit:?}");
        prop_assert!(text.is_char_boundary(unit.bytes.start) && text.is_char_boundary(unit.bytes.end));
        prop_assert!(unit.qualname.as_str().ends_with(unit.name.as_str()), "{unit:?}");
        if let Some(parent) = unit.parent {
            prop_assert!((parent as usize) < i, "a parent comes before its child");
        }
    }
    for call in &record.calls {
        prop_assert!(call.line >= 1 && call.line <= last_line && call.column >= 1);
        prop_assert!(call.unit.is_none_or(|u| (u as usize) < record.units.len()));
    }
    for d in &record.diagnostics {
        prop_assert!(d.line >= 1 && d.line <= last_line + 1 && d.column >= 1, "{d:?}");
    }
    Ok(())
}

/// Pieces of Python, well-formed or not, to be glued together at random.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "def f(a, *b, c=1, **d):\n",
        "class C(B, metaclass=M):\n",
        "async def g():\n",
        "    ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "pass\n",
        "return x\n",
        "@deco(1)\n",
        "if TYPE_CHECKING:\n",
        "import a.b as c\n",
        "from . import x\n",
        "from ..y import (z,\n",
        "f(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "'''doc\n",
        "'''",
        "\"s\\n\"",
        "# comment\n",
        "\\\n",
        "é",
        "\0",
        "\u{FEFF}",
        "print 'x'\n",
        "<>",
        "lambda: (yield)",
        "type(x).y = 1\n",
        "__all__ = ['a']\n",
        "x.y.z()",
        ":",
        "f'{x!r:>{w}}'",
        "match x:\n    case [1, *r]:\n",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(source in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_invariants(&parse(&source))?;
    }

    #[test]
    fn python_like_soup_keeps_the_invariants(parts in prop::collection::vec(fragment(), 0..80)) {
        check_invariants(&parse(parts.concat().as_bytes()))?;
    }

    #[test]
    fn valid_nested_definitions_are_all_found(depths in prop::collection::vec(0usize..6, 1..40)) {
        // Each entry opens a def or class at a depth no deeper than one past
        // the previous one: always valid Python.
        let mut source = String::new();
        let mut depth = 0;
        let mut expected = 0;
        for (i, wanted) in depths.iter().enumerate() {
            depth = (*wanted).min(depth + 1);
            let keyword = if i % 3 == 0 { "class" } else { "def" };
            let params = if keyword == "def" { "()" } else { "" };
            source.push_str(&format!("{}{keyword} n{i}{params}:\n{}pass\n", "    ".repeat(depth), "    ".repeat(depth + 1)));
            expected += 1;
        }
        let parsed = parse(source.as_bytes());
        check_invariants(&parsed)?;
        prop_assert!(parsed.record().diagnostics.is_empty(), "{:?}\n{source}", parsed.record().diagnostics);
        prop_assert_eq!(parsed.record().units.len(), expected);
    }
}
