//! The `drift` example as users run it: formats, the baseline, exit statuses.

mod common;

use std::process::Output;

fn run(args: &[&str]) -> Output {
    common::example("drift").args(args).output().expect("run drift")
}

const FIXTURE: &str = "crates/intent-tags/tests/fixtures/drift";

#[test]
fn error_drift_exits_with_1_and_the_baseline_ratchets() {
    let output = run(&[FIXTURE]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(text.contains("error[D005]") && text.contains("warning[D002]"), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = dir.path().join("baseline.json");
    let baseline = baseline.to_str().expect("utf-8 path");
    assert_eq!(run(&[FIXTURE, "--write-baseline", baseline, "--format", "json"]).status.code(), Some(1));
    let accepted = run(&[FIXTURE, "--baseline", baseline, "--format", "json"]);
    assert_eq!(accepted.status.code(), Some(0), "accepted drift does not fail");
    let json: serde_json::Value = serde_json::from_slice(&accepted.stdout).expect("JSON");
    assert!(json["findings"].as_array().is_some_and(|f| f.iter().all(|f| f["baselined"] == true)));
}

#[test]
fn sarif_and_markdown() {
    let sarif: serde_json::Value = serde_json::from_slice(&run(&[FIXTURE, "--format", "sarif"]).stdout).expect("SARIF");
    assert_eq!(sarif["version"], "2.1.0");
    let markdown = String::from_utf8(run(&[FIXTURE, "--format", "markdown"]).stdout).expect("utf-8");
    assert!(markdown.starts_with("# Declared intent"), "{markdown}");
}

#[test]
fn clean_code_exits_with_0_and_bad_input_with_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ok.py"), "# @intent:pure\ndef add(a, b):\n    return a + b\n").expect("write");
    let root = dir.path().to_str().expect("utf-8 path");
    assert_eq!(run(&[root]).status.code(), Some(0));
    assert_eq!(run(&["/no/such/root"]).status.code(), Some(2));
    std::fs::write(dir.path().join("pyatlas.toml"), "[intent]\nlayers = 3\n").expect("write");
    let invalid = run(&[root]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("pyatlas.toml"));
    assert_eq!(run(&[FIXTURE, "--format", "html"]).status.code(), Some(2));
}
