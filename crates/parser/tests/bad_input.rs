//! Bad input gets a clear diagnostic with its location, and everything else
//! in the file, and the run, goes on.

use std::fmt::Write as _;
use std::path::Path;

use pyatlas_parser::{
    Config, DiagnosticKind, FileRecord, Severity, SourceFile, SourceParser, discover, parse_codebase,
};

fn parse_bytes(source: &[u8]) -> FileRecord {
    let mut parser = SourceParser::new(&Config::default()).expect("grammar loads");
    parser.parse_bytes(&SourceFile::in_memory("m.py", "m", false), source).into_record()
}

/// Parses on a thread with a 256 KiB stack: proof that nothing recurses per
/// level of nesting (a test thread's default stack is 2 MiB).
fn parse_on_a_small_stack(source: String) -> FileRecord {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || parse_bytes(source.as_bytes()))
        .expect("spawn")
        .join()
        .expect("no stack overflow")
}

fn names(record: &FileRecord) -> Vec<&str> {
    record.units.iter().map(|u| u.name.as_str()).collect()
}

fn kinds(record: &FileRecord) -> Vec<DiagnosticKind> {
    record.diagnostics.iter().map(|d| d.kind).collect()
}

#[test]
fn invalid_utf8_is_reported_where_it_is_and_the_rest_is_extracted() {
    let record = parse_bytes(b"def before(): pass\nx = '\xff\xfe'\ndef after(): pass\n");
    assert_eq!(kinds(&record), [DiagnosticKind::Decode]);
    assert_eq!((record.diagnostics[0].line, record.diagnostics[0].column), (2, 6));
    assert_eq!(names(&record), ["before", "after"]);
}

#[test]
fn a_nul_byte_is_reported_and_the_rest_is_extracted() {
    let record = parse_bytes(b"def f():\n    return 1\nx = \"a\0b\"\ndef g():\n    pass\n");
    assert_eq!(kinds(&record), [DiagnosticKind::NulByte]);
    assert_eq!((record.diagnostics[0].line, record.diagnostics[0].column), (3, 7));
    assert!(record.diagnostics[0].message.contains("null bytes"));
    assert_eq!(names(&record), ["f", "g"]);
    assert_eq!(record.units[1].line, 4);
}

#[test]
fn a_latin1_file_with_its_cookie_decodes_cleanly() {
    let record = parse_bytes(b"# -*- coding: latin-1 -*-\ndef caf\xe9():\n    '''Cr\xe8me br\xfbl\xe9e.'''\n");
    assert!(record.diagnostics.is_empty(), "{:?}", record.diagnostics);
    assert_eq!(record.encoding, "iso-8859-1");
    assert_eq!(names(&record), ["café"]);
    assert_eq!(record.units[0].docstring.as_deref(), Some("Crème brûlée."));
}

#[test]
fn a_bom_is_skipped_and_lines_stay_right() {
    let record = parse_bytes(b"\xEF\xBB\xBFimport os\n\ndef f():\n    pass\n");
    assert!(record.diagnostics.is_empty(), "{:?}", record.diagnostics);
    assert_eq!(record.imports[0].module, "os");
    assert_eq!((record.units[0].line, record.units[0].end_line), (3, 4));
}

#[test]
fn crlf_and_cr_line_endings_keep_line_numbers() {
    for newline in ["\r\n", "\r"] {
        let source = ["import os", "def f():", "    pass", "", "class C:", "    def m(self):", "        return 2", ""]
            .join(newline);
        let record = parse_bytes(source.as_bytes());
        assert!(record.diagnostics.is_empty(), "{newline:?}: {:?}", record.diagnostics);
        let lines: Vec<_> = record.units.iter().map(|u| (u.qualname.as_str(), u.line, u.end_line)).collect();
        assert_eq!(lines, [("f", 2, 3), ("C", 5, 7), ("C.m", 6, 7)], "{newline:?}");
        assert_eq!(record.lines, 7);
    }
}

#[test]
fn an_empty_file_is_an_empty_record() {
    let record = parse_bytes(b"");
    assert!(record.diagnostics.is_empty());
    assert_eq!((record.lines, record.units.len(), record.imports.len()), (0, 0, 0));
}

#[test]
fn python2_code_is_diagnosed_like_cpython_and_still_extracted() {
    let record = parse_bytes(
        b"import sys\n\ndef main():\n    print \"hello\"\n    exec \"x = 1\"\n    if 1 <> 2:\n        pass\n",
    );
    let messages: Vec<_> = record.diagnostics.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].1.starts_with("Missing parentheses in call to 'print'"), "{messages:?}");
    assert_eq!(messages[0].0, 4);
    assert!(messages[1].1.starts_with("Missing parentheses in call to 'exec'"));
    assert!(messages[2].1.contains("<>"));
    assert_eq!(names(&record), ["main"]);
    // Valid Python 3 that merely looks like Python 2 is not flagged.
    assert!(parse_bytes(b"print >>sys.stderr, 'x'\nprint (a), b\nprint('ok')\n").diagnostics.is_empty());
}

#[test]
fn a_syntax_error_in_the_middle_is_located_and_the_rest_extracted() {
    let source =
        b"def before():\n    return 1\n\ndef broken(:\n    pass\n\nclass After:\n    def m(self):\n        return 2\n";
    let record = parse_bytes(source);
    let errors: Vec<_> = record.diagnostics.iter().filter(|d| d.kind == DiagnosticKind::Syntax).collect();
    assert!(!errors.is_empty());
    assert_eq!(errors[0].line, 4, "{errors:?}");
    assert!(errors[0].message.contains("invalid syntax"), "{errors:?}");
    let found = names(&record);
    assert!(found.contains(&"before") && found.contains(&"After") && found.contains(&"m"), "{found:?}");
}

#[test]
fn five_thousand_nested_blocks_do_not_overflow_the_stack() {
    let mut source = String::from("def before():\n    pass\n");
    for depth in 0..5000 {
        writeln!(source, "{}if x:", " ".repeat(depth)).expect("write to string");
    }
    writeln!(source, "{}pass", " ".repeat(5000)).expect("write to string");
    let record = parse_on_a_small_stack(source);
    assert_eq!(names(&record), ["before"]);
    // CPython refuses more than 100 levels of indentation; tree-sitter's
    // scanner gives up too: either way, it is reported.
    assert!(record.has_errors());
}

#[test]
fn fifty_thousand_nested_brackets_parse_on_a_small_stack() {
    let source = format!("x = {}{}\n\ndef after():\n    return f(1)\n", "[".repeat(50_000), "]".repeat(50_000));
    let record = parse_on_a_small_stack(source);
    assert!(record.diagnostics.is_empty(), "{:?}", record.diagnostics);
    assert_eq!(names(&record), ["after"]);
    assert_eq!(record.calls[0].line, 4);
}

#[test]
fn a_twenty_megabyte_generated_file_is_parsed_in_full() {
    let mut source = String::with_capacity(21 << 20);
    let mut functions = 0;
    while source.len() < 20 << 20 {
        writeln!(source, "def generated_{functions}(a, b={functions}):\n    return helper(a, b, {functions})\n")
            .expect("write to string");
        functions += 1;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("generated.py"), &source).expect("write");
    let codebase = parse_codebase(dir.path(), &Config::default()).expect("parse");
    let record = &codebase.files[0];
    assert!(record.diagnostics.is_empty());
    assert_eq!(record.units.len(), functions);
    assert_eq!(record.calls.len(), functions);
    assert_eq!(record.units.last().map(|u| u.line), Some(record.lines - 2));
}

#[test]
fn a_file_over_the_size_limit_is_skipped_with_a_diagnostic_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("big.py"), "x = 1\n".repeat(1000)).expect("write");
    std::fs::write(dir.path().join("small.py"), "def f(): pass\n").expect("write");
    let codebase = parse_codebase(dir.path(), &Config::default().max_file_size(1000)).expect("parse");
    assert_eq!(codebase.files.len(), 2, "the skipped file keeps its record");
    let big = &codebase.files[0];
    assert_eq!(kinds(big), [DiagnosticKind::TooLarge]);
    assert_eq!(big.bytes, 6000);
    assert!(big.diagnostics[0].message.contains("over the limit"));
    assert_eq!(names(&codebase.files[1]), ["f"]);
    assert_eq!(codebase.stats.files_with_errors, 1);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_reported_and_the_walk_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir(&pkg).expect("mkdir");
    std::fs::write(pkg.join("mod.py"), "x = 1\n").expect("write");
    std::os::unix::fs::symlink(dir.path(), pkg.join("loop")).expect("symlink");

    // Not following links (the default): the link is not entered.
    let discovery = discover(dir.path(), &Config::default()).expect("walk");
    assert_eq!(discovery.files.len(), 1);

    // Following links: the loop is detected, reported, and the walk ends.
    let discovery = discover(dir.path(), &Config::default().follow_symlinks(true)).expect("walk");
    assert_eq!(discovery.files.iter().map(|f| f.rel_path.as_str()).collect::<Vec<_>>(), ["pkg/mod.py"]);
    assert_eq!(discovery.problems.len(), 1, "{:?}", discovery.problems);
    assert!(discovery.problems[0].message.contains("symlink loop"), "{:?}", discovery.problems);
    assert_eq!(discovery.problems[0].path.as_deref(), Some("pkg/loop"));
}

#[test]
fn a_folder_named_like_a_python_file_is_walked_not_parsed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("x.py")).expect("mkdir");
    std::fs::write(dir.path().join("x.py/inner.py"), "def f(): pass\n").expect("write");
    let codebase = parse_codebase(dir.path(), &Config::default()).expect("parse");
    let paths: Vec<_> = codebase.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["x.py/inner.py"]);
    assert!(codebase.files[0].diagnostics.is_empty());
}

#[test]
fn an_unreadable_root_is_an_error_not_a_panic() {
    let error = parse_codebase(Path::new("/definitely/not/here"), &Config::default()).expect_err("missing root");
    assert!(error.to_string().contains("/definitely/not/here"), "{error}");
    assert!(matches!(error, pyatlas_parser::Error::Discover(pyatlas_parser::DiscoverError::Root { .. })), "{error:?}");
}

#[test]
fn an_invalid_glob_is_a_discovery_error_naming_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let config = Config::default().exclude(vec!["a/[b".to_owned()]);
    let error = pyatlas_parser::discover(root.path(), &config).expect_err("invalid glob");
    assert!(matches!(&error, pyatlas_parser::DiscoverError::Glob { glob, .. } if glob == "a/[b"), "{error:?}");
    assert!(error.to_string().contains("a/[b"), "{error}");
}

#[test]
fn errors_are_listed_up_to_the_limit_then_counted() {
    let source = "def f(:\n    pass\n".repeat(50);
    let mut parser = SourceParser::new(&Config::default().max_syntax_diagnostics(3)).expect("grammar");
    let record = parser.parse_bytes(&SourceFile::in_memory("m.py", "m", false), source.as_bytes()).into_record();
    assert_eq!(record.diagnostics.len(), 4, "{:?}", record.diagnostics);
    assert!(record.diagnostics[3].message.contains("more syntax error(s)"), "{:?}", record.diagnostics);
    assert!(record.diagnostics.iter().all(|d| d.severity == Severity::Error));
}
