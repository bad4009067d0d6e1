//! Every tool through rmcp's own client, on both backends: the in-memory
//! map of the sample project and a real PostgreSQL store (`DATABASE_URL`)
//! holding the same project. The two give the same answers; budgets hold,
//! cursors continue exactly, and mistakes are tool errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyatlas_chunker::TokenCounter as _;
use pyatlas_index::Indexer;
use pyatlas_mcp::PyatlasMcp;
use pyatlas_query::{MemoryMap, StoreMap};
use pyatlas_store::{Store, StoreConfig};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample")
}

async fn connect(server: PyatlasMcp) -> RunningService<RoleClient, ()> {
    let (server_side, client_side) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_side).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_side).await.expect("the client connects")
}

/// A tool's text, and whether it is an error.
async fn call(client: &RunningService<RoleClient, ()>, tool: &str, arguments: Value) -> (String, bool) {
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: a protocol error: {e}"));
    let text = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<String>();
    (text, result.is_error == Some(true))
}

const TOOLS: [&str; 7] =
    ["check_architecture", "find_symbol", "import_chain", "module_graph", "repo_map", "search_code", "symbol_context"];

/// Calls that succeed, one or more per tool.
fn calls() -> Vec<(&'static str, Value)> {
    vec![
        ("search_code", json!({ "query": "price of an order", "k": 3 })),
        ("search_code", json!({ "query": "PriceList", "path_prefix": "shop/services", "kind": "class" })),
        ("find_symbol", json!({ "name": "price" })),
        ("find_symbol", json!({ "name": "Order", "kind": "class" })),
        ("symbol_context", json!({ "qualname": "shop.services.pricing:PriceList.price_of" })),
        ("module_graph", json!({ "module": "shop.api", "depth": 2 })),
        ("import_chain", json!({ "from": "shop.api", "to": "shop.models" })),
        ("import_chain", json!({ "from": "shop.models", "to": "shop.api" })),
        ("check_architecture", json!({})),
        ("repo_map", json!({ "max_tokens": 500 })),
        ("repo_map", json!({ "max_tokens": 500, "focus": ["shop/api.py"] })),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_answers_alike_on_both_backends() {
    let indexer = Indexer::builder(sample()).build().expect("indexer");
    let memory = connect(PyatlasMcp::new(Arc::new(MemoryMap::with_indexer(&indexer).await.expect("memory")))).await;
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let config = StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("s_mcp_{}_{nanos}", std::process::id()));
    let store = Store::connect(config).await.expect("connect");
    indexer.run(&store).await.expect("a stored run");
    let stored = connect(PyatlasMcp::new(Arc::new(StoreMap::new(store)))).await;

    let mut names: Vec<String> =
        memory.list_all_tools().await.expect("tools").into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, TOOLS);
    for tool in memory.list_all_tools().await.expect("tools") {
        let schema = serde_json::to_string(&tool.input_schema).expect("a schema");
        assert!(schema.contains("max_tokens"), "{}: every tool takes max_tokens: {schema}", tool.name);
        assert!(tool.description.is_some_and(|d| d.len() > 40), "{} says when to use it", tool.name);
    }
    for (tool, arguments) in calls() {
        let (a, a_error) = call(&memory, tool, arguments.clone()).await;
        let (b, b_error) = call(&stored, tool, arguments.clone()).await;
        assert!(!a_error && !b_error, "{tool} {arguments}: {a} / {b}");
        if tool == "search_code" {
            // Lexical ranking is BM25 in memory and PostgreSQL's full-text
            // search on the store: the same best hit, not the same order.
            assert_eq!(a.lines().next(), b.lines().next(), "{tool} {arguments}");
        } else {
            assert_eq!(a, b, "{tool} {arguments}");
        }
        assert!(!a.is_empty(), "{tool}");
    }
    let (found, _) = call(&memory, "find_symbol", json!({ "name": "price_of" })).await;
    assert!(found.contains("`shop.services.pricing:PriceList.price_of` (method) shop/services/pricing.py:"), "{found}");
    let (context, _) =
        call(&memory, "symbol_context", json!({ "qualname": "shop.services.pricing:PriceList.price_of" })).await;
    assert!(context.contains("```python\n") && context.contains("def price_of"), "{context}");
    let (verdicts, _) = call(&memory, "check_architecture", json!({})).await;
    assert!(verdicts.contains("1 kept, 1 broken") && verdicts.contains("BROKEN The API does not reach"), "{verdicts}");
    assert!(verdicts.contains("shop.api → shop.services.storage"), "{verdicts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_fit_their_budget_and_continue_exactly() {
    let map = MemoryMap::index(sample()).await.expect("memory");
    let client = connect(PyatlasMcp::new(Arc::new(map))).await;
    let counter = pyatlas_chunker::Tiktoken::cl100k_base();
    let arguments = json!({ "query": "order", "k": 20 });
    let (whole, _) = call(&client, "search_code", json!({ "query": "order", "k": 20, "max_tokens": 20000 })).await;
    assert!(counter.count(&whole) > 300, "a long answer to cut: {}", counter.count(&whole));
    let (mut joined, mut cursor, mut parts) = (String::new(), None::<String>, 0);
    loop {
        let mut args = arguments.clone();
        args["max_tokens"] = json!(150);
        if let Some(cursor) = &cursor {
            args["cursor"] = json!(cursor);
        }
        let (part, error) = call(&client, "search_code", args).await;
        assert!(!error, "{part}");
        assert!(counter.count(&part) <= 150, "{} tokens: {part}", counter.count(&part));
        parts += 1;
        match part.rsplit_once("\n[cut at 150 tokens: ") {
            Some((shown, note)) => {
                joined.push_str(shown);
                cursor = note.split("cursor=\"").nth(1).and_then(|n| n.split('"').next()).map(str::to_owned);
            }
            None => {
                joined.push_str(&part);
                break;
            }
        }
    }
    assert!(parts > 2, "cut into {parts} parts");
    assert_eq!(joined, whole);
    for max_tokens in [100, 1000] {
        let (drawn, _) = call(&client, "repo_map", json!({ "max_tokens": max_tokens })).await;
        assert!(counter.count(&drawn) <= max_tokens, "the map and its closing line: {drawn}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_tool_errors() {
    let map = MemoryMap::index(sample()).await.expect("memory");
    let client = connect(PyatlasMcp::new(Arc::new(map))).await;
    let mistakes = [
        ("search_code", json!({})),
        ("search_code", json!({ "query": "" })),
        ("search_code", json!({ "query": "x", "k": 0 })),
        ("search_code", json!({ "query": "x", "kind": "lambda" })),
        ("search_code", json!({ "query": 5 })),
        ("search_code", json!({ "query": "x", "max_tokens": 0 })),
        ("search_code", json!({ "query": "x", "max_tokens": 20001 })),
        ("search_code", json!({ "query": "x", "cursor": "nowhere" })),
        ("find_symbol", json!({ "name": "no_such_thing_anywhere" })),
        ("find_symbol", json!({ "name": "price", "kind": "module" })),
        ("symbol_context", json!({ "qualname": "no.such:Unit" })),
        ("symbol_context", json!({ "qualname": "no colon" })),
        ("module_graph", json!({ "module": "no.such.module" })),
        ("module_graph", json!({ "module": "shop.api", "depth": 99 })),
        ("import_chain", json!({ "from": "shop.api" })),
        ("import_chain", json!({ "from": "nowhere", "to": "shop.api" })),
        ("repo_map", json!({ "focus": ["no/such/file.py"] })),
        ("repo_map", json!({ "focus": 3 })),
    ];
    for (tool, arguments) in mistakes {
        let (text, error) = call(&client, tool, arguments.clone()).await;
        assert!(error, "{tool} {arguments} should be a tool error: {text}");
        assert!(!text.is_empty(), "{tool} {arguments}: the error says why");
    }
}
