//! The `graph` example as users run it: the JSON contract, chains, cycles,
//! DOT and Mermaid, and exit statuses.

mod common;

use std::process::Output;

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    common::example("graph").args(args).output().expect("run graph")
}

fn stdout(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn json_output_keeps_the_documented_contract() {
    let graph: Value = serde_json::from_str(&stdout(&["examples/sample"])).expect("JSON");
    let modules = graph["modules"].as_array().expect("modules");
    for module in modules {
        for key in ["name", "path", "kind", "is_package"] {
            assert!(module.get(key).is_some(), "`{key}` missing in {module}");
        }
    }
    let kind = |name: &str| modules.iter().find(|m| m["name"] == name).map(|m| m["kind"].clone());
    assert_eq!(kind("shop.api"), Some(Value::from("internal")));
    assert_eq!(kind("requests"), Some(Value::from("external")));
    assert_eq!(kind("asyncio"), Some(Value::from("stdlib")));
    let edges = graph["edges"].as_array().expect("edges");
    let edge = edges.iter().find(|e| e["from"] == "shop.models" && e["to"] == "shop.services.pricing").expect("edge");
    assert_eq!(edge["lines"], serde_json::json!([12]));
    assert_eq!(edge["type_checking"], Value::from(true));
    assert!(graph["cycles"].as_array().is_some_and(|c| c.iter().any(|c| c.as_array().is_some_and(|c| c.len() == 2))));
}

#[test]
fn chains_cycles_and_pictures() {
    let chain = stdout(&["examples/sample", "--chain", "shop.api", "shop.services.pricing"]);
    assert_eq!(chain.trim(), "shop.api -> shop.services.pricing (line 8)");
    let cycles = stdout(&["examples/sample", "--cycles"]);
    assert!(cycles.starts_with("1 import cycle(s)"), "{cycles}");
    assert!(cycles.contains("shop.models -> shop.services.pricing -> shop.models"), "{cycles}");
    let dot = stdout(&["examples/sample", "--format", "dot", "--depth", "1"]);
    assert!(dot.starts_with("digraph imports {") && dot.contains("\"shop\" -> \"requests\""), "{dot}");
    let mermaid = stdout(&["examples/sample", "--format", "mermaid", "--no-external"]);
    assert!(mermaid.starts_with("flowchart LR") && !mermaid.contains("requests"), "{mermaid}");
}

#[test]
fn unknown_modules_and_bad_roots_exit_with_2() {
    let output = run(&["examples/sample", "--chain", "shop.nothing", "shop.api"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("shop.nothing"));
    assert_eq!(run(&["/no/such/root"]).status.code(), Some(2));
    assert_eq!(run(&["examples/sample", "--format", "png"]).status.code(), Some(2));
}
