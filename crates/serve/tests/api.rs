//! The API on a real HTTP server on loopback, asked by a real HTTP client,
//! over the in-memory map of the sample project: every route answers what
//! the query layer answers, and every bad request gets a problem.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pyatlas_query::{At, CodeMap, MemoryMap, Search};
use pyatlas_serve::{ServeOptions, Token, check_bind, router, serve};
use serde_json::Value;

async fn start(map: Arc<MemoryMap>, options: ServeOptions) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, router(map, options), std::future::pending()));
    addr
}

async fn sample() -> Arc<MemoryMap> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    Arc::new(MemoryMap::index(root).await.expect("index the sample"))
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = response.text().await.expect("a body");
    (status, kind, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A request sent byte for byte as `path` is written; its head.
async fn raw_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

fn value<T: serde::Serialize>(answer: &T) -> Value {
    serde_json::to_value(answer).expect("serialisable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_what_the_query_layer_answers() {
    let map = sample().await;
    let addr = start(map.clone(), ServeOptions::default()).await;
    let at = At::latest();
    let ok = |(status, kind, body): (u16, String, Value)| {
        assert_eq!(status, 200, "{body}");
        assert!(kind.starts_with("application/json"), "{kind}");
        body
    };
    assert_eq!(ok(get(addr, "/api/projects", None).await), value(&map.projects().await.expect("projects")));
    let project = map.run(&at).await.expect("run").project;
    let runs = ok(get(addr, &format!("/api/projects/{project}/runs"), None).await);
    assert_eq!(runs.as_array().map(Vec::len), Some(1));
    assert_eq!(ok(get(addr, "/api/files", None).await), value(&map.files(&at).await.expect("files")));
    for file in map.files(&at).await.expect("files") {
        let view = ok(get(addr, &format!("/api/files/{}", file.path), None).await);
        assert_eq!(view, value(&map.file(&at, &file.path).await.expect("file")), "{}", file.path);
    }
    let symbols = map.symbols(&at, "price", 20).await.expect("symbols");
    assert!(!symbols.is_empty());
    assert_eq!(ok(get(addr, "/api/symbols?q=price", None).await), value(&symbols));
    for symbol in &symbols {
        let context = ok(get(addr, &format!("/api/units/{}", symbol.id), None).await);
        assert_eq!(context, value(&map.unit(&at, &symbol.id).await.expect("unit")));
    }
    let search = ok(get(addr, "/api/search?q=price%20of%20an%20order&k=3", None).await);
    let hits = map.search(&at, &Search::new("price of an order").k(3)).await.expect("search");
    assert_eq!(search["hits"], value(&hits));
    assert_eq!(search["next_cursor"], "3");
    let page = ok(get(addr, "/api/search?q=price%20of%20an%20order&k=3&cursor=3", None).await);
    let next = map.search(&at, &Search::new("price of an order").k(3).offset(3)).await.expect("page");
    assert_eq!(page["hits"], value(&next));
    let graph = ok(get(addr, "/api/modules/shop.api/graph?depth=2", None).await);
    assert_eq!(graph, value(&map.module_graph(&at, "shop.api", 2, None).await.expect("graph")));
    let chain = ok(get(addr, "/api/chain?from=shop.api&to=shop.models", None).await);
    assert_eq!(chain, value(&map.chain(&at, "shop.api", "shop.models").await.expect("chain")));
    for (route, answer) in [
        ("/api/graph", value(&map.project_graph(&at, None).await.expect("graph"))),
        ("/api/graph?squash=1", value(&map.project_graph(&at, Some(1)).await.expect("graph"))),
        ("/api/server", serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "jobs": false})),
        ("/api/cycles", value(&map.cycles(&at).await.expect("cycles"))),
        ("/api/domains", value(&map.domains(&at).await.expect("domains"))),
        ("/api/findings", value(&map.findings(&at).await.expect("findings"))),
        ("/api/tags", value(&map.tags(&at).await.expect("tags"))),
        ("/api/contracts", value(&map.contracts(&at).await.expect("contracts"))),
        (
            "/api/map?max_tokens=300&focus=shop/api.py",
            value(
                &map.repo_map(&at, &pyatlas_query::MapRequest::new(Some(300), vec!["shop/api.py".to_owned()]))
                    .await
                    .expect("a map"),
            ),
        ),
        ("/api/run", value(&map.run(&at).await.expect("run"))),
        (
            "/api/diff?from=1&to=1",
            value(&map.diff(pyatlas_query::RunId::new(1), pyatlas_query::RunId::new(1)).await.expect("diff")),
        ),
    ] {
        assert_eq!(ok(get(addr, route, None).await), answer, "{route}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_problems_never_a_server_error() {
    let addr = start(sample().await, ServeOptions::default()).await;
    let cases: &[(&str, u16)] = &[
        ("/api/files/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/files/shop/../../etc/passwd", 404),
        ("/api/files/%2Fetc%2Fpasswd", 404),
        ("/api/files//etc/passwd", 404),
        ("/api/files/shop%00/api.py", 404),
        // The client resolves dot segments itself: the server sees /etc/passwd.
        ("/api/files/%2e%2e/%2e%2e/etc/passwd", 404),
        ("/api/files/%c0%ae%c0%ae/etc/passwd", 400),
        ("/api/files/shop%5C..%5Capi.py", 404),
        ("/api/files/no/such.py", 404),
        ("/api/search", 400),
        ("/api/search?q=x&k=0", 400),
        ("/api/search?q=x&k=1000", 400),
        ("/api/search?q=x&k=-1", 400),
        ("/api/search?q=x&mode=psychic", 400),
        ("/api/search?q=x&kind=essay", 400),
        ("/api/search?q=x&cursor=abc", 400),
        ("/api/search?q=x&cursor=99999999", 400),
        ("/api/search?q=x&run=notanumber", 400),
        ("/api/search?q=x&project=nope", 404),
        ("/api/search?q=x&run=7", 404),
        ("/api/symbols?q=", 400),
        ("/api/units/no-colon", 400),
        ("/api/units/shop.api:nothing_here", 404),
        ("/api/modules/no.such/graph", 404),
        ("/api/modules/shop.api/graph?depth=99", 400),
        ("/api/modules/shop.api/graph?squash=0", 400),
        ("/api/chain?from=shop.api", 400),
        ("/api/projects/nope/runs", 404),
        ("/api/diff?from=1&to=2", 404),
        ("/api/diff?from=1", 400),
        ("/api/graph?squash=0", 400),
        ("/api/graph?squash=x", 400),
        ("/api/nothing", 404),
        ("/nothing-here", 404),
        ("/assets/nothing.js", 404),
        ("/assets/../index.html", 404),
    ];
    for &(path, expected) in cases {
        let (status, kind, body) = get(addr, path, None).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert_eq!(kind, "application/problem+json", "{path}");
        assert_eq!(body["status"], expected, "{path}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{path}");
    }
    // Sent as written, dot segments and all.
    for raw in [
        "/api/files/../../etc/passwd",
        "/api/files/shop/./api.py",
        "/api/files/%2e%2e/x.py",
        "/api/files/a/..%2f..%2fb",
    ] {
        let head = raw_get(addr, raw).await;
        assert!(head.starts_with("HTTP/1.1 400") || head.starts_with("HTTP/1.1 404"), "{raw}: {head}");
        assert!(head.contains("application/problem+json"), "{raw}: {head}");
    }
    let big = reqwest::Client::new()
        .get(format!("http://{addr}/api/projects"))
        .body(vec![b'x'; 70 * 1024])
        .send()
        .await
        .expect("a response");
    assert_eq!(big.status().as_u16(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_route_and_never_shows() {
    let token = Token::new("s3cret-token").expect("a token");
    assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    let options = ServeOptions { token: Some(token), ..ServeOptions::default() };
    let addr = start(sample().await, options.clone()).await;
    for route in ["/api/projects", "/api/files", "/api/nothing"] {
        for offered in [None, Some("wrong"), Some("s3cret-toke"), Some("s3cret-token-")] {
            let (status, kind, body) = get(addr, route, offered).await;
            assert_eq!((status, kind.as_str()), (401, "application/problem+json"), "{route} {offered:?}");
            assert!(!body.to_string().contains("s3cret"), "the token never shows");
        }
    }
    assert_eq!(get(addr, "/api/projects", Some("s3cret-token")).await.0, 200);
    assert_eq!(get(addr, "/api/nothing", Some("s3cret-token")).await.0, 404);
    // The page carries no data: it loads without the token, and asks for it.
    for page in ["/", "/search", "/code/shop/api.py", "/graph", "/assets/app.js"] {
        let response = reqwest::get(format!("http://{addr}{page}")).await.expect("a response");
        assert_eq!(response.status(), 200, "{page}");
    }

    let open: SocketAddr = "0.0.0.0:7878".parse().expect("address");
    let loopback: SocketAddr = "127.0.0.1:7878".parse().expect("address");
    assert!(check_bind(open, &ServeOptions::default()).is_err(), "off loopback needs a token");
    assert!(check_bind(open, &options).is_ok());
    assert!(check_bind(loopback, &ServeOptions::default()).is_ok());
    assert!(Token::new("").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_etags_and_cors_is_closed_unless_opened() {
    let map = sample().await;
    let addr = start(map.clone(), ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/files");
    let first = client.get(&url).send().await.expect("a response");
    let etag = first.headers().get("etag").expect("an ETag").clone();
    assert!(first.headers().get("access-control-allow-origin").is_none(), "CORS closed by default");
    let again = client.get(&url).header("if-none-match", etag.clone()).send().await.expect("a response");
    assert_eq!(again.status().as_u16(), 304);
    assert!(again.text().await.expect("a body").is_empty());
    let other =
        client.get(format!("http://{addr}/api/tags")).header("if-none-match", etag).send().await.expect("a response");
    assert_eq!(other.status().as_u16(), 200, "another answer, another tag");

    let origin = "http://localhost:5173";
    let options = ServeOptions { cors: vec![origin.parse().expect("an origin")], ..ServeOptions::default() };
    let addr = start(map, options).await;
    let allowed =
        client.get(format!("http://{addr}/api/files")).header("origin", origin).send().await.expect("a response");
    assert_eq!(allowed.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some(origin));
    let other = client
        .get(format!("http://{addr}/api/files"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("a response");
    assert!(other.headers().get("access-control-allow-origin").is_none(), "only the origins given");
}

/// A map whose answers about projects take a while: a request in flight.
struct Slow(Arc<MemoryMap>);

impl CodeMap for Slow {
    fn projects(&self) -> pyatlas_query::Answer<'_, Vec<pyatlas_query::Project>> {
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            self.0.projects().await
        })
    }
    fn runs<'a>(&'a self, p: &'a str) -> pyatlas_query::Answer<'a, Vec<pyatlas_store::RunInfo>> {
        self.0.runs(p)
    }
    fn run<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, pyatlas_store::RunInfo> {
        self.0.run(at)
    }
    fn diff(
        &self,
        a: pyatlas_query::RunId,
        b: pyatlas_query::RunId,
    ) -> pyatlas_query::Answer<'_, pyatlas_query::RunDiff> {
        self.0.diff(a, b)
    }
    fn search<'a>(&'a self, at: &'a At, s: &'a Search) -> pyatlas_query::Answer<'a, Vec<pyatlas_query::SearchHit>> {
        self.0.search(at, s)
    }
    fn files<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, Vec<pyatlas_query::FileEntry>> {
        self.0.files(at)
    }
    fn file<'a>(&'a self, at: &'a At, p: &'a str) -> pyatlas_query::Answer<'a, pyatlas_query::FileView> {
        self.0.file(at, p)
    }
    fn symbols<'a>(
        &'a self,
        at: &'a At,
        q: &'a str,
        n: usize,
    ) -> pyatlas_query::Answer<'a, Vec<pyatlas_query::Symbol>> {
        self.0.symbols(at, q, n)
    }
    fn unit<'a>(
        &'a self,
        at: &'a At,
        u: &'a pyatlas_query::UnitRef,
    ) -> pyatlas_query::Answer<'a, pyatlas_query::UnitContext> {
        self.0.unit(at, u)
    }
    fn module_graph<'a>(
        &'a self,
        at: &'a At,
        m: &'a str,
        d: usize,
        s: Option<usize>,
    ) -> pyatlas_query::Answer<'a, pyatlas_query::ModuleGraph> {
        self.0.module_graph(at, m, d, s)
    }
    fn project_graph<'a>(
        &'a self,
        at: &'a At,
        s: Option<usize>,
    ) -> pyatlas_query::Answer<'a, pyatlas_query::ProjectGraph> {
        self.0.project_graph(at, s)
    }
    fn chain<'a>(
        &'a self,
        at: &'a At,
        f: &'a str,
        t: &'a str,
    ) -> pyatlas_query::Answer<'a, Option<Vec<pyatlas_graph::Hop>>> {
        self.0.chain(at, f, t)
    }
    fn cycles<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, Vec<pyatlas_graph::Cycle>> {
        self.0.cycles(at)
    }
    fn domains<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, Vec<pyatlas_query::DomainSummary>> {
        self.0.domains(at)
    }
    fn findings<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, Vec<pyatlas_store::FindingRow>> {
        self.0.findings(at)
    }
    fn tags<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, Vec<pyatlas_store::TagRow>> {
        self.0.tags(at)
    }

    fn contracts<'a>(&'a self, at: &'a At) -> pyatlas_query::Answer<'a, Option<pyatlas_graph::ContractsReport>> {
        self.0.contracts(at)
    }

    fn repo_map<'a>(
        &'a self,
        at: &'a At,
        request: &'a pyatlas_query::MapRequest,
    ) -> pyatlas_query::Answer<'a, pyatlas_query::RepoMap> {
        self.0.repo_map(at, request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish_and_takes_no_more() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        tokio::spawn(serve(listener, router(Arc::new(Slow(sample().await)), ServeOptions::default()), async move {
            let _ = stopped.await;
        }));
    let in_flight = tokio::spawn(get(addr, "/api/projects", None));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.send(()).expect("the server listens");
    let (status, _, body) = in_flight.await.expect("the request task");
    assert_eq!(status, 200, "the request in flight is answered: {body}");
    assert!(body.as_array().is_some_and(|p| p.len() == 1));
    server.await.expect("the server task").expect("a clean stop");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no more connections once stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_from_the_binary_at_every_view() {
    let addr = start(sample().await, ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let index = client.get(format!("http://{addr}/")).send().await.expect("the page");
    assert_eq!(index.status(), 200);
    let policy = index.headers()["content-security-policy"].to_str().expect("text").to_owned();
    assert!(policy.contains("default-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    assert_eq!(index.headers()["x-content-type-options"], "nosniff");
    assert!(index.headers()["content-type"].to_str().expect("text").starts_with("text/html"));
    let page = index.text().await.expect("html");
    assert!(page.contains("/assets/app.js") && page.contains("/assets/app.css"));
    // Nothing loaded from elsewhere.
    assert!(!page.contains("http://") && !page.contains("https://"), "{page}");
    for view in ["/search?q=x", "/code", "/code/shop/api.py", "/graph?depth=1", "/architecture", "/history", "/jobs"] {
        let body = client.get(format!("http://{addr}{view}")).send().await.expect("a view").text().await.expect("html");
        assert_eq!(body, page, "{view} answers the page");
    }
    for (asset, kind) in [("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css")] {
        let response = client.get(format!("http://{addr}{asset}")).send().await.expect("an asset");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().expect("text").starts_with(kind));
        let etag = response.headers()["etag"].clone();
        let again =
            client.get(format!("http://{addr}{asset}")).header("If-None-Match", etag).send().await.expect("again");
        assert_eq!(again.status(), 304, "{asset} is cached by its ETag");
    }
}
