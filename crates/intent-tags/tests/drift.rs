//! Drift on a fixture project with planted drift for every rule and clean
//! look-alikes that must not be flagged; suppressions, the baseline and the
//! output formats.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pyatlas_intent_tags::{Baseline, DriftReport, IntentConfig, RuleId, check_codebase};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift")
}

fn report() -> DriftReport {
    let (config, source) = IntentConfig::for_root(&fixture()).expect("valid config");
    assert!(source.is_some_and(|p| p.ends_with("pyatlas.toml")));
    check_codebase(&fixture(), &config).expect("check")
}

#[test]
fn every_planted_case_is_found_and_nothing_else() {
    let report = report();
    let found: BTreeSet<(RuleId, String, u32, Option<String>)> =
        report.findings.iter().map(|f| (f.rule, f.path.clone(), f.line, f.unit.clone())).collect();
    let unit = |u: &str| Some(u.to_owned());
    let orders = "shop/services/orders.py";
    let expected: BTreeSet<(RuleId, String, u32, Option<String>)> = [
        (RuleId::D001, orders, 17, unit("process")),
        (RuleId::D002, orders, 32, unit("notify_all")),
        (RuleId::D002, orders, 40, unit("resize_all")),
        (RuleId::D003, orders, 52, unit("background")),
        (RuleId::D004, orders, 58, unit("send_mail")),
        (RuleId::D005, "shop/domain/helpers.py", 1, None),
        (RuleId::D005, "shop/domain/models.py", 2, None),
        (RuleId::D005, "shop/domain/rules.py", 2, None),
        (RuleId::D006, orders, 69, unit("load_rates")),
        (RuleId::D006, orders, 75, unit("rated_total")),
        (RuleId::D007, orders, 88, unit("count_words")),
        (RuleId::D008, "pyatlas.toml", 3, None),
        (RuleId::D008, orders, 111, unit("plain")),
        (RuleId::D008, orders, 116, unit("charge")),
        (RuleId::D008, orders, 126, unit("misplaced")),
    ]
    .into_iter()
    .map(|(r, p, l, u)| (r, p.to_owned(), l, u))
    .collect();
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "missing: {missing:#?}\nunexpected: {unexpected:#?}");

    // The clean look-alikes: concurrency through a helper, a map over data,
    // a matching domain, a pure function with a local list, a write under a
    // lock, and a layer import under TYPE_CHECKING (ignored by the config).
    for clean in ["fan_out", "_run_all", "price_all", "fetch", "summarise", "count_words_safely", "legacy"] {
        assert!(!report.findings.iter().any(|f| f.unit.as_deref() == Some(clean)), "{clean} must not be flagged");
    }
    assert!(!report.findings.iter().any(|f| f.path.ends_with("typing_only.py")));
}

#[test]
fn findings_carry_their_evidence() {
    let report = report();
    let find = |rule: RuleId, unit: &str| {
        report.findings.iter().find(|f| f.rule == rule && f.unit.as_deref() == Some(unit)).expect("finding")
    };
    let chain = report.findings.iter().find(|f| f.rule == RuleId::D005 && f.path.ends_with("rules.py")).expect("chain");
    let hops: Vec<_> = chain.evidence.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(hops, [("shop/domain/rules.py", 2), ("shop/domain/helpers.py", 1)], "the chain, hop by hop");
    let through_call = find(RuleId::D006, "rated_total");
    assert!(through_call.evidence.iter().any(|e| e.text == "call requests.get" && e.line == 66), "{through_call:?}");
    let race = find(RuleId::D007, "count_words");
    assert_eq!(race.evidence[0].line, 93);
    assert_eq!(
        find(RuleId::D004, "send_mail").message,
        "`send_mail` is tagged @domain:database but the classifier finds: network"
    );
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(report.diagnostics[0].message, "unknown tag key `@intnet` (did you mean @intent:parallel?)");
    assert!(report.fails());
}

#[test]
fn the_baseline_accepts_existing_drift_and_catches_new_drift() {
    let report = report();
    let baseline = Baseline::of(&report);
    let mut again = report.clone();
    again.apply_baseline(&baseline);
    assert!(!again.fails(), "everything is accepted");
    assert!(again.findings.iter().all(|f| f.baselined));

    // New drift in a copy of the project fails, the old does not.
    let copy = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(), copy.path());
    let path = copy.path().join("shop/services/orders.py");
    let source = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, format!("{source}\n\n# @intent:parallel\ndef new_one(items):\n    return list(items)\n"))
        .expect("write");
    let (config, _) = IntentConfig::for_root(copy.path()).expect("config");
    let mut later = check_codebase(copy.path(), &config).expect("check");
    later.apply_baseline(&baseline);
    let new: Vec<_> = later.findings.iter().filter(|f| !f.baselined).collect();
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!((new[0].rule, new[0].unit.as_deref()), (RuleId::D001, Some("new_one")));
    assert!(later.fails());
}

#[test]
fn reports_render_as_text_json_sarif_and_markdown() {
    let report = report();
    let text = report.to_text(&fixture());
    assert!(text.contains("error[D001]: `process` is tagged for parallel work"), "{text}");
    assert!(text.contains("┌─ shop/services/orders.py:17:"), "rustc-style location: {text}");
    assert!(text.contains("# @intent:parallel -- planted D001"), "the source snippet: {text}");

    let json: serde_json::Value = serde_json::from_str(&report.to_json().expect("json")).expect("valid");
    let first = &json["findings"][0];
    for key in ["rule", "severity", "path", "line", "unit", "message", "evidence"] {
        assert!(first.get(key).is_some(), "`{key}` in {first}");
    }
    assert!(
        json["tags"].as_array().is_some_and(|t| t.iter().any(|t| t["key"] == "intent" && t["value"] == "parallel"))
    );
    assert_eq!(json["diagnostics"][0]["line"], 121);

    let sarif: serde_json::Value = serde_json::from_str(&report.to_sarif().expect("sarif")).expect("valid");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), report.findings.len() + report.diagnostics.len());
    let d005 = results
        .iter()
        .find(|r| {
            r["ruleId"] == "D005"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "shop/domain/rules.py"
        })
        .expect("D005");
    assert_eq!(d005["level"], "error");
    assert_eq!(d005["relatedLocations"].as_array().map(Vec::len), Some(2));
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(9));

    let markdown = report.to_markdown();
    assert!(markdown.contains("## `@intent:pure`"), "{markdown}");
    assert!(markdown.contains("| `shop/services/orders.py:80` | `summarise` | yes |"), "{markdown}");
    assert!(markdown.contains("| `shop/services/orders.py:69` | `load_rates` | **no**: D006"), "{markdown}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
