//! The MCP server mounted at `/mcp` over streamable HTTP, spoken to by
//! rmcp's own client: the tools answer as they do over stdio, and off
//! loopback the token is required there as on every route.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pyatlas_mcp::PyatlasMcp;
use pyatlas_query::MemoryMap;
use pyatlas_serve::{ServeOptions, Token, router, serve};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

async fn start(token: Option<&str>) -> SocketAddr {
    let map = Arc::new(
        MemoryMap::index(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample"))
            .await
            .expect("the sample"),
    );
    let options = ServeOptions {
        token: token.and_then(Token::new),
        mcp: Some(PyatlasMcp::new(map.clone())),
        ..ServeOptions::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, router(map, options), std::future::pending()));
    addr
}

async fn find(addr: SocketAddr, token: Option<&str>) -> Result<String, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(format!("http://{addr}/mcp"));
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.map_err(|e| e.to_string())?;
    let tools = client.list_all_tools().await.map_err(|e| e.to_string())?;
    assert_eq!(tools.len(), 7);
    let arguments = json!({ "name": "price_of" }).as_object().cloned().unwrap_or_default();
    let result = client
        .call_tool(CallToolRequestParams::new("find_symbol").with_arguments(arguments))
        .await
        .map_err(|e| e.to_string())?;
    let _ = client.cancel().await;
    Ok(result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tools_answer_over_http() {
    let addr = start(None).await;
    let found = find(addr, None).await.expect("an answer");
    assert!(found.contains("`shop.services.pricing:PriceList.price_of` (method)"), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_guards_mcp_too() {
    let addr = start(Some("s3cret-token")).await;
    assert!(find(addr, None).await.is_err(), "no token, no answer");
    assert!(find(addr, Some("wrong")).await.is_err(), "a wrong token, no answer");
    let found = find(addr, Some("s3cret-token")).await.expect("an answer with the token");
    assert!(found.contains("PriceList.price_of"), "{found}");
    let raw = reqwest::Client::new()
        .post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .expect("a response");
    assert_eq!(raw.status(), 401);
    assert!(!raw.text().await.expect("a body").contains("s3cret"), "the token is never echoed");
}
