//! Search quality on real projects: indexes each project of
//! `benches/search/*.toml` with the offline hash embedder, into memory and
//! (with `DATABASE_URL`) into PostgreSQL, then asks its questions of each
//! backend in each mode and prints recall@5 and MRR@10, and how often the
//! exact name of a unit (every function, class and method name that is
//! unique in the project) finds that unit as the top hit.
//!
//! ```text
//! cargo bench --bench search_quality                                    # the in-memory backend
//! DATABASE_URL=postgres://... cargo bench --bench search_quality        # and the store
//! DATABASE_URL=postgres://... cargo bench --bench search_quality -- --show-misses --reuse
//! DATABASE_URL=postgres://... cargo bench --bench search_quality --features pocket   # and the bundled model
//! ```
//! The sdists are fetched into `target/sdists` by `scripts/fetch_sdist.py`
//! when missing. See `benches/search/README.md` and `benches/README.md`.

use std::path::PathBuf;
use std::sync::Arc;

use pyatlas::embed::{Embedder, HashEmbedder};
use pyatlas::index::Indexer;
use pyatlas::query::{CodeMap, MemoryMap, SearchMode, StoreMap};
use pyatlas::store::{Store, StoreConfig};

#[path = "search/eval.rs"]
mod eval;

use eval::{QuestionSet, Scores, evaluate, question_sets, sdist_folder, unique_names};

/// The set's project, unpacked; fetched when missing.
fn sdist(set: &QuestionSet) -> PathBuf {
    let folder = sdist_folder(set);
    if !folder.is_dir() {
        let dir = folder.parent().expect("target/sdists");
        let status = std::process::Command::new("python3")
            .args(["scripts/fetch_sdist.py", &set.project, &set.version])
            .arg(dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("python3");
        assert!(status.success(), "fetching the {} {} sdist", set.project, set.version);
    }
    folder
}

fn row(set: &QuestionSet, backend: &str, embedder: &str, mode: SearchMode, s: &Scores) {
    println!(
        "| {} {} ({} questions) | {backend} | {mode:?}, {embedder} | {:.0}% | {:.2} | {}/{} ({:.0}%) |",
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

fn main() {
    let show = std::env::args().any(|a| a == "--show-misses");
    // Search the latest stored run instead of indexing again (when tuning the ranking).
    let reuse = std::env::args().any(|a| a == "--reuse");
    let url = std::env::var("DATABASE_URL").ok();
    if url.is_none() {
        eprintln!("DATABASE_URL is not set: the in-memory backend only");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = match &url {
            Some(url) => Some(Store::connect(StoreConfig::new(url).expect("url")).await.expect("connect")),
            None => None,
        };
        println!("| project | backend | mode | recall@5 | MRR@10 | exact names top-1 |");
        println!("|---|---|---|---|---|---|");
        for set in question_sets() {
            let root = sdist(&set).join(&set.root);
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
                let memory = MemoryMap::with_indexer(&indexer).await.expect("index into memory");
                let names = unique_names(&memory);
                let mut maps: Vec<(&str, Box<dyn CodeMap>)> = Vec::new();
                if let Some(store) = &store {
                    if !reuse || store.unit_names(&project).await.is_err() {
                        indexer.run(store).await.expect("index");
                    }
                    maps.push(("store", Box::new(StoreMap::with_embedder(store.clone(), Arc::clone(&embedder)))));
                }
                maps.push(("memory", Box::new(memory)));
                for (backend, map) in &maps {
                    for mode in [SearchMode::Vector, SearchMode::Lexical, SearchMode::Hybrid] {
                        let s = evaluate(map.as_ref(), &project, &set, &names, mode, show).await;
                        row(&set, backend, name, mode, &s);
                    }
                }
            }
        }
    });
}
