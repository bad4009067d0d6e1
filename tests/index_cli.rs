//! The `index`, `search` and `runs` examples against a real PostgreSQL with
//! pgvector (`DATABASE_URL`; `scripts/test` starts one), and an
//! OpenAI-compatible mock on loopback where an API is involved: the search
//! contract, re-indexing from the cache, `kill -9` mid-run and a rerun, and
//! two indexers of one project at once.

mod common;

use std::collections::HashSet;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pyatlas::embed::mock::{MockConfig, MockServer};
use serde_json::Value;

fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "the index tests need a PostgreSQL with pgvector: set DATABASE_URL=postgres://... \
             or run scripts/test, which starts one"
        )
    })
}

fn project(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

fn example(name: &str, args: &[&str]) -> Command {
    let mut command = common::example(name);
    command.args(args).env("DATABASE_URL", database_url()).env_remove("OPENAI_API_KEY").env_remove("OPENAI_BASE_URL");
    command
}

async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run example")).await.expect("join")
}

fn chunk_ids(root: &str) -> Vec<String> {
    let out = common::example("chunk").arg(root).output().expect("chunk");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_then_search_keeps_the_contract() {
    let name = project("sample");
    let first = output(example("index", &["examples/sample", "--project", &name])).await;
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let summary = String::from_utf8_lossy(&first.stdout);
    // Vectors are shared by projects: another test may have paid for some.
    assert!(summary.contains("files 8, chunks 8, cached ") && summary.contains("failed 0"), "{summary}");

    let search =
        output(example("search", &["price list warm cache", "--project", &name, "-k", "3", "--format", "json"])).await;
    assert!(search.status.success(), "{}", String::from_utf8_lossy(&search.stderr));
    let hits: Vec<Value> = serde_json::from_slice(&search.stdout).expect("a JSON array");
    assert_eq!(hits.len(), 3);
    let ids: HashSet<String> = chunk_ids("examples/sample").into_iter().collect();
    for hit in &hits {
        for key in ["id", "path", "qualnames", "start_line", "end_line", "score", "text"] {
            assert!(hit.get(key).is_some(), "`{key}` missing in {hit}");
        }
        assert!(ids.contains(hit["id"].as_str().expect("id")), "search ids are the chunker's ids");
    }
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {scores:?}");
    assert_eq!(hits[0]["path"], "shop/services/pricing.py");

    let filtered =
        output(example("search", &["order", "--project", &name, "--path-prefix", "shop/api", "--format", "json"]))
            .await;
    let hits: Vec<Value> = serde_json::from_slice(&filtered.stdout).expect("json");
    assert!(!hits.is_empty() && hits.iter().all(|h| h["path"].as_str().is_some_and(|p| p.starts_with("shop/api"))));
    // Domains come from the classifier.
    let by_domain =
        output(example("search", &["order", "--project", &name, "--domain", "web-api", "--format", "json"])).await;
    let hits: Vec<Value> = serde_json::from_slice(&by_domain.stdout).expect("json");
    assert_eq!(hits.iter().map(|h| h["path"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["shop/api.py"]);
    // Another embedder than the run's: vectors of another size are refused.
    let other =
        output(example("search", &["order", "--project", &name, "--embedder", "hash", "--dimensions", "8"])).await;
    assert_eq!(other.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(stderr.contains("8 dimensions") && stderr.contains("384"), "{stderr}");
    for mode in ["hybrid", "lexical", "vector"] {
        let found = output(example("search", &["reprice_all", "--project", &name, "--mode", mode, "-k", "1"])).await;
        assert!(String::from_utf8_lossy(&found.stdout).contains("reprice_all"), "{mode}: {found:?}");
    }
    let bad = output(example("search", &["x", "--project", &name, "--mode", "fuzzy"])).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");

    // Unchanged: everything from the cache, nothing embedded.
    let second = output(example("index", &["examples/sample", "--project", &name])).await;
    assert!(String::from_utf8_lossy(&second.stdout).contains("cached 8, embedded 0"), "{second:?}");
    let runs = output(example("runs", &[&name, "--format", "json"])).await;
    let runs: Vec<Value> = serde_json::from_slice(&runs.stdout).expect("json");
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["status"] == "complete"));
    let (newer, older) = (runs[0]["id"].to_string(), runs[1]["id"].to_string());
    let diff = output(example("runs", &[&name, "--diff", &older, &newer, "--format", "json"])).await;
    let diff: Value = serde_json::from_slice(&diff.stdout).expect("json");
    assert_eq!(diff["chunks_changed"], serde_json::json!([]));
    assert_eq!(diff["files_added"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_exit_with_2() {
    let missing = output(example("search", &["x", "--project", &project("none")])).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"), "{missing:?}");
    let mut no_db = common::example("index");
    no_db.args(["examples/sample"]).env_remove("DATABASE_URL");
    let no_db = output(no_db).await;
    assert_eq!(no_db.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_db.stderr).contains("DATABASE_URL"));
    let mut bad = common::example("index");
    bad.args(["examples/sample", "--database-url", "postgres://u:s3cret@127.0.0.1:1/db"]);
    let bad = output(bad).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&bad.stderr).contains("s3cret"), "the password leaked: {bad:?}");
}

/// `kill -9` of `index` mid-run, then a rerun: the run is resumed, no text
/// is embedded twice, and the database ends consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_index_is_resumed_without_embedding_twice() {
    let server = MockServer::start(
        MockConfig::default().dimensions(8).latency(Duration::from_millis(150), Duration::from_millis(150)),
    )
    .await
    .expect("mock");
    let root = common::stdlib_package("email");
    let name = project("killed");
    // A model of its own: vectors of earlier runs must not answer for it.
    let model = format!("mock-{name}");
    let args = [
        "--project",
        &name,
        "--embedder",
        "openai",
        "--api-base",
        &server.url(),
        "--dimensions",
        "8",
        "--model",
        &model,
    ];
    let args = [&[root.as_str(), "--batch", "16", "--concurrency", "1"][..], &args[..]].concat();
    let mut child =
        example("index", &args).env("OPENAI_API_KEY", "sk-test").stdout(Stdio::null()).spawn().expect("spawn");
    // Wait until a few batches are paid for, then kill.
    for _ in 0..600 {
        if server.records().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    let before = server.records().len();
    assert!(before >= 4, "the index was killed mid-run");

    let mut again = example("index", &args);
    again.env("OPENAI_API_KEY", "sk-test");
    let rerun = output(again).await;
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert!(String::from_utf8_lossy(&rerun.stderr).contains("resuming run"), "{rerun:?}");
    let records = server.records();
    // What the killed process had in hand: the answer it was waiting for,
    // and the last one it was storing. Only those may be paid for twice.
    let in_hand: HashSet<&String> = records[before.saturating_sub(2)..before].iter().flat_map(|r| &r.texts).collect();
    let mut seen = HashSet::new();
    for text in records.iter().filter(|r| r.status == 200).flat_map(|r| &r.texts) {
        assert!(seen.insert(text) || in_hand.contains(text), "embedded twice, though stored: {text:.80}");
    }
    let ids: HashSet<String> = chunk_ids(&root).into_iter().collect();
    assert_eq!(seen.len(), ids.len(), "every distinct chunk embedded");

    let runs = output(example("runs", &[&name, "--format", "json"])).await;
    let runs: Vec<Value> = serde_json::from_slice(&runs.stdout).expect("json");
    assert_eq!(runs.len(), 1, "the killed run was resumed, not duplicated");
    assert_eq!(runs[0]["status"], "complete");
}

/// Two `index` processes of one project at once: both finish, one after the
/// other, and neither duplicates anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_indexers_of_one_project_at_once() {
    let name = project("twice");
    let root = common::stdlib_package("json");
    let (a, b) = tokio::join!(
        output(example("index", &[&root, "--project", &name])),
        output(example("index", &[&root, "--project", &name]))
    );
    for out in [&a, &b] {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let outputs = format!("{}{}", String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));
    let chunks = chunk_ids(&root).len();
    // Whichever came second found every vector in the store.
    assert!(outputs.contains(&format!("cached {chunks}, embedded 0")), "{outputs}");
    let runs = output(example("runs", &[&name, "--format", "json"])).await;
    let runs: Vec<Value> = serde_json::from_slice(&runs.stdout).expect("json");
    assert_eq!(runs.len(), 2);
    for run in &runs {
        assert_eq!(run["status"], "complete");
        assert_eq!(run["summary"]["chunks"], chunks);
    }
}

/// Without a terminal, `index` prints a progress line every
/// `--progress-every` seconds: files, chunks, and what the embedder waits for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_without_a_terminal() {
    let server = MockServer::start(
        MockConfig::default().dimensions(8).latency(Duration::from_millis(1_500), Duration::from_millis(1_500)),
    )
    .await
    .expect("mock");
    let project = project("progress");
    let root = common::stdlib_package("email");
    // A model of its own: nothing in the shared embedding cache.
    let model = format!("model-{project}");
    let args = ["--project", &project, "--embedder", "openai", "--api-base", &server.url(), "--dimensions", "8"];
    let args = [&args[..], &["--model", &model]].concat();
    let mut command =
        example("index", &[&[root.as_str()][..], &args, &["--progress-every", "1", "--batch", "128"]].concat());
    command.env("OPENAI_API_KEY", "sk-progress");
    let out = output(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("index: ")).collect();
    assert!(lines.len() >= 2, "{stderr}");
    assert!(lines.iter().all(|l| l.contains(" files, ")), "{stderr}");
    assert!(lines.iter().any(|l| l.contains("waiting for: ")), "{stderr}");
}

/// `index --watch`: a run at the start, then one per burst of saves, each
/// parsing only what changed; Ctrl-C stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_watch_indexes_each_save_parsing_only_what_changed() {
    let name = project("watch");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let copied = Command::new("cp").args(["-r", "examples/sample/.", &dir.path().to_string_lossy()]).status();
    assert!(copied.is_ok_and(|s| s.success()), "the sample copied");
    let root = dir.path().to_string_lossy().into_owned();
    let mut child = example("index", &[&root, "--project", &name, "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("its stdout");
    let (lines, next) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let line = || next.recv_timeout(Duration::from_secs(120)).expect("a run's summary");
    let first = tokio::task::block_in_place(line);
    assert!(first.contains("files 8, chunks 8,") && first.contains("files unchanged 0,"), "{first}");

    let models = dir.path().join("shop/models.py");
    let mut text = std::fs::read_to_string(&models).expect("models.py");
    text.push_str("\n\ndef restock(item):\n    return item\n");
    std::fs::write(&models, text).expect("saved");
    let second = tokio::task::block_in_place(line);
    assert!(second.contains("files 8,") && second.contains("files unchanged 7,"), "{second}");

    let runs = output(example("runs", &[&name, "--format", "json"])).await;
    let runs: Vec<Value> = serde_json::from_slice(&runs.stdout).expect("json");
    assert_eq!(runs.len(), 2, "one run per burst of saves");
    assert!(runs.iter().all(|r| r["status"] == "complete"));
    let stopped = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(stopped.is_ok_and(|s| s.success()));
    let status = tokio::task::block_in_place(|| child.wait()).expect("reaped");
    assert!(status.success(), "Ctrl-C stops a watch cleanly: {status:?}");
}
