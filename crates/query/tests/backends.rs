//! One suite, two backends: the same codebase indexed into memory and into a
//! real PostgreSQL with pgvector (`DATABASE_URL`; `scripts/test` starts
//! one) must give the same answers to every question. The codebases are the
//! sample project (with intent tags) and a package of the machine's
//! standard library (code nobody here wrote).

use std::path::{Path, PathBuf};

use pyatlas_chunker::TokenCounter as _;
use pyatlas_index::Indexer;
use pyatlas_query::{At, CodeMap, MapRequest, MemoryMap, QueryError, Search, SearchMode, StoreMap, UnitRef};
use pyatlas_store::{Store, StoreConfig};

async fn store(test: &str) -> Store {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "the query tests need a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test, which starts one"
        )
    });
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let config =
        StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("q_{test}_{}_{nanos}", std::process::id()));
    Store::connect(config).await.expect("connect and migrate")
}

fn stdlib(package: &str) -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    Path::new(String::from_utf8_lossy(&out.stdout).trim()).join(package)
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample")
}

/// The same root in both backends.
async fn both(root: &Path, test: &str) -> (MemoryMap, StoreMap) {
    let indexer = Indexer::builder(root).build().expect("indexer");
    let memory = MemoryMap::with_indexer(&indexer).await.expect("memory index");
    let store = store(test).await;
    indexer.run(&store).await.expect("stored run");
    (memory, StoreMap::new(store))
}

async fn same_answers(memory: &MemoryMap, stored: &StoreMap) {
    let at = At::latest();
    let maps: [&dyn CodeMap; 2] = [memory, stored];
    let [m, s] = maps;
    let names = |p: Vec<pyatlas_query::Project>| p.into_iter().map(|p| (p.name, p.runs)).collect::<Vec<_>>();
    assert_eq!(names(m.projects().await.expect("an answer")), names(s.projects().await.expect("an answer")));

    let files = m.files(&at).await.expect("an answer");
    assert!(!files.is_empty());
    assert_eq!(files, s.files(&at).await.expect("an answer"), "files");
    for file in &files {
        let view = m.file(&at, &file.path).await.expect("an answer");
        assert_eq!(view, s.file(&at, &file.path).await.expect("an answer"), "file {}", file.path);
        assert_eq!(view.source.lines().count(), file.lines as usize, "the source of {} as indexed", file.path);
    }

    let mut units = Vec::new();
    // (The memory backend looks up prefixes when they fill the limit and
    // scans otherwise; the store filters in SQL: a few limits try both.)
    for query in ["get", "parse", "init", "Message", "_", "x", "zzzz", "a.b", "msg", "Mess", "héllo"] {
        for limit in [1, 5, 50] {
            let found = m.symbols(&at, query, limit).await.expect("an answer");
            assert_eq!(found, s.symbols(&at, query, limit).await.expect("an answer"), "symbols {query:?} {limit}");
            units.extend(found.into_iter().map(|s| s.id));
        }
    }
    assert!(!units.is_empty());
    units.sort();
    units.dedup();
    for unit in units.iter().take(80) {
        let context = m.unit(&at, unit).await.expect("an answer");
        assert_eq!(context, s.unit(&at, unit).await.expect("an answer"), "unit {unit}");
        assert!(context.source.contains(&context.symbol.name), "{unit}: its source names it");
    }

    let modules: Vec<&str> = files.iter().map(|f| f.module.as_str()).collect();
    for module in modules.iter().take(20) {
        for (depth, squash) in [(0, None), (1, None), (2, None), (1, Some(1))] {
            let graph = m.module_graph(&at, module, depth, squash).await.expect("an answer");
            assert_eq!(
                graph,
                s.module_graph(&at, module, depth, squash).await.expect("an answer"),
                "graph of {module}"
            );
        }
        for other in modules.iter().take(8) {
            assert_eq!(
                m.chain(&at, module, other).await.expect("an answer"),
                s.chain(&at, module, other).await.expect("an answer")
            );
        }
    }
    for squash in [None, Some(1), Some(2)] {
        let whole = m.project_graph(&at, squash).await.expect("an answer");
        assert_eq!(whole, s.project_graph(&at, squash).await.expect("an answer"), "the whole graph at {squash:?}");
        assert!(whole.modules.windows(2).all(|w| w[0].rank >= w[1].rank), "most central first");
        let names: std::collections::BTreeSet<&str> = whole.modules.iter().map(|m| m.name.as_str()).collect();
        assert!(
            whole.imports.iter().all(|h| names.contains(h.importer.as_str()) && names.contains(h.imported.as_str()))
        );
        if squash.is_none() {
            // Every module of the project is drawn, and every import among them.
            assert!(modules.iter().all(|m| names.contains(m)), "{names:?}");
            for hop in &whole.imports {
                let graph = m.module_graph(&at, &hop.importer, 1, None).await.expect("an answer");
                assert!(graph.imports.contains(hop), "{hop:?} is in the neighbourhood of its importer");
            }
        }
    }
    assert_eq!(m.cycles(&at).await.expect("an answer"), s.cycles(&at).await.expect("an answer"), "cycles");
    assert_eq!(m.domains(&at).await.expect("an answer"), s.domains(&at).await.expect("an answer"), "domains");
    assert_eq!(m.findings(&at).await.expect("an answer"), s.findings(&at).await.expect("an answer"), "findings");
    assert_eq!(m.tags(&at).await.expect("an answer"), s.tags(&at).await.expect("an answer"), "tags");
    assert_eq!(m.contracts(&at).await.expect("an answer"), s.contracts(&at).await.expect("an answer"), "contracts");
    for budget in [200, 1_000, 4_000] {
        let request = MapRequest::new(Some(budget), Vec::new());
        let (map, stored) =
            (m.repo_map(&at, &request).await.expect("a map"), s.repo_map(&at, &request).await.expect("a map"));
        assert_eq!(map, stored, "the map within {budget} tokens");
        assert!(map.tokens <= budget && map.shown <= map.units, "{map:?}");
    }
    // A run and itself: no change, on both.
    let (one, other) = (m.run(&at).await.expect("a run").id, s.run(&at).await.expect("a run").id);
    let (same, mut stored) = (m.diff(one, one).await.expect("a diff"), s.diff(other, other).await.expect("a diff"));
    assert!(same.files_changed.is_empty() && same.chunks_added.is_empty() && same.findings_new.is_empty());
    (stored.from, stored.to) = (one, one);
    assert_eq!(stored, same);

    // Search: a name finds its unit first on both; rankings of words come
    // from two engines (BM25 here, PostgreSQL's full text there), so only
    // where names decide are they held equal.
    let mut named = 0;
    for unit in units.iter().take(30) {
        let name = unit.qualname.rsplit('.').next().unwrap_or_default();
        for mode in [SearchMode::Lexical, SearchMode::Hybrid] {
            let search = Search::new(name).mode(mode).k(5);
            let (a, b) =
                (m.search(&at, &search).await.expect("an answer"), s.search(&at, &search).await.expect("an answer"));
            assert!(!a.is_empty(), "{mode} {name}");
            let holds = |qualnames: &[String]| qualnames.iter().any(|q| q.rsplit('.').next() == Some(name));
            // (A method may sit inside its class's chunk, which names only the class.)
            if memory.rows().chunks.iter().any(|c| holds(&c.qualnames)) {
                assert!(holds(&a[0].qualnames) && holds(&b[0].qualnames), "{mode} {name:?}: a unit of that name first");
                assert_eq!((&a[0].path, a[0].start_line), (&b[0].path, b[0].start_line), "{mode} {name}");
                named += 1;
            }
        }
    }
    assert!(named >= 4, "names held by chunks were searched: {named}");
    // Pages: the second page of k follows the first.
    let text = "read the header of a message";
    let whole = m.search(&at, &Search::new(text).k(10)).await.expect("an answer");
    let second = m.search(&at, &Search::new(text).k(5).offset(5)).await.expect("an answer");
    assert_eq!(whole.get(5..).map(<[_]>::to_vec), Some(second));
    for map in maps {
        let vector = map.search(&at, &Search::new(text).mode(SearchMode::Vector).k(5)).await.expect("an answer");
        assert_eq!(vector.len(), 5);
        assert!(vector.windows(2).all(|w| w[0].score >= w[1].score), "by cosine, best first");
    }
}

async fn same_errors(memory: &MemoryMap, stored: &StoreMap) {
    let maps: [&dyn CodeMap; 2] = [memory, stored];
    let at = At::latest();
    for map in maps {
        let bad = |r: Result<_, QueryError>| matches!(r, Err(QueryError::BadRequest { .. }));
        let missing = |r: Result<_, QueryError>| matches!(r, Err(QueryError::NotFound { .. }));
        assert!(bad(map.search(&at, &Search::new("x").k(0)).await.map(drop)), "k = 0");
        assert!(bad(map.search(&at, &Search::new("x").k(101)).await.map(drop)), "k > 100");
        assert!(bad(map.search(&at, &Search::new("  ")).await.map(drop)), "empty query");
        assert!(bad(map.search(&at, &Search::new("x".repeat(1001))).await.map(drop)), "long query");
        assert!(missing(map.file(&at, "../etc/passwd").await.map(drop)));
        assert!(missing(map.file(&at, "/etc/passwd").await.map(drop)));
        assert!(missing(map.file(&at, "no/such.py").await.map(drop)));
        let unit = UnitRef { module: "no.such".into(), qualname: "f".into() };
        assert!(missing(map.unit(&at, &unit).await.map(drop)));
        assert!(missing(map.module_graph(&at, "no.such", 1, None).await.map(drop)));
        assert!(bad(map.module_graph(&at, "no.such", 9, None).await.map(drop)), "depth > 5");
        assert!(bad(map.project_graph(&at, Some(0)).await.map(drop)), "squash 0");
        assert!(missing(map.chain(&at, "no.such", "other").await.map(drop)));
        assert!(missing(map.run(&At::project("no-such-project")).await.map(drop)));
        assert!(missing(map.runs("no-such-project").await.map(drop)));
        // PostgreSQL text cannot hold NUL: such names name nothing, on both.
        assert!(missing(map.file(&at, "shop/a\0.py").await.map(drop)));
        assert!(missing(map.run(&At::project("sam\0ple")).await.map(drop)));
        assert!(missing(map.runs("sam\0ple").await.map(drop)));
        assert_eq!(map.symbols(&at, "pri\0ce", 5).await.map(|s| s.len()).ok(), Some(0));
        let filtered = Search::new("price").path_prefix("sh\0op");
        assert_eq!(map.search(&at, &filtered).await.map(|h| h.len()).ok(), Some(0));
        assert!(map.search(&at, &Search::new("price\0list")).await.is_ok());
    }
    assert!("no-colon".parse::<UnitRef>().is_err() && ":f".parse::<UnitRef>().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_answer_alike_on_the_sample() {
    let (memory, stored) = both(&sample(), "sample").await;
    let rows = memory.rows();
    assert!(!rows.tags.is_empty() && !rows.edges.is_empty(), "the sample has tags and edges");
    // Its `.importlinter` declares two contracts; lint-imports keeps the
    // layers and breaks the forbidden one (its chain runs through storage).
    let report = memory.contracts(&At::default()).await.expect("an answer").expect("the sample's contracts");
    let verdicts: Vec<(&str, bool)> =
        report.contracts.iter().map(|c| (c.id.as_deref().unwrap_or(""), c.kept)).collect();
    assert_eq!(verdicts, [("layers", true), ("no-driver-in-api", false)]);
    let chain = &report.contracts[1].violations[0].chains[0];
    assert_eq!(chain.iter().map(|h| h.importer.as_str()).collect::<Vec<_>>(), ["shop.api", "shop.services.storage"]);
    same_answers(&memory, &stored).await;
    same_errors(&memory, &stored).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repo_map_fits_its_budget_and_follows_its_focus() {
    let map = MemoryMap::index(stdlib("email")).await.expect("memory index");
    let at = At::default();
    let tokens = |text: &str| pyatlas_chunker::Tiktoken::cl100k_base().count(text);
    let mut previous = 0;
    for budget in [100, 500, 1_000, 2_000, 4_000] {
        let drawn = map.repo_map(&at, &MapRequest::new(Some(budget), Vec::new())).await.expect("a map");
        assert_eq!(drawn.tokens, tokens(&drawn.text));
        assert!(drawn.tokens <= budget, "{} tokens for a budget of {budget}", drawn.tokens);
        // A bigger budget shows more, and nearly fills it (one more unit would not fit).
        assert!(drawn.shown > previous && drawn.shown < drawn.units, "{budget}: {} of {}", drawn.shown, drawn.units);
        assert!(drawn.tokens * 10 >= budget * 8, "{budget}: only {} tokens", drawn.tokens);
        previous = drawn.shown;
    }
    // Focused on the parser, the map leaves the parser's file out and shows
    // what it uses: the feedparser it drives and the message it builds.
    let focus = vec!["parser.py".to_owned()];
    let focused = map.repo_map(&at, &MapRequest::new(Some(1_000), focus)).await.expect("a map");
    assert!(!focused.text.contains("\nparser.py:") && !focused.text.starts_with("parser.py:"), "{}", focused.text);
    assert!(focused.text.contains("feedparser.py:"), "{}", focused.text);
    assert!(focused.text.contains("class FeedParser"), "{}", focused.text);
    let plain = map.repo_map(&at, &MapRequest::new(Some(1_000), Vec::new())).await.expect("a map");
    assert_ne!(focused.text, plain.text);
    // What the focus file mentions by name comes first: `BytesParser`
    // mentions `FeedParser` and `BytesFeedParser`, which a small map shows.
    let tight = map.repo_map(&at, &MapRequest::new(Some(300), vec!["parser.py".to_owned()])).await.expect("a map");
    assert!(tight.text.contains("class FeedParser") && tight.text.contains("class BytesFeedParser"), "{}", tight.text);
    // A unit as the focus, by `module:qualname` and by dotted name alike.
    let by_colon = MapRequest::new(Some(500), vec!["email.parser:Parser.parse".to_owned()]);
    let by_dots = MapRequest::new(Some(500), vec!["email.parser.Parser.parse".to_owned()]);
    assert_eq!(map.repo_map(&at, &by_colon).await.expect("a map"), map.repo_map(&at, &by_dots).await.expect("a map"));
    // Bad budgets and unknown focus are errors, not maps.
    for budget in [0, 20_001] {
        let bad = map.repo_map(&at, &MapRequest::new(Some(budget), Vec::new())).await;
        assert!(matches!(bad, Err(QueryError::BadRequest { .. })), "{budget}: {bad:?}");
    }
    let unknown = map.repo_map(&at, &MapRequest::new(None, vec!["no/such.py".to_owned()])).await;
    assert!(matches!(unknown, Err(QueryError::NotFound { .. })), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_answer_alike_on_the_standard_library() {
    let (memory, stored) = both(&stdlib("email"), "email").await;
    assert_eq!(memory.contracts(&At::default()).await.expect("an answer"), None, "email declares no contracts");
    same_answers(&memory, &stored).await;
}
