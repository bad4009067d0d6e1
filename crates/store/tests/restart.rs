//! The server restarted in the middle of a run (a test binary of its own,
//! so that no other test shares the server while it restarts).
//!
//! With `PYATLAS_PG_CTL` (set by `scripts/test` for the cluster it starts),
//! the server is really restarted with `pg_ctl restart`; with a server of
//! the caller's (`DATABASE_URL` only), every connection of the store is
//! terminated instead, which is what a restart does to its clients.

use pyatlas_chunker::{ChunkId, ChunkKind};
use pyatlas_embed::EmbedderSpec;
use pyatlas_store::{ChunkRow, RunSpec, RunStatus, Store, StoreConfig};

fn chunk(path: &str) -> ChunkRow {
    let text = format!("# {path}\ndef f():\n    pass\n");
    ChunkRow {
        id: ChunkId::of(&text),
        path: path.into(),
        qualnames: vec!["f".into()],
        kind: ChunkKind::Function,
        start_line: 1,
        end_line: 2,
        token_count: 8,
        text,
        domains: vec![],
        metadata: serde_json::json!({}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_a_server_restart() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "the store tests need a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test, which starts one"
        )
    });
    let app = format!("pyatlas-restart-{}", std::process::id());
    let schema = format!("t_restart_{}", std::process::id());
    let store = Store::connect(StoreConfig::new(&url).expect("url").schema(&schema).application_name(&app))
        .await
        .expect("connect");
    let run = store.begin_run(RunSpec::new("restart", "m", EmbedderSpec::other("m", 4))).await.expect("run");
    run.add_chunks(&[chunk("a.py")]).await.expect("before the restart");

    match std::env::var("PYATLAS_PG_CTL") {
        Ok(pg_ctl) => {
            let status = tokio::task::spawn_blocking(move || {
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("{pg_ctl} restart -m fast -w -t 60"))
                    .stdout(std::process::Stdio::null())
                    .status()
            })
            .await
            .expect("join")
            .expect("pg_ctl");
            assert!(status.success(), "pg_ctl restart failed");
        }
        Err(_) => {
            eprintln!("PYATLAS_PG_CTL is not set: terminating the store's connections instead of restarting");
            let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("admin");
            tokio::spawn(connection);
            admin
                .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&app])
                .await
                .expect("terminate");
        }
    }

    // The pool's connections are dead: writes reconnect and go on.
    run.add_chunks(&[chunk("b.py")]).await.expect("after the restart");
    let info = run.complete(serde_json::json!({})).await.expect("complete");
    assert_eq!(info.status, RunStatus::Complete);
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("admin");
    tokio::spawn(connection);
    let chunks: i64 = admin
        .query_one(&format!("SELECT count(*) FROM {schema}.chunks WHERE run_id = $1"), &[&info.id.get()])
        .await
        .expect("count")
        .get(0);
    assert_eq!(chunks, 2);
}
