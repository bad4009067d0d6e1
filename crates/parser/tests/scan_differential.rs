//! The import-only scanner against the full parse, on real code: the whole
//! standard library of the machine's `python3`, `site-packages` included.
//! On every file the full parser reads without a syntax error, the scanner
//! must find the same imports (all fields but `scope`, which it leaves empty).

use std::process::Command;
use std::sync::Mutex;

use pyatlas_parser::{Config, DiagnosticKind, Import, discover, parse_files, scan_text};

fn stdlib() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3 is required (scripts/test installs it)");
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

fn without_scope(imports: &[Import]) -> Vec<Import> {
    imports
        .iter()
        .cloned()
        .map(|mut i| {
            i.scope = None;
            i
        })
        .collect()
}

#[test]
fn the_scanner_finds_exactly_the_imports_of_the_full_parse() {
    // site-packages too: real third-party code, where the default walk skips it.
    let config = Config::default().skip_virtualenvs(false);
    let files = discover(stdlib(), &config).expect("walk").files;
    assert!(files.len() > 1500, "expected a real corpus, found {} files", files.len());
    let mismatches = Mutex::new(Vec::new());
    let (mut compared, mut skipped, mut imports) = (0usize, 0usize, 0usize);
    parse_files(
        &files,
        &config,
        |parsed| {
            if parsed.record().diagnostics.iter().any(|d| d.kind == DiagnosticKind::Syntax) {
                return None;
            }
            let scanned = scan_text(parsed.text());
            let full = without_scope(&parsed.record().imports);
            if scanned != full {
                let first =
                    scanned.iter().zip(&full).position(|(a, b)| a != b).unwrap_or(scanned.len().min(full.len()));
                mismatches.lock().expect("lock").push(format!(
                    "{}: scanner {:?}\n    full parse {:?}",
                    parsed.record().path,
                    scanned.get(first),
                    full.get(first)
                ));
            }
            Some(full.len())
        },
        |result| match result {
            Some(n) => {
                compared += 1;
                imports += n;
            }
            None => skipped += 1,
        },
    )
    .expect("parse");
    let mismatches = mismatches.into_inner().expect("lock");
    eprintln!(
        "scanner vs full parse: {compared} files ({imports} imports) compared, {skipped} with syntax errors skipped, {} differ",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches[..mismatches.len().min(20)].join("\n"));
}
