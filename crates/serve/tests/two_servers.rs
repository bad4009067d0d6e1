//! Two servers on one PostgreSQL (`DATABASE_URL`), each with its own pool:
//! the servers keep no state of their own, so they give the same answers,
//! byte for byte (and the same ETags).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

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
