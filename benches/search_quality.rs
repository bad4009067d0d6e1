//! Search quality on real projects: indexes each project of
//! `benches/search/*.toml` with the offline hash embedder into PostgreSQL,
//! then asks its questions in each mode and prints recall@5 and MRR@10, and
//! how often the exact name of a unit (every function, class and method
//! name that is unique in the project) finds that unit as the top hit.
//!
//! ```text
//! DATABASE_URL=postgres://... cargo bench --bench search_quality
//! DATABASE_URL=postgres://... cargo bench --bench search_quality -- --show-misses --reuse
//! DATABASE_URL=postgres://... cargo bench --bench search_quality --features pocket   # and the bundled model
//! ```
//! The sdists are fetched into `target/sdists` by `scripts/fetch_sdist.py`
//! when missing. See `benches/search/README.md` and `benches/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyatlas::embed::{Embedder, HashEmbedder};
use pyatlas::index::Indexer;
use pyatlas::store::{SearchHit, SearchMode, SearchQuery, Store, StoreConfig};

#[derive(serde::Deserialize)]
struct QuestionSet {
    project: String,
    version: String,
    root: String,
    question: Vec<Question>,
}

#[derive(serde::Deserialize)]
struct Question {
    q: String,
    answers: Vec<String>,
}

/// `path suffix::qualname`: does `hit` hold it?
fn answers(hit: &SearchHit, answer: &str) -> bool {
    let (path, qualname) = answer.split_once("::").unwrap_or(("", answer));
    hit.path.ends_with(path) && hit.qualnames.iter().any(|q| q == qualname)
}

fn sdist(project: &str, version: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdists");
    let folder = dir.join(format!("{}-{version}", project.replace('-', "_")));
    if !folder.is_dir() {
        let status = std::process::Command::new("python3")
            .args(["scripts/fetch_sdist.py", project, version])
            .arg(&dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("python3");
        assert!(status.success(), "fetching the {project} {version} sdist");
    }
    folder
}

struct Scores {
    recall5: f64,
    mrr10: f64,
    names: (usize, usize),
}

async fn evaluate(
    store: &Store,
    embedder: &dyn Embedder,
    project: &str,
    set: &QuestionSet,
    mode: SearchMode,
    show: bool,
) -> Scores {
    let mut hits5 = 0;
    let mut rr = 0.0;
    for question in &set.question {
        let hits = search(store, embedder, project, &question.q, mode, 10).await;
        let rank = hits.iter().position(|h| question.answers.iter().any(|a| answers(h, a)));
        if rank.is_some_and(|r| r < 5) {
            hits5 += 1;
        }
        if let Some(r) = rank {
            rr += 1.0 / (r as f64 + 1.0);
        }
        if show && rank.is_none_or(|r| r >= 5) {
            let top: Vec<String> =
                hits.iter().take(5).map(|h| format!("{}:{}", h.path, h.qualnames.join(","))).collect();
            eprintln!("  miss ({mode:?}) {:?} -> {top:?}", question.q);
        }
    }
    // Exact names: every unit name unique in the project.
    let mut names: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, qualname) in store.unit_names(project).await.expect("units") {
        let name = qualname.rsplit('.').next().unwrap_or(&qualname).to_owned();
        names.entry(name).or_default().push((path, qualname));
    }
    let unique: Vec<(String, String, String)> = names
        .into_iter()
        .filter(|(name, places)| places.len() == 1 && !name.starts_with("__"))
        .map(|(name, mut places)| {
            let (path, qualname) = places.pop().expect("one");
            (name, path, qualname)
        })
        .collect();
    let mut found = 0;
    for (name, path, qualname) in &unique {
        let hits = search(store, embedder, project, name, mode, 1).await;
        if hits.first().is_some_and(|h| h.path == *path && h.qualnames.contains(qualname)) {
            found += 1;
        } else if show {
            let top = hits.first().map(|h| format!("{}:{}", h.path, h.qualnames.join(",")));
            eprintln!("  name miss ({mode:?}) {name} ({path}:{qualname}) -> {top:?}");
        }
    }
    let n = set.question.len() as f64;
    Scores { recall5: hits5 as f64 / n, mrr10: rr / n, names: (found, unique.len()) }
}

async fn search(
    store: &Store,
    embedder: &dyn Embedder,
    project: &str,
    text: &str,
    mode: SearchMode,
    k: usize,
) -> Vec<SearchHit> {
    let vector = embedder.embed(&[text]).await.expect("embed").pop().expect("a vector");
    let query = SearchQuery::new(project, vector).k(k).mode(mode, text);
    store.search(&query).await.expect("search")
}

fn main() {
    let show = std::env::args().any(|a| a == "--show-misses");
    // Search the latest run instead of indexing again (when tuning the ranking).
    let reuse = std::env::args().any(|a| a == "--reuse");
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL: a PostgreSQL with pgvector");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = Store::connect(StoreConfig::new(&url).expect("url")).await.expect("connect");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/search");
        let mut sets: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("benches/search")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        sets.sort();
        println!("| project | mode | recall@5 | MRR@10 | exact names top-1 |");
        println!("|---|---|---|---|---|");
        for file in sets {
            let set: QuestionSet =
                toml::from_str(&std::fs::read_to_string(&file).expect("read")).expect("a question set");
            let root = sdist(&set.project, &set.version).join(&set.root);
            let embedders: Vec<(&str, Arc<dyn Embedder>)> = vec![
                ("hash", Arc::new(HashEmbedder::default())),
                #[cfg(feature = "pocket")]
                ("pocket", Arc::new(pyatlas::embed::PocketEmbedder::new().expect("the bundled model"))),
            ];
            for (name, embedder) in embedders {
                let project = format!("quality-{}-{name}", set.project);
                let indexer = Indexer::builder(&root)
                    .project(&project)
                    .shared_embedder(Arc::clone(&embedder))
                    .build()
                    .expect("indexer");
                if !reuse || store.unit_names(&project).await.is_err() {
                    indexer.run(&store).await.expect("index");
                }
                for mode in [SearchMode::Vector, SearchMode::Lexical, SearchMode::Hybrid] {
                    let s = evaluate(&store, embedder.as_ref(), &project, &set, mode, show).await;
                    println!(
                        "| {} {} ({} questions) | {mode:?}, {name} | {:.0}% | {:.2} | {}/{} ({:.0}%) |",
                        set.project,
                        set.version,
                        set.question.len(),
                        s.recall5 * 100.0,
                        s.mrr10,
                        s.names.0,
                        s.names.1,
                        100.0 * s.names.0 as f64 / s.names.1.max(1) as f64
                    );
                }
            }
        }
    });
}
