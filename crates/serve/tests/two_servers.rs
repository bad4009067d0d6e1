//! Servers on a real PostgreSQL (`DATABASE_URL`). Two servers on one
//! database, each with its own pool, keep no state of their own, so they
//! give the same answers, byte for byte (and the same ETags); and a server
//! that loses its database answers 503, then recovers.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pyatlas_index::Indexer;
use pyatlas_query::StoreMap;
use pyatlas_serve::{ServeOptions, router, serve};
use pyatlas_store::{Store, StoreConfig};

async fn server(config: StoreConfig) -> SocketAddr {
    let store = Store::connect(config).await.expect("connect");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(
        listener,
        router(Arc::new(StoreMap::new(store)), ServeOptions::default()),
        std::future::pending(),
    ));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_answer_alike() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let config = StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("s_two_{}_{nanos}", std::process::id()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    let store = Store::connect(config.clone()).await.expect("connect");
    Indexer::builder(root).build().expect("indexer").run(&store).await.expect("a stored run");
    let (a, b) = (server(config.clone()).await, server(config).await);
    let client = reqwest::Client::new();
    let routes = [
        "/api/projects",
        "/api/run",
        "/api/files",
        "/api/files/shop/api.py",
        "/api/symbols?q=price",
        "/api/search?q=price%20of%20an%20order&k=5",
        "/api/search?q=PriceList&mode=lexical",
        "/api/units/shop.services.pricing:PriceList.price_of",
        "/api/modules/shop.api/graph?depth=2",
        "/api/chain?from=shop.api&to=shop.models",
        "/api/domains",
        "/api/tags",
        "/api/contracts",
        "/api/files/no/such.py",
    ];
    for route in routes {
        let mut answers = Vec::new();
        for addr in [a, b] {
            let response = client.get(format!("http://{addr}{route}")).send().await.expect("a response");
            let status = response.status().as_u16();
            let etag = response.headers().get("etag").cloned();
            answers.push((status, etag, response.text().await.expect("a body")));
        }
        assert_eq!(answers[0], answers[1], "{route}");
        assert!(answers[0].0 == 200 || route.ends_with("such.py"), "{route}: {:?}", answers[0]);
    }
}

/// A TCP forwarder on loopback between the server and PostgreSQL, which
/// can cut the line (every connection dropped, new ones refused) and mend it.
struct Line {
    addr: SocketAddr,
    open: Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Line {
    async fn to(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let is_open = open.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_open.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let (target, mut cuts) = (target.clone(), cuts.clone());
                // Only cuts after this connection opened end it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self { addr, open, cut }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn mend(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_a_503_and_the_server_recovers() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("s_lost_{}_{nanos}", std::process::id());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    let store =
        Store::connect(StoreConfig::new(&url).expect("DATABASE_URL").schema(schema.clone())).await.expect("connect");
    Indexer::builder(root).build().expect("indexer").run(&store).await.expect("a stored run");

    // postgres://user@host:port/db: the same database, through the line.
    let (user, rest) = url.split_once('@').expect("DATABASE_URL as postgres://user@host:port/db");
    let (target, database) = rest.split_once('/').expect("DATABASE_URL as postgres://user@host:port/db");
    let line = Line::to(target.to_owned()).await;
    let through = format!("{user}@{}/{database}", line.addr);
    let config = StoreConfig::new(&through).expect("the URL").schema(schema).wait_timeout(Duration::from_secs(2));
    let addr = server(config).await;
    let client = reqwest::Client::new();
    let get = |route: &'static str| {
        let client = client.clone();
        async move {
            let response = client.get(format!("http://{addr}{route}")).send().await.expect("a response");
            let kind =
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            (response.status().as_u16(), kind, response.text().await.expect("a body"))
        }
    };
    assert_eq!(get("/api/files").await.0, 200);

    line.cut();
    for route in ["/api/files", "/api/search?q=price", "/api/files/shop/api.py", "/api/projects"] {
        let (status, kind, body) = get(route).await;
        assert_eq!((status, kind.as_str()), (503, "application/problem+json"), "{route}: {body}");
        assert!(!body.contains(&line.addr.port().to_string()), "the database's address stays private: {body}");
    }

    line.mend();
    let mut answer = (0, String::new(), String::new());
    for _ in 0..20 {
        answer = get("/api/files").await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(answer.0, 200, "the server recovers once the database is back: {}", answer.2);
}
