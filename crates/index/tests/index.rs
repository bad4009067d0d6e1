//! The pipeline against a real PostgreSQL with pgvector (`DATABASE_URL`;
//! `scripts/test` starts one), on code nobody here wrote: packages of the
//! machine's standard library. Each test works in a schema of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pyatlas_chunker::ChunkConfig;
use pyatlas_graph::{CallGraph, EdgeKind, GraphConfig, ImportGraph};
use pyatlas_index::{CancellationToken, IndexError, IndexEvent, Indexer, Stage};
use pyatlas_parser::{Config, parse_codebase};
use pyatlas_store::{RunStatus, Store, StoreConfig};

async fn store(test: &str) -> Store {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "the index tests need a PostgreSQL with pgvector: set DATABASE_URL=postgres://... \
             or run scripts/test, which starts one"
        )
    });
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let config =
        StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("i_{test}_{}_{nanos}", std::process::id()));
    Store::connect(config).await.expect("connect and migrate")
}

fn stdlib(package: &str) -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    Path::new(String::from_utf8_lossy(&out.stdout).trim()).join(package)
}

/// Events, as an observer sees them.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<IndexEvent>>>);

impl Recorder {
    fn events(&self) -> Vec<IndexEvent> {
        self.0.lock().expect("events").clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_edges_are_the_graphs_of_the_tree() {
    let store = store("edges").await;
    let root = stdlib("email");
    let recorder = Recorder::default();
    let events = recorder.clone();
    let indexer = Indexer::builder(&root)
        .project("email")
        .observer(move |event: &IndexEvent| events.0.lock().expect("events").push(event.clone()))
        .build()
        .expect("indexer");
    let summary = indexer.run(&store).await.expect("index");
    let run = summary.run.expect("a run");
    assert!(summary.is_complete(), "{summary:?}");

    // Imports: exactly what pyatlas-graph's fast path builds of the tree.
    let (graph, _) = ImportGraph::build(&root, &GraphConfig::default()).expect("graph");
    let expected: BTreeSet<(String, String, Vec<u32>, bool, bool)> = graph
        .edges()
        .map(|(a, b, e)| (a.to_owned(), b.to_owned(), e.lines.clone(), e.type_checking, e.function_level))
        .collect();
    let stored: BTreeSet<(String, String, Vec<u32>, bool, bool)> = store
        .edges(run, EdgeKind::Import)
        .await
        .expect("import edges")
        .into_iter()
        .map(|e| (e.source, e.target, e.lines, e.type_checking, e.function_level))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(stored, expected);
    assert!(stored.iter().all(|(_, target, ..)| !target.starts_with('.')), "no relative import stored as written");

    // Calls and inheritance: the resolved edges of the call graph and the
    // class hierarchy of the full parse.
    let codebase = parse_codebase(&root, &Config::default()).expect("parse");
    let calls = CallGraph::build(&codebase.files);
    let expected: BTreeSet<(String, String, Vec<u32>)> = calls
        .edges()
        .map(|(a, b, lines)| (calls.unit_ref(a).to_string(), calls.unit_ref(b).to_string(), lines.to_vec()))
        .collect();
    let stored: BTreeSet<(String, String, Vec<u32>)> = store
        .edges(run, EdgeKind::Call)
        .await
        .expect("call edges")
        .into_iter()
        .map(|e| (e.source, e.target, e.lines))
        .collect();
    assert!(expected.len() > 100, "{}", expected.len());
    assert_eq!(stored, expected);
    let hierarchy = calls.hierarchy();
    let expected: BTreeSet<(String, String)> = hierarchy
        .edges()
        .flat_map(|(class, bases)| bases.iter().map(move |&b| (class, b)))
        .map(|(class, base)| (hierarchy.unit_ref(class).to_string(), hierarchy.unit_ref(base).to_string()))
        .collect();
    let stored: BTreeSet<(String, String)> = store
        .edges(run, EdgeKind::Inherits)
        .await
        .expect("inheritance edges")
        .into_iter()
        .map(|e| (e.source, e.target))
        .collect();
    assert!(stored.contains(&("email.errors:MessageParseError".into(), "email.errors:MessageError".into())));
    assert_eq!(stored, expected);
    let stats = calls.stats();
    assert_eq!(summary.calls.unresolved, stats.unresolved as u64, "unresolved calls are counted");
    assert_eq!(summary.calls.resolved, stats.resolved as u64);

    // The events: started, the stages in order, progress to the last file.
    let events = recorder.events();
    assert!(matches!(events[0], IndexEvent::Stage { stage: Stage::Discover }), "{:?}", events[0]);
    let files = codebase.files.len() as u64;
    assert!(events.iter().any(|e| matches!(e, IndexEvent::Started { files: f, resumed: false, .. } if *f == files)));
    let stages: Vec<Stage> =
        events.iter().filter_map(|e| if let IndexEvent::Stage { stage } = e { Some(*stage) } else { None }).collect();
    assert_eq!(stages, [Stage::Discover, Stage::Files, Stage::Drift, Stage::Edges, Stage::Complete]);
    let last = events.iter().rev().find_map(|e| if let IndexEvent::Progress(p) = e { Some(*p) } else { None });
    let last = last.expect("progress");
    assert_eq!((last.files_done, last.files_total, last.chunks), (files, files, summary.chunks));
    assert_eq!(summary.files, files);

    // The summary is stored with the run, and the run is what search reads.
    let info = store.latest_complete_run("email").await.expect("complete run");
    assert_eq!(info.id, run);
    assert_eq!(info.summary["chunks"], summary.chunks);
    assert_eq!(info.embedder, pyatlas_embed::EmbedderSpec::hash(384));
    assert_eq!(info.config_fingerprint, indexer.fingerprint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_is_resumed_only_by_the_same_configuration() {
    let store = store("cancel").await;
    let root = stdlib("json");
    let indexer = |max_tokens: usize, cancel_after_first_batch: bool| {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        Indexer::builder(&root)
            .project("json")
            .chunk_config(ChunkConfig::default().max_tokens(max_tokens))
            .batch(8)
            .cancel(cancel)
            .observer(move |event: &IndexEvent| {
                if cancel_after_first_batch && matches!(event, IndexEvent::Progress(_)) {
                    token.cancel();
                }
            })
            .build()
            .expect("indexer")
    };
    let first = indexer(512, true);
    let Err(IndexError::Cancelled { run }) = first.run(&store).await else { panic!("the run was not cancelled") };
    assert_eq!(store.run(run).await.expect("run").status, RunStatus::Running, "left to be resumed");

    // The same configuration continues the run and completes it.
    let again = indexer(512, false).run(&store).await.expect("resume");
    assert_eq!((again.run, again.resumed), (Some(run), true));
    assert_eq!(store.run(run).await.expect("run").status, RunStatus::Complete);
    assert!(again.cached > 0, "what the cancelled run embedded is not embedded again: {again:?}");

    // Cancelled again, then another chunk cap: a new run; the old one fails.
    let third = indexer(512, true);
    let Err(IndexError::Cancelled { run: stopped }) = third.run(&store).await else { panic!("not cancelled") };
    let other = indexer(256, false);
    assert_ne!(other.fingerprint(), third.fingerprint());
    let fresh = other.run(&store).await.expect("index");
    assert!(!fresh.resumed);
    assert_ne!(fresh.run, Some(stopped));
    assert_eq!(store.run(stopped).await.expect("run").status, RunStatus::Failed);
}

#[test]
fn a_drift_rule_domain_missing_from_the_taxonomy_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("app.py"), "import threading\n").expect("write");
    std::fs::write(dir.path().join("pyatlas.toml"), "[classifier.domains.concurrency]\nenabled = false\n")
        .expect("write");
    let error = Indexer::builder(dir.path()).build().expect_err("concurrency is disabled");
    let IndexError::Intent(pyatlas_intent_tags::ConfigError { path, message, .. }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path, Path::new("pyatlas.toml"));
    assert!(message.contains("intent.domains.concurrency") && message.contains("`concurrency`"), "{message}");

    // Naming a domain the project has puts it right.
    std::fs::write(
        dir.path().join("pyatlas.toml"),
        "[classifier.domains.concurrency]\nenabled = false\n\n[classifier.domains.parallelism]\nimports = [\"threading\"]\n\n[intent.domains]\nconcurrency = \"parallelism\"\n",
    )
    .expect("write");
    assert!(Indexer::builder(dir.path()).build().is_ok());
}

#[test]
fn an_unreadable_root_is_an_error_naming_it() {
    let error = Indexer::builder("/nonexistent/pyatlas/root").build().expect_err("no such root");
    assert!(error.to_string().contains("/nonexistent/pyatlas/root"), "{error}");
}
