//! The evaluation of search quality on the question sets of
//! `benches/search/`, shared by `cargo bench --bench search_quality` and
//! the regression floor in `tests/search_quality.rs` (each includes this
//! file with `#[path]`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pyatlas::query::{At, CodeMap, MemoryMap, Search, SearchHit, SearchMode};

#[derive(serde::Deserialize)]
pub(crate) struct QuestionSet {
    pub(crate) project: String,
    pub(crate) version: String,
    pub(crate) root: String,
    pub(crate) question: Vec<Question>,
}

#[derive(serde::Deserialize)]
pub(crate) struct Question {
    pub(crate) q: String,
    pub(crate) answers: Vec<String>,
}

/// `path suffix::qualname`: does `hit` hold it?
fn answers(hit: &SearchHit, answer: &str) -> bool {
    let (path, qualname) = answer.split_once("::").unwrap_or(("", answer));
    hit.path.ends_with(path) && hit.qualnames.iter().any(|q| q == qualname)
}

pub(crate) struct Scores {
    pub(crate) recall5: f64,
    pub(crate) mrr10: f64,
    pub(crate) names: (usize, usize),
}

/// Every unit name unique in the project (dunder names aside), with the
/// path and qualname of its unit, from the chunks of an in-memory map:
/// the units every backend holds for the same tree.
pub(crate) fn unique_names(map: &MemoryMap) -> Vec<(String, String, String)> {
    let mut names: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for chunk in map.rows().chunks.iter().filter(|c| c.kind.holds_unit()) {
        for qualname in &chunk.qualnames {
            let name = qualname.rsplit('.').next().unwrap_or(qualname).to_owned();
            names.entry(name).or_default().insert((chunk.path.clone(), qualname.clone()));
        }
    }
    names
        .into_iter()
        .filter(|(name, places)| places.len() == 1 && !name.starts_with("__"))
        .filter_map(|(name, places)| places.into_iter().next().map(|(path, qualname)| (name, path, qualname)))
        .collect()
}

pub(crate) async fn evaluate(
    map: &dyn CodeMap,
    project: &str,
    set: &QuestionSet,
    names: &[(String, String, String)],
    mode: SearchMode,
    show: bool,
) -> Scores {
    let mut hits5 = 0;
    let mut rr = 0.0;
    for question in &set.question {
        let hits = search(map, project, &question.q, mode, 10).await;
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
    let mut found = 0;
    for (name, path, qualname) in names {
        let hits = search(map, project, name, mode, 1).await;
        if hits.first().is_some_and(|h| h.path == *path && h.qualnames.contains(qualname)) {
            found += 1;
        } else if show {
            let top = hits.first().map(|h| format!("{}:{}", h.path, h.qualnames.join(",")));
            eprintln!("  name miss ({mode:?}) {name} ({path}:{qualname}) -> {top:?}");
        }
    }
    let n = set.question.len() as f64;
    Scores { recall5: hits5 as f64 / n, mrr10: rr / n, names: (found, names.len()) }
}

async fn search(map: &dyn CodeMap, project: &str, text: &str, mode: SearchMode, k: usize) -> Vec<SearchHit> {
    let search = Search { mode, k, ..Search::new(text) };
    map.search(&At::project(project), &search).await.expect("search")
}

/// The question sets of `benches/search/`, by file name.
pub(crate) fn question_sets() -> Vec<QuestionSet> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/search");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("benches/search")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files.iter().map(|f| toml::from_str(&std::fs::read_to_string(f).expect("read")).expect("a question set")).collect()
}

/// Where `scripts/fetch_sdist.py` unpacks the sdist of a set's project.
pub(crate) fn sdist_folder(set: &QuestionSet) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sdists").join(format!(
        "{}-{}",
        set.project.replace('-', "_"),
        set.version
    ))
}
