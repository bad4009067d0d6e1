//! The `analyze` example as users run it: exit status, the text summary and
//! the JSON contract documented in the README.

mod common;

use std::process::Output;

use serde_json::{Map, Value};

fn run(args: &[&str]) -> Output {
    common::example("analyze").args(args).output().expect("run analyze")
}

fn json(args: &[&str]) -> Value {
    let output = run(args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// Keeps only the keys of the README's contract, failing if one is missing.
fn contract(value: &Value, shape: &Value) -> Value {
    match (value, shape) {
        (Value::Object(object), Value::Object(keys)) => {
            let mut out = Map::new();
            for (key, inner) in keys {
                let field = object.get(key).unwrap_or_else(|| panic!("contract key `{key}` missing in {object:?}"));
                out.insert(key.clone(), contract(field, inner));
            }
            Value::Object(out)
        }
        (Value::Array(items), Value::Array(inner)) => {
            Value::Array(items.iter().map(|item| contract(item, &inner[0])).collect())
        }
        (other, _) => other.clone(),
    }
}

fn contract_shape() -> Value {
    serde_json::json!({
        "root": null,
        "files": [{
            "path": null, "module": null, "is_package": null, "lines": null,
            "domains": [{"domain": null, "score": null, "evidence": [{"line": null, "text": null}]}],
            "diagnostics": [{"line": null, "column": null, "message": null}],
            "units": [{"kind": null, "is_async": null, "name": null, "qualname": null, "line": null,
                       "start_line": null, "end_line": null, "decorators": null, "docstring": null,
                       "domains": [{"domain": null, "score": null, "evidence": [{"line": null, "text": null}]}]}],
            "imports": [{"kind": null, "module": null, "level": null, "alias": null,
                         "names": [{"name": null, "alias": null}], "line": null,
                         "type_checking": null, "in_function": null}],
        }],
        "stats": {"files": null, "bytes": null, "units": null, "imports": null, "files_with_errors": null},
    })
}

#[test]
fn json_output_keeps_the_documented_contract() {
    let output = json(&["examples/sample", "--format", "json"]);
    assert!(output["stats"]["seconds"].as_f64().is_some_and(|s| s >= 0.0));
    let view = contract(&output, &contract_shape());
    insta::assert_snapshot!(serde_json::to_string_pretty(&view).expect("serialise"));
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let mut one = json(&["examples/sample", "--format", "json", "--threads", "1"]);
    let mut four = json(&["examples/sample", "--format", "json", "--threads", "4"]);
    for value in [&mut one, &mut four] {
        value["stats"]["seconds"] = Value::Null;
    }
    assert_eq!(one, four);
}

#[test]
fn text_summary_lists_files_with_errors_and_where() {
    let output = run(&["examples/sample"]);
    assert_eq!(output.status.code(), Some(0), "diagnostics are findings, not failures");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(text.contains("files with errors: 1"), "{text}");
    assert!(text.contains("bad_encoding.py:1:12: invalid syntax"), "{text}");
    assert!(text.contains("bad_encoding.py:2:16: 'utf-8' codec can't decode byte 0xe9"), "{text}");
    assert!(text.contains("MB/s"), "{text}");
}

#[test]
fn text_summary_lists_modules_per_domain() {
    let text = String::from_utf8(run(&["examples/sample"]).stdout).expect("utf-8");
    assert!(text.contains("web-api"), "{text}");
    assert!(text.contains("shop.api: shop/api.py:5 import fastapi"), "{text}");
    let bare = String::from_utf8(run(&["examples/sample", "--no-domains"]).stdout).expect("utf-8");
    assert!(!bare.contains("domains"), "{bare}");
}

#[test]
fn an_invalid_pyatlas_toml_exits_with_2_and_says_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("app.py"), "import os\n").expect("write");
    std::fs::write(dir.path().join("pyatlas.toml"), "[classifier]\nthreshold = 2.0\n").expect("write");
    let output = run(&[dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pyatlas.toml") && stderr.contains("threshold must be in [0, 1]"), "{stderr}");
}

#[test]
fn bad_arguments_and_unreadable_roots_exit_with_2() {
    let missing = run(&["/no/such/root"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("cannot read the root /no/such/root"), "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "the cause is printed once: {stderr}");
    assert_eq!(run(&["examples/sample", "--format", "xml"]).status.code(), Some(2));
    assert_eq!(run(&[]).status.code(), Some(2));
}
