//! The running API, fuzzed from its own OpenAPI document by schemathesis
//! (from PyPI; `scripts/test` installs it), on both backends: the
//! in-memory map of the sample project and a real PostgreSQL store
//! (`DATABASE_URL`) holding the same project. Every check: no server
//! error, every status, content type and body as the document says, valid
//! requests accepted and invalid ones refused, index jobs included.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use pyatlas_embed::HashEmbedder;
use pyatlas_index::Indexer;
use pyatlas_query::{CodeMap, MemoryMap, StoreMap};
use pyatlas_serve::{Jobs, ServeOptions, router, serve};
use pyatlas_store::{Store, StoreConfig};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample")
}

async fn start(map: Arc<dyn CodeMap>, options: ServeOptions) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, router(map, options), std::future::pending()));
    addr
}

/// Runs schemathesis against the API at `addr` in a blocking thread.
async fn fuzz(addr: SocketAddr, what: &str) {
    let url = format!("http://{addr}/api/openapi.json");
    // Its cache goes to a folder of its own, not into the crate.
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let dir = scratch.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .current_dir(dir)
            .args(["run", &url, "--checks", "all", "--max-examples", "40", "--generation-deterministic"])
            .output()
    })
    .await
    .expect("the schemathesis thread")
    .unwrap_or_else(|e| {
        panic!("schemathesis is needed (pip install -r scripts/requirements-test.txt, or scripts/test): {e}")
    });
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "schemathesis found failures on the {what} backend:\n{report}");
    assert!(report.contains("24 passed"), "every operation was tested on the {what} backend:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_document_on_both_backends() {
    let indexer = Indexer::builder(sample()).build().expect("indexer");
    let memory = MemoryMap::with_indexer(&indexer).await.expect("memory index");
    fuzz(start(Arc::new(memory), ServeOptions::default()).await, "memory").await;

    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let config = StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("s_fuzz_{}_{nanos}", std::process::id()));
    let store = Store::connect(config).await.expect("connect and migrate");
    indexer.run(&store).await.expect("stored run");
    // Index jobs on, under an empty folder: whatever root is asked for is
    // checked and refused, and no job starts.
    let allowed = tempfile::tempdir().expect("a temporary folder");
    let jobs = Jobs::new(store.clone(), [allowed.path().to_owned()], Arc::new(HashEmbedder::default())).expect("jobs");
    let options = ServeOptions { jobs: Some(jobs), ..ServeOptions::default() };
    fuzz(start(Arc::new(StoreMap::new(store)), options).await, "store").await;
}
