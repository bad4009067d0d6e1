//! A floor under search quality: the question sets of `benches/search/`
//! asked of the in-memory backend (the embedded default: no database),
//! on the sdists `scripts/test` unpacks. The floors sit well below the
//! measured figures (`cargo bench --bench search_quality`, in
//! benches/README.md), to catch a regression, not to measure; exact names
//! must find their unit first every time, as the README promises.

use std::sync::Arc;

use pyatlas::embed::HashEmbedder;
use pyatlas::index::Indexer;
use pyatlas::query::{MemoryMap, SearchMode};

#[path = "../benches/search/eval.rs"]
mod eval;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_question_sets_stay_above_their_floors() {
    let sets = eval::question_sets();
    assert!(sets.len() >= 2, "two projects at least");
    for set in &sets {
        let folder = eval::sdist_folder(set);
        assert!(folder.is_dir(), "{} is missing: scripts/test downloads and unpacks it", folder.display());
        let indexer = Indexer::builder(folder.join(&set.root))
            .project(format!("quality-{}", set.project))
            .shared_embedder(Arc::new(HashEmbedder::default()))
            .build()
            .expect("indexer");
        let map = MemoryMap::with_indexer(&indexer).await.expect("index into memory");
        let names = eval::unique_names(&map);
        assert!(names.len() >= 50, "{}: at least 50 unique names, {}", set.project, names.len());
        assert!(set.question.len() >= 30, "{}: 30 questions", set.project);
        let project = format!("quality-{}", set.project);
        for mode in [SearchMode::Lexical, SearchMode::Hybrid] {
            let s = eval::evaluate(&map, &project, set, &names, mode, false).await;
            // Measured 2026-12-01: recall@5 80% to 87%, MRR@10 0.62 to 0.70.
            assert!(s.recall5 >= 0.70, "{} {mode:?}: recall@5 {:.2}", set.project, s.recall5);
            assert!(s.mrr10 >= 0.50, "{} {mode:?}: MRR@10 {:.2}", set.project, s.mrr10);
            assert_eq!(s.names.0, s.names.1, "{} {mode:?}: every unique name finds its unit first", set.project);
        }
    }
}
