//! The `embed` example as users run it: offline by default, against an
//! OpenAI-compatible server (the loopback mock) when asked, with the
//! documented JSONL contract and exit statuses.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use pyatlas::embed::mock::{Fault, MockConfig, MockServer};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    common::example("embed")
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .expect("run embed")
}

/// Runs the example off the runtime's threads, so the mock server keeps serving.
async fn run_against(server: &MockServer, args: &[&str]) -> Output {
    let mut command = common::example("embed");
    command.args(args).args(["--embedder", "openai", "--api-base", &server.url()]).env("OPENAI_API_KEY", "sk-cli-test");
    tokio::task::spawn_blocking(move || command.output().expect("run embed")).await.expect("join")
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

#[test]
fn offline_by_default_with_the_chunk_ids() {
    let output = run(&["examples/sample"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let embedded = lines(&output);
    let chunks = common::example("chunk").arg("examples/sample").output().expect("run chunk");
    let chunk_ids: BTreeSet<String> = lines(&chunks).iter().map(|c| c["id"].as_str().expect("id").to_owned()).collect();
    let ids: BTreeSet<String> = embedded.iter().map(|e| e["id"].as_str().expect("id").to_owned()).collect();
    assert_eq!(ids, chunk_ids, "one vector per chunk, under the chunk's id");
    for line in &embedded {
        for key in ["id", "path", "start_line", "end_line", "model", "vector"] {
            assert!(line.get(key).is_some(), "`{key}` missing in {line}");
        }
        assert_eq!(line["model"], "pyatlas-hash-v1-384");
        let vector: Vec<f64> =
            line["vector"].as_array().expect("vector").iter().map(|v| v.as_f64().expect("number")).collect();
        assert_eq!(vector.len(), 384);
        let norm = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3 || norm == 0.0, "norm {norm}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_an_openai_compatible_server() {
    let server = MockServer::start(MockConfig::default().dimensions(8).api_key("sk-cli-test")).await.expect("server");
    server.script([
        Fault::Status(503),
        Fault::RateLimited(pyatlas::embed::mock::RetryHint::Milliseconds(std::time::Duration::from_millis(50))),
    ]);
    let output = run_against(&server, &["examples/sample", "--dimensions", "8", "--format", "summary"]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("text-embedding-3-small@127.0.0.1 (8 dimensions)"), "{stdout}");
    assert!(stdout.contains("failed 0"), "{stdout}");
    assert!(stdout.contains("retries 2, 429s 1"), "{stdout}");
    let texts: usize = server.records().iter().filter(|r| r.status == 200).map(|r| r.inputs).sum();
    assert!(stdout.contains(&format!("embedded {texts},")), "{texts} texts sent; {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_that_fail_are_reported_with_exit_1() {
    let server = MockServer::start(MockConfig::default().dimensions(8)).await.expect("server");
    server.script([Fault::InsufficientQuota]);
    let output = run_against(&server, &["examples/sample", "--dimensions", "8"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not embedded: ") && stderr.contains("insufficient_quota"), "{stderr}");
    assert!(!stderr.contains("sk-cli-test"));
    assert!(output.stdout.is_empty(), "nothing was embedded");
}

#[test]
fn bad_arguments_exit_with_2() {
    assert_eq!(run(&["examples/sample", "--dimensions", "0"]).status.code(), Some(2));
    assert_eq!(run(&["/no/such/root"]).status.code(), Some(2));
    assert_eq!(run(&["examples/sample", "--embedder", "openai", "--api-base", "ftp://x"]).status.code(), Some(2));
    let output = run(&["examples/sample", "--embedder", "openai"]);
    assert_eq!(output.status.code(), Some(2), "no key for api.openai.com");
    assert!(String::from_utf8_lossy(&output.stderr).contains("OPENAI_API_KEY"));
}

/// Where stderr is not a terminal (here, a pipe), a progress line every
/// `--progress-every` seconds says how far it is and what it waits for;
/// `--quiet` says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_without_a_terminal() {
    let server = MockServer::start(
        MockConfig::default()
            .dimensions(8)
            .latency(std::time::Duration::from_millis(1_500), std::time::Duration::from_millis(1_500)),
    )
    .await
    .expect("server");
    let email = common::stdlib_package("email");
    let args = ["--dimensions", "8", "--format", "summary", "--tpm", "100000", "--progress-every", "1"];
    let output = run_against(&server, &[&[email.as_str()][..], &args].concat()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("embed: ")).collect();
    assert!(lines.len() >= 2, "{stderr}");
    assert!(lines[0].contains(" chunks, ") && lines[0].contains(" tokens ("), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.contains("waiting for: ")), "{stderr}");
    assert!(lines.iter().any(|l| l.contains("limit 100,000")), "{stderr}");

    let quiet = run_against(&server, &[&[email.as_str(), "--quiet"][..], &args].concat()).await;
    assert!(quiet.status.success());
    assert!(quiet.stderr.is_empty(), "{}", String::from_utf8_lossy(&quiet.stderr));
}

/// A provider that never answers: the watchdog says so, with how long and
/// what it waits for, well before the deadline ends the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_speaks_when_nothing_moves() {
    let server = MockServer::start(MockConfig::default().dimensions(8)).await.expect("server");
    server.script([Fault::Delay(std::time::Duration::from_secs(3_600))]);
    let args =
        ["examples/sample", "--dimensions", "8", "--stall-after", "2", "--progress-every", "60", "--deadline", "5"];
    let output = run_against(&server, &args).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let warning = stderr.lines().find(|l| l.starts_with("embed: stalled: ")).expect("a stall warning");
    assert!(warning.contains("no embedding batch has finished for "), "{warning}");
    assert!(warning.contains("waiting for: 1 answer (sent "), "{warning}");
    assert!(stderr.contains("not embedded: ") && stderr.contains("deadline"), "{stderr}");
}
