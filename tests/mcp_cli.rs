//! The `mcp` example as an agent runs it: a child process spoken to over
//! stdio, by rmcp's own client and by a client nobody here wrote, the MCP
//! Inspector's command-line mode (`@modelcontextprotocol/inspector` from
//! npm; `scripts/test` installs it under `target/mcp-inspector`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use pyatlas::index::Indexer;
use pyatlas::store::{Store, StoreConfig};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

async fn spawn(command: Command) -> RunningService<RoleClient, ()> {
    let transport = TokioChildProcess::new(tokio::process::Command::from(command)).expect("the server starts");
    ().serve(transport).await.expect("the client connects")
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, arguments: Value) -> (String, bool) {
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: a protocol error: {e}"));
    let text = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<String>();
    (text, result.is_error == Some(true))
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_stdio_an_edit_is_seen_by_the_next_answer() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy(&sample(), dir.path());
    let mut command = common::example("mcp");
    command.arg(dir.path()).env_remove("DATABASE_URL");
    let client = spawn(command).await;
    assert_eq!(client.list_all_tools().await.expect("tools").len(), 7);
    let (before, error) = call(&client, "find_symbol", json!({ "name": "brand_new_helper" })).await;
    assert!(error, "not there yet: {before}");

    let models = dir.path().join("shop/models.py");
    let mut text = std::fs::read_to_string(&models).expect("the file");
    text.push_str(
        "\n\ndef brand_new_helper(order: Order) -> int:\n    \"\"\"Added while the server runs.\"\"\"\n    return 1\n",
    );
    std::fs::write(&models, text).expect("an edit");
    let (after, error) = call(&client, "find_symbol", json!({ "name": "brand_new_helper" })).await;
    assert!(!error, "{after}");
    assert!(
        after.contains("`shop.models:brand_new_helper` (function) shop/models.py:") && after.contains("Added while")
    );

    std::fs::remove_file(dir.path().join("shop/api.py")).expect("a removal");
    let (gone, error) = call(&client, "module_graph", json!({ "module": "shop.api" })).await;
    assert!(error, "a removed module is gone: {gone}");
    client.cancel().await.expect("the client closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_stdio_from_a_store() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let project = format!("mcp-{}", std::process::id());
    let store = Store::connect(StoreConfig::new(&url).expect("DATABASE_URL")).await.expect("connect");
    Indexer::builder(sample()).project(&project).build().expect("indexer").run(&store).await.expect("a run");
    let mut command = common::example("mcp");
    command.args(["--project", &project]).env("DATABASE_URL", &url);
    let client = spawn(command).await;
    let (found, error) = call(&client, "find_symbol", json!({ "name": "price_of" })).await;
    assert!(!error && found.contains("shop.services.pricing:PriceList.price_of"), "{found}");
    let (verdicts, error) = call(&client, "check_architecture", json!({})).await;
    assert!(!error && verdicts.contains("1 kept, 1 broken"), "{verdicts}");
    client.cancel().await.expect("the client closes");
}

/// The MCP Inspector's CLI, as `scripts/test` installs it.
fn inspector() -> Command {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mcp-inspector/node_modules/.bin/mcp-inspector");
    assert!(
        bin.exists(),
        "{} is missing: scripts/test installs it (npm install --prefix target/mcp-inspector @modelcontextprotocol/inspector)",
        bin.display()
    );
    let mut command = Command::new(bin);
    command.arg("--cli");
    command
}

#[test]
fn the_mcp_inspector_lists_the_tools_and_calls_each_one() {
    let server = common::example("mcp").get_program().to_owned();
    let call = |args: &[&str]| -> (bool, Value) {
        let output = inspector().arg(&server).arg(sample()).args(args).output().expect("the inspector runs");
        let answer = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!("{args:?}: no JSON from the inspector: {}", String::from_utf8_lossy(&output.stderr))
        });
        (output.status.success(), answer)
    };
    let run = |args: &[&str]| -> Value {
        let (ok, answer) = call(args);
        assert!(ok, "{args:?}: {answer}");
        answer
    };
    let listed = run(&["--method", "tools/list"]);
    let mut names: Vec<&str> =
        listed["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "check_architecture",
            "find_symbol",
            "import_chain",
            "module_graph",
            "repo_map",
            "search_code",
            "symbol_context"
        ]
    );
    let calls: [(&str, &[&str]); 7] = [
        ("search_code", &["query=price of an order", "k=2"]),
        ("find_symbol", &["name=PriceList"]),
        ("symbol_context", &["qualname=shop.services.pricing:PriceList.price_of"]),
        ("module_graph", &["module=shop.api"]),
        ("import_chain", &["from=shop.api", "to=shop.models"]),
        ("check_architecture", &[]),
        ("repo_map", &["max_tokens=300", "focus=shop/api.py"]),
    ];
    for (tool, arguments) in calls {
        let mut args = vec!["--method", "tools/call", "--tool-name", tool];
        for argument in arguments {
            args.extend(["--tool-arg", argument]);
        }
        let answer = run(&args);
        assert_eq!(answer["isError"], false, "{tool}: {answer}");
        assert!(answer["content"][0]["text"].as_str().is_some_and(|t| !t.is_empty()), "{tool}: {answer}");
    }
    // A tool error: the inspector reports it as one (and exits with 1).
    let (_, unknown) =
        call(&["--method", "tools/call", "--tool-name", "find_symbol", "--tool-arg", "name=nothing_like_it"]);
    assert!(unknown["isError"] == true || unknown["error"]["code"] == "tool_is_error", "{unknown}");
}
