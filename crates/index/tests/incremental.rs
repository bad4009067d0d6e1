//! Incremental runs equal cold ones. Random sequences of edits (add,
//! delete, modify, rename, touch, same-size edits) on a real tree (three
//! packages of the machine's standard library, with layers declared so that
//! imports between them are drift findings): after each step, the
//! incremental run's rows (files, units, tags, chunks, edges, findings,
//! contracts) and vectors must equal those of a cold run of the same tree,
//! and exactly the files whose content changed must have been parsed; in
//! memory, and in a real PostgreSQL with pgvector (`DATABASE_URL`;
//! `scripts/test` starts one), where exactly the changed files' rows must
//! have been written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use pyatlas_embed::{EmbeddingCache as _, TextHash};
use pyatlas_index::{FileCache, FileRows, Indexer, MemoryTarget, RunRows};
use pyatlas_store::{RunId, Store, StoreConfig};

const PACKAGES: [&str; 3] = ["json", "http", "urllib"];

fn stdlib() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The tree: the packages, and layers (`http` above `urllib` above `json`).
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let std = stdlib();
    for package in PACKAGES {
        std::fs::create_dir(dir.path().join(package)).expect("a package folder");
        for entry in std::fs::read_dir(std.join(package)).expect("the package") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "py") {
                std::fs::copy(&path, dir.path().join(package).join(path.file_name().expect("a name"))).expect("copied");
            }
        }
    }
    std::fs::write(
        dir.path().join("pyatlas.toml"),
        "[intent]\nlayers = [\"http\", \"urllib\", \"json\"]\n\n[intent.layer_modules]\n\
         http = [\"http\", \"http.*\"]\nurllib = [\"urllib\", \"urllib.*\"]\njson = [\"json\", \"json.*\"]\n",
    )
    .expect("pyatlas.toml");
    dir
}

/// The tree's Python files: path (relative) -> content.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for package in std::fs::read_dir(root).expect("the root") {
        let package = package.expect("an entry").path();
        if !package.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&package).expect("a package") {
            let path = file.expect("an entry").path();
            let rel = path.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/");
            files.insert(rel, std::fs::read(&path).expect("readable"));
        }
    }
    files
}

#[derive(Clone, Debug)]
enum Edit {
    /// Appends to file `a` a function tagged `tag`, which calls the first
    /// function of file `b` through an import of its module.
    Modify {
        a: usize,
        b: usize,
        tag: &'static str,
    },
    /// A new module next to file `a`, importing file `b`'s module.
    Add {
        a: usize,
        b: usize,
        salt: u32,
    },
    Delete {
        a: usize,
    },
    Rename {
        a: usize,
        salt: u32,
    },
    /// Writes the same bytes again (a new time, the same content).
    Touch {
        a: usize,
    },
    /// Changes one letter: the same size, maybe the same time.
    SameSize {
        a: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let tag = prop_oneof![Just("@intent:pure"), Just("@intent:parallel"), Just("@layer:json"), Just("@owner:web")];
    prop_oneof![
        (any::<usize>(), any::<usize>(), tag).prop_map(|(a, b, tag)| Edit::Modify { a, b, tag }),
        (any::<usize>(), any::<usize>(), any::<u32>()).prop_map(|(a, b, salt)| Edit::Add { a, b, salt }),
        any::<usize>().prop_map(|a| Edit::Delete { a }),
        (any::<usize>(), any::<u32>()).prop_map(|(a, salt)| Edit::Rename { a, salt }),
        any::<usize>().prop_map(|a| Edit::Touch { a }),
        any::<usize>().prop_map(|a| Edit::SameSize { a }),
    ]
}

fn module_of(rel: &str) -> String {
    rel.trim_end_matches(".py").trim_end_matches("/__init__").replace('/', ".")
}

fn first_function(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix("def ")).and_then(|rest| rest.split('(').next()).map(str::to_owned)
}

/// Applies `edit` to the tree (`__init__.py` files are only modified).
fn apply(root: &Path, edit: &Edit) {
    let files: Vec<(String, Vec<u8>)> = snapshot(root).into_iter().collect();
    let plain: Vec<&(String, Vec<u8>)> = files.iter().filter(|(p, _)| !p.ends_with("__init__.py")).collect();
    let pick = |i: usize| &files[i % files.len()];
    match *edit {
        Edit::Modify { a, b, tag } => {
            let (path, text) = pick(a);
            let (other, other_text) = pick(b);
            let callee = first_function(&String::from_utf8_lossy(other_text)).unwrap_or_else(|| "len".to_owned());
            let module = module_of(other);
            let mut text = text.clone();
            text.extend_from_slice(
                format!("\n\nimport {module}\n\n\n# {tag}\ndef added_{a}():\n    return {module}.{callee}()\n")
                    .as_bytes(),
            );
            std::fs::write(root.join(path), text).expect("modified");
        }
        Edit::Add { a, b, salt } => {
            let (path, _) = pick(a);
            let folder = Path::new(path).parent().expect("in a package");
            let module = module_of(&pick(b).0);
            let text = format!("import {module}\n\n\ndef use_{salt}(x):\n    return {module}.__name__, x\n");
            std::fs::write(root.join(folder).join(format!("added_{salt}.py")), text).expect("added");
        }
        Edit::Delete { a } if !plain.is_empty() => {
            std::fs::remove_file(root.join(&plain[a % plain.len()].0)).expect("deleted");
        }
        Edit::Rename { a, salt } if !plain.is_empty() => {
            let path = root.join(&plain[a % plain.len()].0);
            std::fs::rename(&path, path.with_file_name(format!("renamed_{salt}.py"))).expect("renamed");
        }
        Edit::Touch { a } => {
            let (path, text) = pick(a);
            std::fs::write(root.join(path), text).expect("touched");
        }
        Edit::SameSize { a } => {
            let (path, text) = pick(a);
            let mut text = text.clone();
            if let Some(at) = text.iter().position(u8::is_ascii_lowercase) {
                text[at] = if text[at] == b'z' { b'a' } else { text[at] + 1 };
            }
            std::fs::write(root.join(path), text).expect("edited");
        }
        Edit::Delete { .. } | Edit::Rename { .. } => {}
    }
}

/// Each file's rows in a run.
fn rows_by_path(run: &RunRows) -> HashMap<String, FileRows> {
    let mut by_path: HashMap<String, FileRows> = run
        .files
        .iter()
        .map(|f| (f.path.clone(), FileRows { file: f.clone(), units: vec![], chunks: vec![], tags: vec![] }))
        .collect();
    for unit in &run.units {
        by_path.get_mut(&unit.path).expect("its file").units.push(unit.clone());
    }
    for chunk in &run.chunks {
        by_path.get_mut(&chunk.path).expect("its file").chunks.push(chunk.clone());
    }
    for tag in &run.tags {
        by_path.get_mut(&tag.path).expect("its file").tags.push(tag.clone());
    }
    by_path
}

/// A run's rows without its info (times, summary).
fn rows(target: &MemoryTarget) -> RunRows {
    target.take_rows().expect("the run's rows")
}

fn assert_same(incremental: &RunRows, cold: &RunRows) {
    assert_eq!(incremental.files, cold.files, "files");
    assert_eq!(incremental.units, cold.units, "units");
    assert_eq!(incremental.tags, cold.tags, "tags");
    assert_eq!(incremental.chunks, cold.chunks, "chunks");
    assert_eq!(incremental.edges, cold.edges, "edges");
    assert_eq!(incremental.findings, cold.findings, "findings");
    assert_eq!(incremental.contracts, cold.contracts, "contracts");
}

async fn vectors(target: &MemoryTarget, indexer: &Indexer, rows: &RunRows) -> Vec<Option<Vec<f32>>> {
    let hashes: Vec<TextHash> = rows.chunks.iter().map(|c| TextHash::of(&c.text)).collect();
    let dimensions = indexer.embedder().spec().dimensions;
    target.cache().get_many(indexer.embedder().model_id(), dimensions, &hashes).await.expect("the vectors")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn incremental_runs_equal_cold_runs(edits in proptest::collection::vec(edit(), 1..5), keep_rows in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let dir = tree();
            let indexer = Indexer::builder(dir.path()).build().expect("an indexer");
            let target = MemoryTarget::new();
            // Rows kept in the cache, or taken from the last run's (as a live map does).
            let mut cache = if keep_rows { FileCache::new() } else { FileCache::without_rows() };
            let first = indexer.run_incremental(&target, &mut cache).await.expect("the first run");
            assert_eq!(first.reused, 0, "an empty cache reuses nothing");
            let mut last = rows(&target);
            // The layers make urllib.request's import of http.client a finding.
            let mut findings_seen = last.findings.len();
            for edit in &edits {
                let before = snapshot(dir.path());
                apply(dir.path(), edit);
                let after = snapshot(dir.path());
                let changed = after.iter().filter(|&(path, text)| before.get(path) != Some(text)).count() as u64;

                if !keep_rows {
                    let by_path = rows_by_path(&last);
                    cache.set_row_source(Arc::new(move |path: &str| by_path.get(path).cloned()));
                }
                let summary = indexer.run_incremental(&target, &mut cache).await.expect("an incremental run");
                let incremental = rows(&target);
                let cold_target = MemoryTarget::new();
                let cold = Indexer::builder(dir.path()).build().expect("an indexer").run(&cold_target).await.expect("a cold run");
                let cold_rows = rows(&cold_target);
                assert_same(&incremental, &cold_rows);
                assert_eq!(summary.edges, cold.edges, "{edit:?}");
                assert_eq!(summary.calls, cold.calls, "{edit:?}");
                assert_eq!(summary.files - summary.reused, changed, "only what changed is parsed ({edit:?})");
                assert_eq!(cache.len() as u64, summary.files, "the cache holds the tree's files");
                let (ours, theirs) = (vectors(&target, &indexer, &incremental).await, vectors(&cold_target, &indexer, &cold_rows).await);
                assert!(ours.iter().all(Option::is_some), "every chunk has its vector");
                let differ: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != theirs.get(i).cloned().flatten()).collect();
                assert!(differ.is_empty(), "vectors differ at {differ:?} of {}: {:?} against {:?}", ours.len(),
                    differ.first().map(|&i| &incremental.chunks[i].text[..60.min(incremental.chunks[i].text.len())]),
                    differ.first().map(|&i| { let (a, b) = (ours[i].clone().unwrap_or_default(), theirs[i].clone().unwrap_or_default()); (a.len(), b.len(), a.iter().zip(&b).enumerate().filter(|(_, (x, y))| x != y).map(|(k, (x, y))| (k, *x, *y)).take(5).collect::<Vec<_>>()) }));
                findings_seen += incremental.findings.len();
                last = incremental;
            }
            assert!(findings_seen > 0, "the tree has drift findings to keep right");
        });
    }
}

/// A run into the store: with the process's cache, or as a new process.
async fn index(indexer: &Indexer, store: &Store, cache: Option<&mut FileCache>) -> pyatlas_index::IndexSummary {
    match cache {
        Some(cache) => indexer.run_incremental(store, cache).await,
        None => indexer.run(store).await,
    }
    .expect("a run")
}

async fn store(test: &str) -> (Store, tokio_postgres::Client) {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "the store's incremental test needs a PostgreSQL with pgvector: set DATABASE_URL=postgres://... \
             or run scripts/test, which starts one"
        )
    });
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("inc_{test}_{}_{nanos}", std::process::id());
    let store = Store::connect(StoreConfig::new(&url).expect("DATABASE_URL").schema(&schema)).await.expect("connect");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.batch_execute(&format!("SET search_path TO {schema}, public")).await.expect("schema");
    (store, client)
}

/// Everything a stored run holds, each row as JSON without its run: files,
/// units, chunks (and whether each has its vector), tags, edges, findings,
/// lexeme counts, contract verdicts.
async fn stored(client: &tokio_postgres::Client, run: RunId) -> Vec<String> {
    let mut all = Vec::new();
    for view in ["files", "units", "chunks", "tags", "edges", "findings", "lexeme_frequencies"] {
        let query = format!(
            "SELECT '{view} ' || (to_jsonb(x) - 'run_id' - 'name_lexemes')::text FROM {view} x WHERE run_id = $1"
        );
        all.extend(client.query(&query, &[&run]).await.expect("a view").iter().map(|r| r.get::<_, String>(0)));
    }
    let vectors = "SELECT 'vector ' || c.id || ' ' || (e.chunk_id IS NOT NULL)::text
                   FROM chunks c JOIN runs r ON r.id = c.run_id
                   LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model_id = r.model_id WHERE c.run_id = $1";
    let contracts = "SELECT 'contracts ' || coalesce(contracts::text, 'none') FROM runs WHERE id = $1";
    for query in [vectors, contracts] {
        all.extend(client.query(query, &[&run]).await.expect("a query").iter().map(|r| r.get::<_, String>(0)));
    }
    all.sort();
    all
}

/// Rows of files that `run` wrote.
async fn files_written(client: &tokio_postgres::Client, run: RunId) -> i64 {
    client.query_one("SELECT count(*) FROM file_rows WHERE from_run = $1", &[&run]).await.expect("count").get(0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    /// In the store, with or without the process's cache: a new process
    /// knows nothing but what the store holds.
    #[test]
    fn stored_incremental_runs_equal_cold_runs(edits in proptest::collection::vec(edit(), 1..5), in_process in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let dir = tree();
            let (store, client) = store(&format!("{in_process}")).await;
            let indexer = Indexer::builder(dir.path()).project("live").build().expect("an indexer");
            let mut cache = FileCache::new();
            let first = index(&indexer, &store, in_process.then_some(&mut cache)).await;
            assert_eq!(first.carried, 0, "an empty store carries nothing");
            for (step, edit) in edits.iter().enumerate() {
                let before = snapshot(dir.path());
                apply(dir.path(), edit);
                let after = snapshot(dir.path());
                let changed = after.iter().filter(|&(path, text)| before.get(path) != Some(text)).count() as u64;
                let summary = index(&indexer, &store, in_process.then_some(&mut cache)).await;
                let id = summary.run.expect("a stored run");
                let cold_indexer = Indexer::builder(dir.path()).project(format!("cold-{step}")).build().expect("an indexer");
                let cold = cold_indexer.run(&store).await.expect("a cold run").run.expect("a stored run");
                assert_eq!(stored(&client, id).await, stored(&client, cold).await, "{edit:?}");
                assert_eq!(summary.files - summary.carried, changed, "only what changed is sent ({edit:?})");
                // A new process reads the others' facts back from the store.
                assert_eq!(summary.files - summary.reused, changed, "only what changed is parsed ({edit:?})");
                assert_eq!(files_written(&client, id).await as u64, changed, "only what changed is written ({edit:?})");
            }
        });
    }
}

/// Facts the store lacks (rows from before schema 11) or cannot use
/// (damaged) make a file parsed again, never wrong, and are set again, so
/// that the next run reads them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_damaged_facts_are_parsed_again_and_set() {
    let dir = tree();
    let (store, client) = store("facts").await;
    let indexer = Indexer::builder(dir.path()).project("facts").build().expect("an indexer");
    let first = indexer.run(&store).await.expect("the first run");
    let files = first.files;
    assert_eq!(indexer.run(&store).await.expect("a run").reused, files, "every file's facts read back");
    client.batch_execute("UPDATE file_rows SET facts = NULL").await.expect("facts dropped");
    client
        .batch_execute(
            "UPDATE file_rows SET facts = decode('7079617466', 'hex') || facts
             WHERE path IN (SELECT path FROM file_rows ORDER BY path LIMIT 3)",
        )
        .await
        .expect("facts damaged");
    let summary = indexer.run(&store).await.expect("a run without facts");
    assert_eq!((summary.reused, summary.carried), (0, files), "parsed again, and nothing else written");
    let set: i64 = client
        .query_one(
            "SELECT count(*) FROM file_rows WHERE facts IS NOT NULL AND until_run > $1",
            &[&summary.run.expect("a run").get()],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(set as u64, files, "the facts were set again");
    // Damaged in place: a cut body, a unit index out of range.
    client
        .batch_execute(
            "UPDATE file_rows SET facts = substring(facts FROM 1 FOR length(facts) - 5)
             WHERE path IN (SELECT path FROM file_rows ORDER BY path LIMIT 2)",
        )
        .await
        .expect("facts cut");
    let summary = indexer.run(&store).await.expect("a run with damaged facts");
    assert_eq!(summary.reused, files - 2, "the two damaged files parsed again");
    let again = indexer.run(&store).await.expect("a run after that");
    assert_eq!(again.reused, files, "and their facts set again");
    let id = again.run.expect("a stored run");
    let cold = Indexer::builder(dir.path()).project("facts-cold").build().expect("an indexer");
    let cold = cold.run(&store).await.expect("a cold run").run.expect("a stored run");
    assert_eq!(stored(&client, id).await, stored(&client, cold).await);
}

/// A run cut at any point (its future dropped: its connections close, as
/// when the process is killed) leaves the store consistent: the next run
/// resumes it and holds what a cold run of the tree holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_anywhere_is_resumed_into_what_a_cold_run_holds() {
    let dir = tree();
    let (store, client) = store("cut").await;
    let indexer = Indexer::builder(dir.path()).project("cut").build().expect("an indexer");
    indexer.run(&store).await.expect("the first run");
    // The cuts fall across a whole run of one edit, however fast this
    // machine runs it (a new process reuses the facts the store keeps).
    apply(dir.path(), &Edit::Modify { a: 1, b: 2, tag: "@intent:pure" });
    let clock = std::time::Instant::now();
    indexer.run(&store).await.expect("a run of one edit");
    let whole = clock.elapsed();
    let mut cut = 0;
    for (round, share) in [0.02, 0.1, 0.25, 0.4, 0.6, 0.8, 1.0].into_iter().enumerate() {
        apply(dir.path(), &Edit::Modify { a: round * 7, b: round * 3 + 1, tag: "@intent:pure" });
        let millis = whole.mul_f64(share).as_millis();
        let attempt = tokio::time::timeout(whole.mul_f64(share), indexer.run(&store)).await;
        cut += u32::from(attempt.is_err());
        let summary = indexer.run(&store).await.expect("the run after the cut");
        let id = summary.run.expect("a stored run");
        let cold = Indexer::builder(dir.path()).project(format!("cold-{round}")).build().expect("an indexer");
        let cold = cold.run(&store).await.expect("a cold run").run.expect("a stored run");
        assert_eq!(stored(&client, id).await, stored(&client, cold).await, "cut after {millis} ms");
    }
    assert!(cut >= 3, "most runs were cut before they completed ({cut})");
    let running: i64 =
        client.query_one("SELECT count(*) FROM runs WHERE status = 'running'", &[]).await.expect("the runs").get(0);
    assert_eq!(running, 0, "every cut run was resumed and completed");
}

#[test]
fn a_watch_reports_the_saves_of_python_files_once_quiet() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir(dir.path().join("pkg")).expect("a package");
    std::fs::create_dir(dir.path().join(".git")).expect("a hidden folder");
    let (sender, receiver) = std::sync::mpsc::channel();
    let watch = pyatlas_index::watch(dir.path(), std::time::Duration::from_millis(200), move |paths| {
        let _ = sender.send(paths);
    })
    .expect("a watch");
    std::fs::write(dir.path().join("notes.txt"), "not Python\n").expect("written");
    std::fs::write(dir.path().join(".git/hook.py"), "hidden = 1\n").expect("written");
    std::fs::write(dir.path().join("pkg/a.py"), "x = 1\n").expect("written");
    std::fs::write(dir.path().join("pkg/a.py"), "x = 2\n").expect("written again");
    let paths = receiver.recv_timeout(std::time::Duration::from_secs(30)).expect("a report of the burst");
    assert!(paths.iter().any(|p| p.ends_with("pkg/a.py")), "{paths:?}");
    assert_eq!(paths.iter().filter(|p| p.ends_with("pkg/a.py")).count(), 1, "each path once: {paths:?}");
    assert!(paths.iter().all(|p| !p.ends_with("notes.txt") && !p.ends_with("hook.py")), "{paths:?}");
    drop(watch);
}
