//! The store against a real PostgreSQL with pgvector (`DATABASE_URL`;
//! `scripts/test` starts one). Each test works in a schema of its own.

use std::time::Duration;

use pyatlas_chunker::{ChunkId, ChunkKind};
use pyatlas_embed::{CachedEmbedder, Embedder, EmbedderSpec, EmbeddingCache as _, HashEmbedder, TextHash};
use pyatlas_graph::EdgeKind;
use pyatlas_intent_tags::{RuleId, Severity};
use pyatlas_parser::UnitKind;
use pyatlas_store::{
    ChunkRow, EdgeRow, FileRow, FindingRow, RunId, RunSpec, RunStatus, SearchMode, SearchQuery, Store, StoreConfig,
    StoreError, TagRow, UnitRow,
};

const DIMS: usize = 64;

fn config(test: &str) -> StoreConfig {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "the store tests need a PostgreSQL with pgvector: set DATABASE_URL=postgres://... \
             or run scripts/test, which starts one"
        )
    });
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("t_{test}_{}_{nanos}", std::process::id()))
}

async fn store(test: &str) -> Store {
    Store::connect(config(test)).await.expect("connect and migrate")
}

fn embedder() -> HashEmbedder {
    HashEmbedder::new(DIMS).expect("dims")
}

fn chunk(path: &str, qualname: &str, body: &str) -> ChunkRow {
    let text = format!("# {path}\ndef {qualname}():\n    {body}\n");
    ChunkRow {
        id: ChunkId::of(&text),
        path: path.into(),
        qualnames: vec![qualname.into()],
        kind: ChunkKind::Function,
        start_line: 1,
        end_line: 2,
        token_count: 10,
        text,
        domains: if body.contains("select") { vec!["database".into()] } else { vec![] },
        metadata: serde_json::json!({}),
    }
}

fn file(path: &str, hash: &str) -> FileRow {
    FileRow {
        path: path.into(),
        module: path.trim_end_matches(".py").replace('/', "."),
        content_hash: hash.into(),
        lines: 3,
        source: format!("# {hash}\n"),
        facts: None,
    }
}

/// Writes `chunks` with their hash embeddings into a new run and completes it.
async fn index(store: &Store, project: &str, files: &[FileRow], chunks: &[ChunkRow]) -> RunId {
    let run = store.begin_run(RunSpec::for_embedder(project, &embedder())).await.expect("run");
    run.add_files(files).await.expect("files");
    run.add_chunks(chunks).await.expect("chunks");
    let vectors: Vec<(ChunkId, Vec<f32>)> =
        chunks.iter().map(|c| (c.id.clone(), embedder().embed_text(&c.text))).collect();
    let refs: Vec<(ChunkId, &[f32])> = vectors.iter().map(|(id, v)| (id.clone(), v.as_slice())).collect();
    store.put_embeddings(embedder().model_id(), DIMS, &refs).await.expect("embeddings");
    run.complete(serde_json::json!({ "chunks": chunks.len() })).await.expect("complete").id
}

async fn count(store: &Store, table: &str) -> i64 {
    // Test-only, on a table name of ours.
    let url = std::env::var("DATABASE_URL").expect("url");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.query_one(&format!("SELECT count(*) FROM {}.{table}", store.schema()), &[]).await.expect("count").get(0)
}

#[tokio::test]
async fn migrations_are_idempotent_and_safe_in_parallel() {
    let config = config("migrations");
    let (a, b) = tokio::join!(Store::connect(config.clone()), Store::connect(config.clone()));
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.schema_version().await.expect("version"), 11);
    assert_eq!(b.migrate().await.expect("again"), Vec::<i32>::new());
    assert!(!format!("{config:?}").contains("password="), "{config:?}");
}

#[tokio::test]
async fn a_version_1_database_is_migrated_with_its_runs_and_edges() {
    let config = config("upgrade");
    let schema = config.schema_name().to_owned();
    let url = std::env::var("DATABASE_URL").expect("url");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    // The schema as version 1 left it, with a run of each embedder family.
    let v1 = include_str!("../migrations/0001_init.sql");
    client
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS vector SCHEMA public; CREATE SCHEMA {schema};
             SET search_path TO {schema}, public; {v1}
             CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version, name) VALUES (1, 'init');
             INSERT INTO projects (name) VALUES ('old');
             INSERT INTO runs (project_id, config_fingerprint, model_id, dimensions, status, summary) VALUES
                 (1, 'f', 'pyatlas-hash-v1-384', 384, 'complete', '{{}}'),
                 (1, 'f', 'text-embedding-3-small@api.openai.com', 256, 'complete', '{{\"dimensions_requested\": true}}');
             INSERT INTO edges (run_id, kind, source, target, line) VALUES
                 (1, 'import', 'a', 'b', 3), (1, 'import', 'a', 'b', 1), (1, 'import', 'a', 'c', 0);
             INSERT INTO chunk_texts (id, text, token_count) VALUES ('x', 'def from_envvar(): pass', 5);
             RESET search_path;"
        ))
        .await
        .expect("a version 1 schema");
    let store = Store::connect(config).await.expect("migrate");
    assert_eq!(store.schema_version().await.expect("version"), 11);
    // Version 3 gives the chunks of older runs their code lexemes too.
    let found: bool = client
        .query_one(&format!("SELECT lexemes @@ to_tsquery('simple', 'fromenvvar') FROM {schema}.chunk_texts"), &[])
        .await
        .expect("lexemes")
        .get(0);
    assert!(found);
    let runs = store.runs("old").await.expect("runs");
    assert_eq!(runs[1].embedder, EmbedderSpec::hash(384));
    assert_eq!(runs[0].embedder, EmbedderSpec::openai("text-embedding-3-small", 256, true));
    let edges = store.edges(runs[1].id, EdgeKind::Import).await.expect("edges");
    let summary: Vec<(&str, &[u32])> = edges.iter().map(|e| (e.target.as_str(), e.lines.as_slice())).collect();
    assert_eq!(summary, [("b", &[1, 3][..]), ("c", &[][..])]);
}

#[test]
fn run_statuses_and_ids_refuse_unknown_text() {
    assert_eq!("complete".parse::<RunStatus>(), Ok(RunStatus::Complete));
    assert!("runnning".parse::<RunStatus>().is_err(), "a typo is not `running`");
    assert_eq!(RunStatus::Failed.to_string(), "failed");
    assert_eq!("42".parse::<RunId>().map(RunId::get), Ok(42));
    assert!("4x".parse::<RunId>().is_err());
}

#[tokio::test]
async fn ingest_is_idempotent_and_survives_hostile_text() {
    let store = store("ingest").await;
    let hostile = "x'); DROP TABLE runs; --.py";
    let chunks = vec![
        chunk("app/db.py", "load", "return db.select('users')"),
        chunk(hostile, "evil", "return \"'; DELETE FROM chunks; --\""),
        chunk("app/nul.py", "nul", "return 'a\0b'"),
    ];
    let files = vec![file("app/db.py", "h1"), file(hostile, "h2"), file("app/nul.py", "h3")];
    let run = store.begin_run(RunSpec::for_embedder("ingest", &embedder())).await.expect("run");
    let first = run.add_chunks(&chunks).await.expect("chunks");
    assert_eq!(first.nul_replaced, 1);
    run.add_chunks(&chunks).await.expect("twice");
    run.add_files(&files).await.expect("files");
    run.add_files(&files).await.expect("files twice");
    run.complete(serde_json::json!({})).await.expect("complete");
    assert_eq!(count(&store, "chunks").await, 3);
    assert_eq!(count(&store, "chunk_texts").await, 3);
    assert_eq!(count(&store, "files").await, 3);
    assert_eq!(count(&store, "runs").await, 1, "the hostile path dropped nothing");
}

#[tokio::test]
async fn invalid_vectors_are_refused_before_sending() {
    let store = store("validate").await;
    let good = vec![0.5f32; DIMS];
    let short = vec![0.5f32; DIMS - 1];
    let mut nan = vec![0.5f32; DIMS];
    nan[3] = f32::NAN;
    let id = |text: &str| ChunkId::of(text);
    let rows = [(id("a"), &good[..]), (id("b"), &short[..]), (id("c"), &nan[..])];
    let report = store.put_embeddings("m", DIMS, &rows).await.expect("put");
    assert_eq!(report.sent, 1);
    assert_eq!(report.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2]);
    assert!(report.rejected[1].reason.contains("non-finite value at 3"), "{:?}", report.rejected);
    let found = store.get_embeddings("m", DIMS, &[id("a"), id("b")]).await.expect("get");
    assert_eq!(found[0].as_deref(), Some(&good[..]));
    assert_eq!(found[1], None);
}

#[tokio::test]
async fn search_finds_by_vector_and_filters() {
    let store = store("search").await;
    let chunks = vec![
        chunk("app/db.py", "load_users", "return db.select('users')"),
        chunk("app/net.py", "fetch_page", "return http.get(url)"),
        chunk("lib/cache.py", "cache_users", "return cache.store(users)"),
    ];
    let files: Vec<FileRow> = chunks.iter().map(|c| file(&c.path, "h")).collect();
    let run = index(&store, "search", &files, &chunks).await;
    let probe = embedder().embed_text("load users");
    let hits = store.search(&SearchQuery::new("search", probe.clone()).k(3)).await.expect("search");
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0].qualnames, ["load_users"]);
    assert!(hits[0].score > hits[2].score);
    let exact =
        store.search(&SearchQuery::new("search", embedder().embed_text(&chunks[1].text)).k(1)).await.expect("s");
    assert_eq!(exact[0].id, chunks[1].id);
    assert!((exact[0].score - 1.0).abs() < 1e-5, "{}", exact[0].score);

    let filtered = store.search(&SearchQuery::new("search", probe.clone()).path_prefix("lib/")).await.expect("s");
    assert_eq!(filtered.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(), ["lib/cache.py"]);
    let by_domain = store.search(&SearchQuery::new("search", probe.clone()).domain("database")).await.expect("s");
    assert_eq!(by_domain.len(), 1);
    assert!(
        store.search(&SearchQuery::new("search", probe.clone()).kind(ChunkKind::Class)).await.expect("s").is_empty()
    );
    let by_run = store.search(&SearchQuery::new("search", probe.clone()).run(run).k(2)).await.expect("s");
    assert_eq!(by_run.len(), 2);

    let hybrid = store.search(&SearchQuery::new("search", probe).hybrid("fetch_page").k(3)).await.expect("s");
    assert_eq!(hybrid[0].qualnames, ["fetch_page"], "the text match is fused in: {hybrid:?}");

    let wrong = store.search(&SearchQuery::new("search", vec![1.0; 3])).await.expect_err("wrong size");
    assert!(matches!(wrong, StoreError::InvalidQuery { .. }), "{wrong}");
}

#[tokio::test]
async fn lexical_search_ranks_any_word_splits_identifiers_and_names_come_first() {
    let store = store("lexical").await;
    let doc = |path: &str, qualname: &str, docstring: &str, body: &str| {
        let mut c = chunk(path, qualname, body);
        c.text = format!("# {path}\ndef {qualname}():\n    \"\"\"{docstring}\"\"\"\n    {body}\n");
        c.id = ChunkId::of(&c.text);
        c
    };
    let mut parts = vec![
        doc(
            "cfg.py",
            "Config.from_envvar",
            "Load the settings from a file named by a variable.",
            "return self.from_pyfile(os.environ[name])",
        ),
        doc(
            "sessions.py",
            "SecureCookieSessionInterface.get_signing_serializer",
            "The serializer that signs cookies.",
            "return URLSafeTimedSerializer(key)",
        ),
        doc("views.py", "render_page", "Render a page.", "return template.render(page)"),
        doc("big.py", "split_function", "A long function.", "first_half()"),
    ];
    // The second part of the split function: same file, same qualname.
    let mut second = doc("big.py", "split_function", "A long function.", "second_half()");
    second.start_line = 40;
    parts.push(second);
    let files: Vec<FileRow> = parts.iter().map(|c| file(&c.path, &c.id.to_string())).collect();
    index(&store, "lexical", &files, &parts).await;
    let lexical =
        |text: &str| SearchQuery::new("lexical", embedder().embed_text(text)).mode(SearchMode::Lexical, text).k(3);

    // Not every word needs to match, and prose words are stemmed: "signed" finds "signs".
    let hits = store.search(&lexical("how are session cookies signed")).await.expect("search");
    assert_eq!(hits[0].qualnames, ["SecureCookieSessionInterface.get_signing_serializer"], "{hits:?}");
    // Identifiers are split: "envvar" is a word of `from_envvar`.
    let hits = store.search(&lexical("load settings from an envvar")).await.expect("search");
    assert_eq!(hits[0].qualnames, ["Config.from_envvar"], "{hits:?}");
    // An exact name is the top hit, in lexical and hybrid modes alike.
    for mode in [SearchMode::Lexical, SearchMode::Hybrid] {
        let query = SearchQuery::new("lexical", embedder().embed_text("render_page")).mode(mode, "render_page").k(2);
        assert_eq!(store.search(&query).await.expect("search")[0].qualnames, ["render_page"], "{mode:?}");
    }
    let dotted = store.search(&lexical("Config.from_envvar")).await.expect("search");
    assert_eq!(dotted[0].qualnames, ["Config.from_envvar"]);
    // The two parts of one unit come back as one hit.
    let hits = store.search(&lexical("long function half").k(5)).await.expect("search");
    assert_eq!(hits.iter().filter(|h| h.qualnames == ["split_function"]).count(), 1, "{hits:?}");
    // Filters still apply.
    let none = store.search(&lexical("render page").path_prefix("cfg")).await.expect("search");
    assert!(none.iter().all(|h| h.path.starts_with("cfg")), "{none:?}");
    // Words that are all stop words find nothing, and fail nothing.
    assert!(store.search(&lexical("the of and")).await.expect("search").is_empty());
}

#[tokio::test]
async fn stored_lexeme_frequencies_rank_as_counting_them_does() {
    let store = store("frequencies").await;
    // Lines of the standard library's `json` package, a chunk each.
    let out = std::process::Command::new("python3")
        .args(["-c", "import json, os; print(os.path.dirname(json.__file__))"])
        .output()
        .expect("python3");
    let package = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut chunks = Vec::new();
    for module in ["decoder", "encoder", "scanner"] {
        let source = std::fs::read_to_string(package.join(format!("{module}.py"))).expect("a module");
        for (line, i) in source.lines().filter(|l| !l.trim().is_empty()).zip(1u32..) {
            let mut c = chunk(&format!("{module}.py"), &format!("line_{i}"), line.trim());
            (c.start_line, c.end_line) = (i, i);
            chunks.push(c);
        }
    }
    let files: Vec<FileRow> = ["decoder.py", "encoder.py", "scanner.py"].iter().map(|p| file(p, p)).collect();
    let run = store.begin_run(RunSpec::for_embedder("frequencies", &embedder())).await.expect("run");
    let id = run.id();
    run.add_files(&files).await.expect("files");
    assert!(run.add_chunks(&chunks).await.expect("chunks").rejected.is_empty());
    let queries = ["decode a json object", "encoder", "self", "return None", "scan_once string", "no such words"];
    let ranked = |store: Store| async move {
        let mut all = Vec::new();
        for text in queries {
            let query = SearchQuery::new("frequencies", embedder().embed_text(text))
                .run(id)
                .mode(SearchMode::Lexical, text)
                .k(40);
            let hits = store.search(&query).await.expect("search");
            all.push(hits.into_iter().map(|h| (h.id, h.start_line, h.score)).collect::<Vec<_>>());
        }
        all
    };
    // Running: every search counts the frequencies; complete: it reads them.
    let counted = ranked(store.clone()).await;
    run.complete(serde_json::json!({ "chunks": chunks.len() })).await.expect("complete");
    assert!(count(&store, "lexeme_frequencies").await > 100, "the run's lexemes are counted");
    let stored = ranked(store.clone()).await;
    // The same hits in the same order, with the same scores up to the
    // order in which PostgreSQL sums a chunk's terms (the last bit).
    let places = |all: &[Vec<(ChunkId, u32, f64)>]| -> Vec<Vec<(ChunkId, u32)>> {
        all.iter().map(|hits| hits.iter().map(|(id, line, _)| (id.clone(), *line)).collect()).collect()
    };
    assert_eq!(places(&counted), places(&stored));
    for (a, b) in counted.iter().flatten().zip(stored.iter().flatten()) {
        assert!((a.2 - b.2).abs() <= 1e-12 * a.2.abs(), "{a:?} scores as {b:?}");
    }
    assert!(counted.iter().filter(|hits| hits.len() > 10).count() >= 3, "common words match many chunks: {counted:?}");
    assert!(counted.last().is_some_and(Vec::is_empty), "words no chunk holds find nothing");
}

#[tokio::test]
async fn runs_become_visible_only_when_complete() {
    let store = store("atomic").await;
    let chunks = vec![chunk("a.py", "f", "pass")];
    let run = store.begin_run(RunSpec::for_embedder("atomic", &embedder())).await.expect("run");
    run.add_chunks(&chunks).await.expect("chunks");
    let probe = embedder().embed_text("f");
    let error = store.search(&SearchQuery::new("atomic", probe.clone())).await.expect_err("nothing complete");
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");

    // A second writer of the project waits for the first.
    let second = {
        let store = store.clone();
        tokio::spawn(async move { store.begin_run(RunSpec::for_embedder("atomic", &embedder())).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    if second.is_finished() {
        panic!("the project is locked while a run writes: {:?}", second.await.expect("join"));
    }
    let done = run.complete(serde_json::json!({})).await.expect("complete");
    assert_eq!(done.status, RunStatus::Complete);
    let second = second.await.expect("join").expect("second run");
    assert!(!second.resumed());
    assert_ne!(second.id(), done.id);
    assert_eq!(store.latest_complete_run("atomic").await.expect("latest").id, done.id);
    second.fail("test").await.expect("fail");
    let runs = store.runs("atomic").await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.status).collect::<Vec<_>>(), [RunStatus::Failed, RunStatus::Complete]);
}

#[tokio::test]
async fn an_abandoned_run_is_resumed_or_failed() {
    let store = store("resume").await;
    let spec = RunSpec::for_embedder("resume", &embedder()).config_fingerprint("cfg-1");
    let run = store.begin_run(spec.clone()).await.expect("run");
    let id = run.id();
    run.add_chunks(&[chunk("a.py", "f", "pass")]).await.expect("chunks");
    drop(run); // the writer dies: its connection, and the lock, go with it
    let again = store.begin_run(spec).await.expect("resume");
    assert!(again.resumed());
    assert_eq!(again.id(), id);
    drop(again);
    let other = store.begin_run(RunSpec::for_embedder("resume", &embedder()).config_fingerprint("cfg-2")).await;
    let other = other.expect("new run");
    assert!(!other.resumed());
    assert_eq!(store.run(id).await.expect("old").status, RunStatus::Failed);
}

#[tokio::test]
async fn the_store_is_an_embedding_cache() {
    let store = store("cache").await;
    let cached = CachedEmbedder::new(embedder(), store.embedding_cache());
    let texts = ["def a(): ...", "def b(): ...", "def a(): ..."];
    let first = cached.embed_each(&texts, &mut |_| {}).await;
    assert!(first.is_complete() && first.warnings.is_empty(), "{:?}", first.warnings);
    assert_eq!(first.metrics.cache_hits, 0);
    assert_eq!(count(&store, "embeddings").await, 2);
    let second = cached.embed(&texts).await.expect("embed");
    let report = cached.embed_each(&texts, &mut |_| {}).await;
    assert_eq!(report.metrics.cache_hits, 3);
    assert_eq!(second[0], embedder().embed_text(texts[0]));
    // Whether vectors are held, without reading them: for this model and size only.
    let hashes = [TextHash::of("def b(): ..."), TextHash::of("def z(): ...")];
    let model = cached.model_id().to_owned();
    let held = store.embedding_cache().holds_many(&model, embedder().dimensions(), &hashes).await.expect("held");
    assert_eq!(held, [true, false]);
    let other = store.embedding_cache().holds_many(&model, 7, &hashes).await.expect("held");
    assert_eq!(other, [false, false]);
    // Filling fetches nothing and embeds only what is missing.
    let filled = cached.fill_each(&["def b(): ...", "def z(): ..."], &mut |_| {}).await;
    assert_eq!((filled.metrics.cache_hits, filled.embedded), (1, 2));
    assert_eq!(count(&store, "embeddings").await, 3);
}

#[tokio::test]
async fn diffs_between_runs() {
    let store = store("diff").await;
    let a = chunk("a.py", "f", "return 1");
    let b = chunk("b.py", "g", "return 2");
    let c = chunk("c.py", "h", "return 3");
    let b2 = chunk("b.py", "g", "return 22");
    let first = index(&store, "diff", &[file("a.py", "1"), file("b.py", "2")], &[a.clone(), b]).await;
    let second = index(&store, "diff", &[file("b.py", "2b"), file("c.py", "3")], &[b2.clone(), c.clone()]).await;
    let finding = |fp: &str| FindingRow {
        fingerprint: fp.into(),
        rule: RuleId::D001,
        severity: Severity::Error,
        path: "a.py".into(),
        line: 1,
        message: "m".into(),
    };
    // Findings of a third pair of runs.
    let run = store.begin_run(RunSpec::for_embedder("diff", &embedder())).await.expect("run");
    run.set_findings(&[finding("old"), finding("kept")]).await.expect("findings");
    let third = run.complete(serde_json::json!({})).await.expect("complete").id;
    let run = store.begin_run(RunSpec::for_embedder("diff", &embedder())).await.expect("run");
    run.set_findings(&[finding("kept"), finding("new")]).await.expect("findings");
    let fourth = run.complete(serde_json::json!({})).await.expect("complete").id;

    let diff = store.diff(first, second).await.expect("diff");
    assert_eq!(diff.files_added, ["c.py"]);
    assert_eq!(diff.files_removed, ["a.py"]);
    assert_eq!(diff.files_changed, ["b.py"]);
    assert_eq!(diff.chunks_added.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [c.id]);
    assert_eq!(diff.chunks_removed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [a.id]);
    assert_eq!(diff.chunks_changed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [b2.id]);
    let findings = store.diff(third, fourth).await.expect("diff");
    assert_eq!((findings.findings_new, findings.findings_fixed), (vec!["new".to_owned()], vec!["old".to_owned()]));
    assert!(matches!(store.diff(first, RunId::new(999_999)).await, Err(StoreError::NotFound { .. })));
}

/// A client on the store's schema, for what the tests read under the API.
async fn raw(store: &Store) -> tokio_postgres::Client {
    let url = std::env::var("DATABASE_URL").expect("url");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.batch_execute(&format!("SET search_path TO {}, public", store.schema())).await.expect("schema");
    client
}

/// Everything a run holds, as text rows, for comparing runs.
async fn contents(client: &tokio_postgres::Client, run: RunId) -> Vec<String> {
    let mut all = Vec::new();
    for query in [
        "SELECT 'file', path || ' ' || module || ' ' || content_hash FROM files WHERE run_id = $1",
        "SELECT 'unit', path || ' ' || qualname || ' ' || line FROM units WHERE run_id = $1",
        "SELECT 'chunk', id || ' ' || path || ' ' || start_line FROM chunks WHERE run_id = $1",
        "SELECT 'tag', path || ' ' || line || ' ' || key || '=' || value FROM tags WHERE run_id = $1",
        "SELECT 'edge', kind || ' ' || source || '>' || target || ' ' || lines::text FROM edges WHERE run_id = $1",
        "SELECT 'finding', fingerprint || ' ' || message FROM findings WHERE run_id = $1",
        "SELECT 'lexeme', lexeme || ' ' || chunks FROM lexeme_frequencies WHERE run_id = $1",
    ] {
        for row in client.query(query, &[&run]).await.expect(query) {
            all.push(format!("{} {}", row.get::<_, &str>(0), row.get::<_, &str>(1)));
        }
    }
    all.sort();
    all
}

/// Rows written by `run`, and rows it closed.
async fn written(client: &tokio_postgres::Client, run: RunId) -> (i64, i64) {
    let mut totals = (0, 0);
    for table in ["file_rows", "unit_rows", "chunk_rows", "tag_rows", "edge_rows", "finding_rows", "lexeme_rows"] {
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE from_run = $1), count(*) FILTER (WHERE until_run = $1) FROM {table}"
                ),
                &[&run],
            )
            .await
            .expect("count");
        totals.0 += row.get::<_, i64>(0);
        totals.1 += row.get::<_, i64>(1);
    }
    totals
}

/// One file's rows as the tests write them: a file, a unit, a chunk, a tag.
struct Tree(Vec<(String, String)>);

impl Tree {
    async fn write(&self, run: &pyatlas_store::RunHandle, carry: bool) {
        let files: Vec<FileRow> = self.0.iter().map(|(p, body)| file(p, body)).collect();
        let unchanged = if carry { run.unchanged(&files).await.expect("unchanged") } else { vec![false; files.len()] };
        for ((path, body), same) in self.0.iter().zip(unchanged) {
            if same {
                continue;
            }
            let unit = UnitRow {
                path: path.clone(),
                qualname: "f".into(),
                name: "f".into(),
                kind: UnitKind::Function,
                line: 1,
                start_line: 1,
                end_line: 2,
                signature: "def f()".into(),
                doc: None,
            };
            let tag =
                TagRow { path: path.clone(), line: 1, scope: "f".into(), key: "intent".into(), value: body.clone() };
            run.add_units(&[unit]).await.expect("units");
            run.add_tags(&[tag]).await.expect("tags");
            let chunk = chunk(path, "f", body);
            run.add_chunks(std::slice::from_ref(&chunk)).await.expect("chunks");
            if !body.contains("unembedded") {
                let vector = embedder().embed_text(&chunk.text);
                run.store()
                    .put_embeddings(embedder().model_id(), DIMS, &[(chunk.id.clone(), vector.as_slice())])
                    .await
                    .expect("a vector");
            }
            run.add_files(&[file(path, body)]).await.expect("files");
        }
        if carry {
            let paths: Vec<String> = self.0.iter().map(|(p, _)| p.clone()).collect();
            run.retain_files(&paths).await.expect("retain");
        }
        let edges: Vec<EdgeRow> = self
            .0
            .iter()
            .map(|(p, body)| EdgeRow {
                kind: EdgeKind::Import,
                source: p.trim_end_matches(".py").into(),
                target: body.split_whitespace().next().unwrap_or("os").into(),
                lines: vec![1],
                type_checking: false,
                function_level: false,
            })
            .collect();
        run.set_edges(&edges).await.expect("edges");
        let findings: Vec<FindingRow> = self
            .0
            .iter()
            .filter(|(_, body)| body.contains("select"))
            .map(|(p, body)| FindingRow {
                fingerprint: format!("{p}:{body}"),
                rule: RuleId::D001,
                severity: Severity::Warning,
                path: p.clone(),
                line: 1,
                message: body.clone(),
            })
            .collect();
        run.set_findings(&findings).await.expect("findings");
    }
}

fn tree(files: &[(&str, &str)]) -> Tree {
    Tree(files.iter().map(|(p, b)| ((*p).to_owned(), (*b).to_owned())).collect())
}

#[tokio::test]
async fn runs_share_the_rows_that_did_not_change() {
    let store = store("shared").await;
    let client = raw(&store).await;
    let spec = RunSpec::for_embedder("shared", &embedder()).config_fingerprint("cfg");
    let trees = [
        tree(&[("a.py", "os path join"), ("b.py", "sys select rows"), ("c.py", "json load dump")]),
        // b changes, c goes, d comes.
        tree(&[("a.py", "os path join"), ("b.py", "re select words"), ("d.py", "json dumps string")]),
        // Nothing changes.
        tree(&[("a.py", "os path join"), ("b.py", "re select words"), ("d.py", "json dumps string")]),
    ];
    let mut runs = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        // Each run carried over from the last equals a run written whole.
        let run = store.begin_run(spec.clone()).await.expect("run");
        tree.write(&run, true).await;
        let id = run.complete(serde_json::json!({})).await.expect("complete").id;
        let whole = store.begin_run(RunSpec::for_embedder("whole", &embedder())).await.expect("run");
        tree.write(&whole, false).await;
        let whole = whole.complete(serde_json::json!({})).await.expect("complete").id;
        let (ours, theirs) = (contents(&client, id).await, contents(&client, whole).await);
        assert!(ours.iter().any(|r| r.starts_with("lexeme ")) && ours.len() > 20, "{ours:?}");
        assert_eq!(ours, theirs, "run {i}");
        runs.push((id, whole));
    }
    // Earlier runs read as they were written.
    for ((id, _), tree) in runs.iter().zip(&trees) {
        let files = store.files(*id).await.expect("files");
        assert_eq!(files.len(), tree.0.len());
    }
    assert_eq!(store.diff(runs[0].0, runs[1].0).await.expect("diff").files_removed, ["c.py"]);
    // A run where one file changed writes that file's rows and what moved
    // with it; a run where nothing changed writes nothing.
    let (wrote, closed) = written(&client, runs[1].0).await;
    let (cold, _) = written(&client, runs[0].0).await;
    assert!(wrote < cold && closed > 0, "{wrote} {closed} {cold}");
    assert_eq!(written(&client, runs[2].0).await, (0, 0));

    // A failed run is rolled back when the next begins: the next run starts
    // from the last complete one.
    let failed = store.begin_run(spec.clone()).await.expect("run");
    tree(&[("a.py", "os changed here")]).write(&failed, true).await;
    failed.fail("test").await.expect("fail");
    let next = store.begin_run(spec.clone()).await.expect("run");
    let unchanged = next.unchanged(&[file("a.py", "os path join"), file("b.py", "other")]).await.expect("unchanged");
    assert_eq!(unchanged, [true, false]);
    trees[2].write(&next, true).await;
    let next = next.complete(serde_json::json!({})).await.expect("complete").id;
    assert_eq!(contents(&client, next).await, contents(&client, runs[2].0).await);
    assert_eq!(written(&client, next).await, (0, 0));
    // The edges were not sent again by either run that held them already.
    let digests: Vec<Option<String>> = client
        .query("SELECT edges_digest FROM runs WHERE id = ANY($1) ORDER BY id", &[&vec![runs[1].0, runs[2].0, next]])
        .await
        .expect("digests")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(digests[0].is_some() && digests.iter().all(|d| *d == digests[0]), "{digests:?}");

    // A file whose chunk has no vector is not held as it is.
    let run = store.begin_run(spec.clone()).await.expect("run");
    tree(&[("e.py", "os unembedded")]).write(&run, false).await;
    let unchanged = run.unchanged(&[file("e.py", "os unembedded")]).await.expect("unchanged");
    assert_eq!(unchanged, [false]);
    // The files held as they are come back with what their writer kept
    // (nothing yet), the unembedded one not at all; facts set stay with a
    // file's row into the runs that carry it.
    let held = run.held_files().await.expect("held");
    let paths: Vec<(&str, u64, bool)> = held.iter().map(|h| (h.path.as_str(), h.chunks, h.facts.is_some())).collect();
    assert_eq!(paths, [("a.py", 1, false), ("b.py", 1, false), ("d.py", 1, false)]);
    let kept = FileRow { facts: Some(vec![0, 1, 2]), ..file("b.py", "") };
    run.set_facts(&[kept]).await.expect("facts set");
    run.fail("test").await.expect("fail");
    let after = store.begin_run(spec.clone()).await.expect("run");
    let held = after.held_files().await.expect("held");
    let facts: Vec<Option<Vec<u8>>> = held.into_iter().map(|h| h.facts).collect();
    assert_eq!(facts, [None, Some(vec![0, 1, 2]), None]);
    after.fail("test").await.expect("fail");

    // Another configuration carries nothing over.
    let other = store.begin_run(spec.clone().config_fingerprint("other")).await.expect("run");
    assert_eq!(other.unchanged(&[file("a.py", "os path join")]).await.expect("unchanged"), [false]);
}

#[tokio::test]
async fn an_exhausted_pool_is_a_clear_error_and_recovers() {
    let store = Store::connect(config("pool").pool_size(2).wait_timeout(Duration::from_millis(300))).await.expect("c");
    // Each run holds a connection for its lock.
    let one = store.begin_run(RunSpec::new("p1", "m", EmbedderSpec::other("m", DIMS))).await.expect("one");
    let two = store.begin_run(RunSpec::new("p2", "m", EmbedderSpec::other("m", DIMS))).await.expect("two");
    let error = store.runs("p1").await.expect_err("no connection left");
    assert!(error.to_string().contains("pool exhausted"), "{error}");
    one.complete(serde_json::json!({})).await.expect("complete");
    assert_eq!(store.runs("p1").await.expect("runs").len(), 1);
    two.fail("done").await.expect("fail");
}

#[tokio::test]
async fn wide_vectors_use_halfvec_indexes() {
    let store = store("halfvec").await;
    let dims = 3072;
    let run =
        store.begin_run(RunSpec::new("wide", "big-model", EmbedderSpec::other("big-model", dims))).await.expect("run");
    let chunks = vec![chunk("a.py", "f", "pass"), chunk("b.py", "g", "pass")];
    run.add_chunks(&chunks).await.expect("chunks");
    let vectors: Vec<Vec<f32>> =
        (0..2).map(|i| (0..dims).map(|d| if d % 2 == i { 1.0 } else { 0.0 }).collect()).collect();
    let rows: Vec<(ChunkId, &[f32])> = chunks.iter().zip(&vectors).map(|(c, v)| (c.id.clone(), v.as_slice())).collect();
    store.put_embeddings("big-model", dims, &rows).await.expect("put");
    run.complete(serde_json::json!({})).await.expect("complete");
    let hits = store.search(&SearchQuery::new("wide", vectors[1].clone()).k(1)).await.expect("search");
    assert_eq!(hits[0].id, chunks[1].id);
}

/// The server drops every connection of the store mid-run (as a restart
/// does): the writes that follow reconnect and complete.
#[tokio::test]
async fn writes_survive_lost_connections() {
    let app = format!("pyatlas-store-restart-{}", std::process::id());
    let config = config("restart").application_name(&app);
    let store = Store::connect(config.clone()).await.expect("connect");
    let run = store.begin_run(RunSpec::for_embedder("restart", &embedder())).await.expect("run");
    run.add_chunks(&[chunk("a.py", "f", "pass")]).await.expect("before");
    let url = std::env::var("DATABASE_URL").expect("url");
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("admin");
    tokio::spawn(connection);
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&app],
        )
        .await
        .expect("terminate")
        .get(0);
    assert!(killed >= 1);
    run.add_chunks(&[chunk("b.py", "g", "pass")]).await.expect("after the connections were dropped");
    // The lock's connection was dropped too: the run cannot be completed by
    // this writer with certainty, but completing marks it all the same.
    run.complete(serde_json::json!({})).await.expect("complete");
    assert_eq!(count(&store, "chunks").await, 2);
}
