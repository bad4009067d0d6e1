//! Token counts against the reference: Python's `tiktoken`, on the texts of
//! every chunk of the standard library and on edge cases.
//! Both encodings must agree exactly, since the cap is only as good as the count.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use pyatlas_chunker::{ChunkConfig, Chunker, Tiktoken, TokenCounter};
use pyatlas_parser::{Config, discover, parse_files};

/// The folder of BPE files vendored by the tiktoken-rs crate we build with.
fn tiktoken_rs_assets() -> PathBuf {
    // Only the host's dependencies: every one of them is already downloaded.
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc reports its host");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata json");
    let manifest = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == "tiktoken-rs"))
        .and_then(|p| p["manifest_path"].as_str())
        .expect("tiktoken-rs is a dependency");
    PathBuf::from(manifest).parent().expect("crate folder").join("assets")
}

fn reference_counts(texts: &[String]) -> Vec<(usize, usize)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tiktoken_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(tiktoken_rs_assets())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test installs it, with tiktoken)");
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = texts.iter().map(|t| serde_json::to_string(t).expect("json") + "\n").collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("reference output");
    writer.join().expect("writer").expect("write texts");
    assert!(output.status.success(), "tiktoken_reference.py failed (is tiktoken installed? scripts/test installs it)");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str::<(usize, usize)>(l).expect("counts"))
        .collect()
}

fn stdlib() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

#[test]
fn counts_match_python_tiktoken_on_real_chunks_and_edge_cases() {
    let config = Config::default();
    let files = discover(stdlib(), &config).expect("walk").files;
    let chunker = Chunker::new(ChunkConfig::default(), Tiktoken::cl100k_base()).expect("chunker");
    let mut texts = Vec::new();
    parse_files(
        &files,
        &config,
        |parsed| chunker.chunk(&parsed),
        |chunks| {
            texts.extend(chunks.into_iter().map(|c| c.text));
        },
    )
    .expect("parse");
    assert!(texts.len() > 3000, "expected real chunks, got {}", texts.len());
    for edge in [
        "",
        "<|endoftext|> is ordinary text here",
        "emoji 🧪🐍 and combining e\u{301}",
        "\r\n\r\n\t \u{a0}mixed whitespace   \n",
        "日本語のコメント # 中文注释",
        &"x".repeat(10_000),
        "\u{FFFD}\u{FEFF}",
    ] {
        texts.push(edge.to_owned());
    }
    let reference = reference_counts(&texts);
    assert_eq!(reference.len(), texts.len());
    let (cl100k, o200k) = (Tiktoken::cl100k_base(), Tiktoken::o200k_base());
    let mut mismatches = Vec::new();
    for (text, &(want_cl, want_o)) in texts.iter().zip(&reference) {
        let (got_cl, got_o) = (cl100k.count(text), o200k.count(text));
        if (got_cl, got_o) != (want_cl, want_o) {
            mismatches.push(format!(
                "cl100k {got_cl} vs {want_cl}, o200k {got_o} vs {want_o}: {:?}",
                text.chars().take(80).collect::<String>()
            ));
        }
    }
    eprintln!("{} texts compared with Python tiktoken, {} mismatches", texts.len(), mismatches.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
