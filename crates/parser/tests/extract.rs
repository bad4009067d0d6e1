//! What the parser extracts from one file: a snapshot of a fixture that
//! exercises every record type, plus focused checks of the subtle rules.

use pyatlas_parser::{
    BindingKind, Config, FileRecord, ImportKind, ParameterKind, ParsedFile, SourceFile, SourceParser, UnitKind,
};

fn parse_as(module: &str, is_package: bool, source: &str) -> ParsedFile {
    let mut parser = SourceParser::new(&Config::default()).expect("grammar loads");
    let path = format!("{}.py", module.replace('.', "/"));
    parser.parse_bytes(&SourceFile::in_memory(path, module, is_package), source.as_bytes())
}

fn parse(source: &str) -> FileRecord {
    parse_as("pkg.mod", false, source).into_record()
}

fn qualnames(record: &FileRecord) -> Vec<&str> {
    record.units.iter().map(|u| u.qualname.as_str()).collect()
}

#[test]
fn kitchen_sink_snapshot() {
    let source = include_str!("fixtures/kitchen_sink.py");
    let record = parse_as("shop.api.kitchen_sink", false, source).into_record();
    insta::assert_snapshot!(serde_json::to_string_pretty(&record).expect("serialise"));
}

#[test]
fn qualnames_follow_pep_3155() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    assert_eq!(
        qualnames(&record),
        [
            "Shop",
            "Shop.total",
            "Shop.total.<locals>.inner",
            "Shop.total.<locals>.inner.<locals>.Local",
            "Shop.total.<locals>.inner.<locals>.Local.method",
            "Shop.fetch",
            "main"
        ]
    );
    let kinds: Vec<_> = record.units.iter().map(|u| u.kind).collect();
    use UnitKind::*;
    assert_eq!(kinds, [Class, Method, Function, Class, Method, Method, Function]);
    let parents: Vec<_> = record.units.iter().map(|u| u.parent).collect();
    assert_eq!(parents, [None, Some(0), Some(1), Some(2), Some(3), Some(0), None]);
}

#[test]
fn unit_lines_span_decorators_and_skip_trailing_comments() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    let shop = &record.units[0];
    assert_eq!((shop.start_line, shop.line, shop.end_line), (22, 23, 41));
    assert_eq!(shop.decorators, ["dataclass(frozen=True)"]);
    let fetch = &record.units[5];
    assert!(fetch.is_async);
    // The comment after `return` (line 42) is not part of the unit, as in `ast`.
    assert_eq!((fetch.line, fetch.end_line), (38, 41));
    let total = &record.units[1];
    assert_eq!((total.start_line, total.line, total.header_end_line), (28, 29, 29));
}

#[test]
fn docstrings_are_values() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    assert_eq!(record.docstring.as_deref(), Some("Module docstring with an escape:\tTab."));
    assert_eq!(record.units[0].docstring.as_deref(), Some(r"Raw \n docstring."));
    assert_eq!(record.units[5].docstring.as_deref(), Some("Single-quoted docstring."));
    assert_eq!(parse("def f():\n    f'not a {docstring}'\n").units[0].docstring, None);
    assert_eq!(parse("def f():\n    'a' 'b'\n").units[0].docstring.as_deref(), Some("ab"));
}

#[test]
fn parameters_bases_and_keywords() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    let total = &record.units[1];
    let params: Vec<_> = total.parameters.iter().map(|p| (p.name.as_str(), p.kind)).collect();
    use ParameterKind::*;
    assert_eq!(
        params,
        [
            ("self", PositionalOnly),
            ("scale", Regular),
            ("args", VarPositional),
            ("key", KeywordOnly),
            ("kwargs", VarKeyword)
        ]
    );
    assert_eq!(total.parameters[1].annotation.as_deref(), Some("int"));
    assert_eq!(total.parameters[1].default.as_deref(), Some("2"));
    let fetch = &record.units[5];
    assert_eq!(fetch.parameters.iter().map(|p| p.kind).collect::<Vec<_>>(), [Regular, KeywordOnly]);
    let shop = &record.units[0];
    assert_eq!(shop.bases, ["Base"]);
    assert_eq!(shop.keywords[0].name.as_deref(), Some("metaclass"));
    assert_eq!(shop.keywords[0].value, "Meta");
}

#[test]
fn imports_have_one_record_per_alias_and_flags() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    let summary: Vec<_> = record
        .imports
        .iter()
        .map(|i| {
            (i.kind, i.module.as_str(), i.level, i.alias.as_deref(), i.names.len(), i.type_checking, i.in_function)
        })
        .collect();
    use ImportKind::*;
    assert_eq!(
        summary,
        [
            (From, "__future__", 0, None, 1, false, false),
            (Import, "os.path", 0, Some("osp"), 0, false, false),
            (Import, "sys", 0, None, 0, false, false),
            (Import, "concurrent.futures", 0, None, 0, false, false),
            (From, "typing", 0, None, 1, false, false),
            (From, "", 1, None, 1, false, false),
            (From, "models", 2, None, 2, false, false),
            (From, "utils", 1, None, 1, false, false),
            (From, "collections.abc", 0, None, 1, true, false),
            (Import, "json", 0, None, 0, false, false),
            (Import, "numpy", 0, Some("np"), 0, false, true),
        ]
    );
    assert_eq!(record.imports[7].names[0].name, "*");
    assert_eq!(record.imports[6].names[0].alias.as_deref(), Some("O"));
}

#[test]
fn bindings_resolve_relative_imports_against_the_module() {
    let record = parse_as("shop.api.views", false, include_str!("fixtures/kitchen_sink.py")).into_record();
    let bound: Vec<_> = record.bindings.iter().map(|b| (b.name.as_str(), b.target.as_str(), b.kind)).collect();
    use BindingKind::*;
    assert!(bound.contains(&("osp", "os.path", Module)));
    assert!(bound.contains(&("concurrent", "concurrent", Module)));
    assert!(bound.contains(&("sibling", "shop.api.sibling", From)));
    assert!(bound.contains(&("O", "shop.models.Order", From)));
    assert!(bound.contains(&("Line", "shop.models.Line", From)));
    assert!(!bound.iter().any(|(name, ..)| *name == "*"), "a star import binds no name");
    let np = record.bindings.iter().find(|b| b.name == "np").expect("np is bound");
    assert_eq!(np.scope, Some(1), "bound in the scope of Shop.total");
    let iterator = record.bindings.iter().find(|b| b.name == "Iterator").expect("Iterator is bound");
    assert!(iterator.type_checking);

    // In a package's __init__, `.` is the package itself.
    let init = parse_as("shop", true, "from . import models\nfrom .models import Order\n").into_record();
    let targets: Vec<_> = init.bindings.iter().map(|b| b.target.as_str()).collect();
    assert_eq!(targets, ["shop.models", "shop.models.Order"]);

    // Beyond the top-level package: a warning, no binding, the import is kept.
    let top = parse_as("script", false, "from .. import x\n").into_record();
    assert!(top.bindings.is_empty());
    assert_eq!(top.imports.len(), 1);
    assert!(top.diagnostics[0].message.contains("beyond the top-level package"), "{:?}", top.diagnostics);
}

#[test]
fn calls_belong_to_the_scope_that_evaluates_them() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    let calls: Vec<_> = record
        .calls
        .iter()
        .map(|c| (c.callee.as_str(), c.line, c.unit.map(|u| record.units[u as usize].qualname.as_str())))
        .collect();
    assert_eq!(
        calls,
        [
            ("dataclass", 22, None),
            ("compute_rate", 26, Some("Shop")),
            ("np.zeros", 34, Some("Shop.total.<locals>.inner.<locals>.Local.method")),
            ("osp.join", 36, Some("Shop.total")),
            ("session.get", 40, Some("Shop.fetch")),
            ("response.json", 41, Some("Shop.fetch")),
            ("type", 46, Some("main")),
            ("print", 47, Some("main")),
        ]
    );
}

#[test]
fn comments_know_whether_they_stand_alone() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    let comments: Vec<_> = record.comments.iter().map(|c| (c.line, c.column, c.own_line)).collect();
    assert_eq!(comments, [(1, 1, true), (9, 40, false), (21, 1, true), (42, 9, true)]);
    assert_eq!(record.comments[1].text, "# trailing comment");
}

#[test]
fn dunder_all_is_read_only_when_literal() {
    let record = parse(include_str!("fixtures/kitchen_sink.py"));
    assert_eq!(record.dunder_all, Some(vec!["Shop".to_owned(), "main".to_owned(), "helper".to_owned()]));
    assert_eq!(parse("__all__ = ['a'] + other.__all__\n").dunder_all, None);
    assert_eq!(parse("def f():\n    __all__ = ['local']\n").dunder_all, None);
}

#[test]
fn columns_count_characters_not_bytes() {
    let record = parse("x = 'héllo'; f()\n");
    assert_eq!((record.calls[0].line, record.calls[0].column), (1, 14));
}

#[test]
fn long_callees_are_truncated_visibly() {
    let chain = format!("a{}()\n", ".b".repeat(300));
    let record = parse(&chain);
    assert!(record.calls[0].callee.ends_with("..."));
    assert!(record.calls[0].callee.len() <= 203);
}
