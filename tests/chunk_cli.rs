//! The `chunk` example as users run it: the JSONL contract, the stats
//! summary and exit statuses.

mod common;

use std::process::Output;

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    common::example("chunk").args(args).output().expect("run chunk")
}

#[test]
fn jsonl_output_keeps_the_documented_contract() {
    let output = run(&["examples/sample", "--max-tokens", "128"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let chunks: Vec<Value> = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert!(chunks.len() >= 8, "{chunks:?}");
    for chunk in &chunks {
        for key in ["id", "path", "module", "qualnames", "kind", "start_line", "end_line", "token_count", "text"] {
            assert!(chunk.get(key).is_some(), "`{key}` missing in {chunk}");
        }
        assert_eq!(chunk["id"].as_str().map(str::len), Some(32));
        assert!(chunk["token_count"].as_u64().is_some_and(|t| t <= 128));
        assert!(
            ["function", "method", "class", "class_head", "module", "part"]
                .contains(&chunk["kind"].as_str().unwrap_or(""))
        );
    }
    let warm =
        chunks.iter().find(|c| c["qualnames"].as_array().is_some_and(|q| q.iter().any(|n| n == "PriceList.warm")));
    let warm = warm.expect("the method PriceList.warm is in a chunk");
    assert!(warm["text"].as_str().is_some_and(|t| t.starts_with("# shop/services/pricing.py\n# class PriceList:\n")));
}

#[test]
fn stats_summarise_the_chunks() {
    let output = run(&["examples/sample", "--format", "stats", "--tokenizer", "o200k", "--no-header"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(text.contains("o200k_base tokens, cap 512"), "{text}");
    assert!(text.contains("files 8"), "{text}");
    assert!(text.contains("tokens min") && text.contains("header-only 0") && text.contains("MB/s"), "{text}");
}

#[test]
fn bad_arguments_exit_with_2() {
    assert_eq!(run(&["examples/sample", "--max-tokens", "4"]).status.code(), Some(2), "a cap too small to hold code");
    assert_eq!(run(&["/no/such/root"]).status.code(), Some(2));
    assert_eq!(run(&["examples/sample", "--tokenizer", "gpt2"]).status.code(), Some(2));
}
