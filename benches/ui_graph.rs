//! How soon the web UI's graph view of a large project becomes interactive,
//! in headless Chromium: the view laid out and drawn, timed by the page
//! itself with the Performance API, from the page's navigation (loading the
//! page, asking the API for the graph, layout, first frame) and from the
//! view's start. Every module is drawn (no squashing).
//!
//! ```text
//! cargo bench --bench ui_graph -- [ROOT] [--runs N]    # default: Django 5.2.8's sdist in target/sdists
//! ```
//! Needs `chromium` and `chromedriver` (scripts/test installs them). Prints
//! the median, minimum and maximum over the runs; each run is a fresh load.

#[path = "../crates/serve/tests/support/browser.rs"]
#[allow(dead_code)]
mod browser;

use std::path::PathBuf;
use std::sync::Arc;

use pyatlas::query::{At, CodeMap, MemoryMap};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (mut root, mut runs) = (PathBuf::from("target/sdists/django-5.2.8/django"), 7usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            _ => root = PathBuf::from(arg),
        }
    }
    anyhow::ensure!(
        root.is_dir(),
        "{} is not a folder (scripts/fetch_sdist.py django 5.2.8 target/sdists)",
        root.display()
    );
    let map = Arc::new(MemoryMap::index(&root).await?);
    let graph = map.project_graph(&At::latest(), None).await?;
    println!("{}: {} modules, {} imports", root.display(), graph.modules.len(), graph.imports.len());
    let addr = browser::start(map, None).await;
    let ui = browser::Browser::open(addr, "bench").await;
    let (mut since_navigation, mut since_view) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ui.visit("/graph").await;
        ui.until("document.querySelector('#graph[data-ready]')").await;
        let times = ui.js("const d = document.querySelector('#graph').dataset; return [Number(d.sinceNavigationMs), Number(d.interactiveMs)];").await;
        since_navigation.push(times[0].as_f64().unwrap_or(f64::NAN));
        since_view.push(times[1].as_f64().unwrap_or(f64::NAN));
    }
    for (what, mut times) in [("from navigation", since_navigation), ("from the view's start", since_view)] {
        times.sort_by(f64::total_cmp);
        println!(
            "interactive {what}: median {:.0} ms, min {:.0} ms, max {:.0} ms over {runs} loads",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
    Ok(())
}
