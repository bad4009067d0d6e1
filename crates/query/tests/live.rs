//! A [`LiveMap`] answers as a map of the folder built afresh would, after
//! every kind of edit; and a folder's watch reports saves.

use std::path::Path;

use pyatlas_query::{At, CodeMap, LiveMap, MemoryMap, Search, SearchMode};

/// A copy of the sample project, to edit.
fn sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample"), dir.path());
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("readable") {
        let path = entry.expect("an entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() { copy(&path, &target) } else { std::fs::copy(&path, &target).map(|_| ()).expect("copied") }
    }
}

async fn assert_fresh(live: &LiveMap, root: &Path, step: &str) {
    let ours = live.current().await.expect("the live map");
    let fresh = MemoryMap::index(root).await.expect("a fresh map");
    let (a, b) = (ours.rows(), fresh.rows());
    assert_eq!(a.files, b.files, "files after {step}");
    assert_eq!(a.units, b.units, "units after {step}");
    assert_eq!(a.chunks, b.chunks, "chunks after {step}");
    assert_eq!(a.tags, b.tags, "tags after {step}");
    assert_eq!(a.edges, b.edges, "edges after {step}");
    assert_eq!(a.findings, b.findings, "findings after {step}");
    let at = At::latest();
    for mode in [SearchMode::Lexical, SearchMode::Vector, SearchMode::Hybrid] {
        let search = Search::new("order total price").mode(mode);
        let ours = live.search(&at, &search).await.expect("hits");
        assert!(!ours.is_empty(), "{mode:?} search after {step}");
        assert_eq!(ours, fresh.search(&at, &search).await.expect("hits"), "{mode:?} search after {step}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_map_answers_as_a_fresh_map_after_each_edit() {
    let dir = sample();
    let root = dir.path();
    let live = LiveMap::new(root).await.expect("a live map");
    assert_fresh(&live, root, "the start").await;
    // Past the two seconds in which a save could hide behind an unchanged
    // size and time: now only the edit below counts as a change.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let models = root.join("shop/models.py");
    let mut text = std::fs::read_to_string(&models).expect("models.py");
    text.push_str("\n\ndef order_total_price(order):\n    return sum(line.price for line in order.lines)\n");
    std::fs::write(&models, text).expect("edited");
    let edited = live.current().await.expect("the live map");
    let reused = edited.rows().info.summary["reused"].as_u64();
    assert_eq!(reused, Some(edited.rows().files.len() as u64 - 1), "only the edited file is parsed again");
    assert_fresh(&live, root, "an edit").await;
    let symbols = live.symbols(&At::latest(), "order_total_price", 5).await.expect("symbols");
    assert_eq!(symbols.first().map(|s| s.name.as_str()), Some("order_total_price"), "{symbols:?}");

    std::fs::write(
        root.join("shop/pricing.py"),
        "from shop.models import order_total_price\n\n\ndef quote(order):\n    return order_total_price(order)\n",
    )
    .expect("added");
    assert_fresh(&live, root, "a new file").await;

    std::fs::rename(root.join("shop/pricing.py"), root.join("shop/quotes.py")).expect("renamed");
    assert_fresh(&live, root, "a rename").await;

    std::fs::remove_file(root.join("shop/api.py")).expect("deleted");
    assert_fresh(&live, root, "a deletion").await;

    // Nothing changed: nothing to bring up to date.
    assert!(!live.refresh().await.expect("a refresh"), "an unchanged folder changes nothing");
    // A file saved as it was: a new time, the same map.
    let before = live.last();
    let same = std::fs::read(&models).expect("models.py");
    std::fs::write(&models, same).expect("saved again");
    assert!(!live.refresh().await.expect("a refresh"), "the same content changes nothing");
    assert!(std::sync::Arc::ptr_eq(&before, &live.last()), "the map stayed");
    assert_fresh(&live, root, "a save of the same content").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_watch_brings_saves_in_and_a_stopped_one_hands_back_to_looking() {
    let dir = sample();
    let root = dir.path();
    let live = std::sync::Arc::new(LiveMap::new(root).await.expect("a live map"));
    let watch = live.watch().expect("a watch");
    live.trust_watch(&watch);
    let models = root.join("shop/models.py");
    let holds = |name: &'static str| {
        let live = std::sync::Arc::clone(&live);
        async move { live.current().await.expect("the map").rows().units.iter().any(|u| u.name == name) }
    };
    let mut text = std::fs::read_to_string(&models).expect("models.py");
    text.push_str("\n\ndef heard_by_the_watch():\n    return 1\n");
    std::fs::write(&models, &text).expect("saved");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !holds("heard_by_the_watch").await {
        assert!(std::time::Instant::now() < deadline, "the save never reached the map");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_fresh(&live, root, "a save heard by the watch").await;

    // The watch stops: the next answer looks at the folder itself.
    drop(watch);
    text.push_str("\n\ndef seen_by_looking():\n    return 2\n");
    std::fs::write(&models, &text).expect("saved");
    assert!(holds("seen_by_looking").await, "without a watch, the next answer looks");
}
