//! The web UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, fantoccini), on the in-memory backend and on the store
//! (`DATABASE_URL`). `scripts/test` installs Debian's `chromium` and
//! `chromium-driver`. Screenshots of every view, at 1280×800 and at a
//! 390-pixel-wide viewport, are saved under `target/ui-screenshots/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/stdlib.rs"]
mod stdlib;
#[path = "support/browser.rs"]
mod support;

use fantoccini::Locator;
use pyatlas_embed::HashEmbedder;
use pyatlas_query::{MemoryMap, StoreMap};
use pyatlas_serve::Jobs;
use pyatlas_store::{Store, StoreConfig};
use serde_json::{Value, json};
use stdlib::stdlib;
use support::{Browser, start};

/// The planted function, and the line it is defined at.
const PLANTED: &str = "reconcile_ledger_balances";
const PLANTED_LINE: u64 = 8;
const LEDGER: &str = r#""""Ledger arithmetic for the shop."""


def opening_balance(entries):
    return sum(e.amount for e in entries if e.opening)


def reconcile_ledger_balances(entries, statement):
    """Match each ledger entry against the bank statement, line by line."""
    unmatched = []
    for entry in entries:
        if entry not in statement:
            unmatched.append(entry)
    return unmatched
"#;

/// Planted drift: pure code that reads a file (D006), parallel code with no
/// concurrency (D001).
const AUDIT: &str = r#""""The shop's audit trail."""


# @intent:pure
def audit_total(path):
    with open(path) as f:
        return sum(int(line) for line in f)


# @intent:parallel @parallel:data
def audit_all(paths):
    return [audit_total(p) for p in paths]
"#;

/// The sample project with the planted ledger, in a scratch folder.
fn fixture(into: &Path) -> PathBuf {
    let root = into.join("shopfront");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample");
    copy_tree(&sample, &root);
    std::fs::write(root.join("shop/ledger.py"), LEDGER).expect("write the ledger");
    std::fs::write(root.join("shop/audit.py"), AUDIT).expect("write the audit");
    root
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".import_linter_cache") {
            continue;
        }
        if entry.file_type().expect("a type").is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}

async fn api(addr: SocketAddr, route: &str) -> Value {
    let response = reqwest::get(format!("http://{addr}{route}")).await.expect("a response");
    assert!(response.status().is_success(), "{route}: {}", response.status());
    response.json().await.expect("JSON")
}

/// What every backend shows the same way: search by keyboard, a result
/// opened at its line, the architecture view's findings at their lines, the
/// graph with a chain, and every view without a console error.
async fn views(browser: &Browser, addr: SocketAddr, query: &str) {
    // Keyboard: `/` focuses the search box, Enter runs the search.
    browser.visit(&format!("/{query}")).await;
    browser.shoot("overview").await;
    browser.fill("main", "/").await;
    let focused = browser.js("return document.activeElement && document.activeElement.id;").await;
    assert_eq!(focused, json!("quick-q"), "`/` focuses the search box");
    let active = browser.client.active_element().await.expect("the focused element");
    active.send_keys("reconcile ledger balances\u{E007}").await.expect("keys");
    browser.until("location.pathname === '/search' && document.querySelector('.hit')").await;
    browser.rendered().await;
    let url = browser.path_and_query().await;
    assert!(url.contains("q=reconcile+ledger+balances") || url.contains("q=reconcile%20ledger%20balances"), "{url}");
    browser.shoot("search").await;

    // A hit's code is numbered as in its file.
    let numbered = browser
        .js(&format!(
            "const row = [...document.querySelectorAll('.hit tr')].find(r => r.textContent.includes('def {PLANTED}')); return row && row.querySelector('.ln').textContent;"
        ))
        .await;
    assert_eq!(numbered, json!(PLANTED_LINE.to_string()), "the hit's lines are the file's");

    // The planted function is found; its result opens the code view at its line.
    let hits = browser.client.find_all(Locator::Css(".hit .hit-head a")).await.expect("hits");
    let mut planted = None;
    for hit in hits {
        if hit.text().await.expect("text").contains(PLANTED) {
            planted = Some(hit);
            break;
        }
    }
    planted.expect("the planted function is among the results").click().await.expect("click");
    browser.until("location.pathname.startsWith('/code/') && document.querySelector('tr.target')").await;
    browser.rendered().await;
    let url = browser.path_and_query().await;
    assert!(url.starts_with("/code/shop/ledger.py?"), "{url}");
    let target = browser.client.find(Locator::Css("tr.target")).await.expect("the target line");
    assert_eq!(target.attr("id").await.expect("id"), Some(format!("L{PLANTED_LINE}")));
    assert!(target.text().await.expect("text").contains(&format!("def {PLANTED}")));
    let outline = browser.client.find(Locator::Css(".outline li.current")).await.expect("the unit in the outline");
    assert!(outline.text().await.expect("text").contains(PLANTED));
    browser.shoot("code").await;

    // Back and forward: the views come back from their URLs.
    browser.client.back().await.expect("back");
    browser.until("location.pathname === '/search' && document.querySelector('.hit')").await;
    browser.client.forward().await.expect("forward");
    browser.until("location.pathname.startsWith('/code/') && document.querySelector('tr.target')").await;

    // A resolved call leads to its definition; its callers are listed there.
    browser.visit(&format!("/code/shop/audit.py?name=audit_all{}", query.replace('?', "&"))).await;
    let call = browser.client.find(Locator::Css("a.call")).await.expect("the call to audit_total, at its line");
    assert!(call.text().await.expect("text").contains("shop.audit:audit_total"));
    call.click().await.expect("click");
    browser.until("document.querySelector('tr.target') && document.querySelector('tr.target').textContent.includes('def audit_total')").await;
    browser.rendered().await;
    let callers = browser.js("return document.querySelector('.callers').textContent;").await;
    assert!(callers.as_str().is_some_and(|c| c.contains("shop.audit:audit_all")), "called by: {callers}");
    browser.client.back().await.expect("back");
    browser.until("location.search.includes('name=audit_all')").await;

    // Architecture: every drift finding, each linking to its line.
    let findings = api(addr, &format!("/api/findings{query}")).await;
    let findings = findings.as_array().expect("a list");
    let rules: Vec<&str> =
        findings.iter().filter(|f| f["path"] == "shop/audit.py").filter_map(|f| f["rule"].as_str()).collect();
    assert!(rules.contains(&"D006") && rules.contains(&"D001"), "the planted drift: {findings:?}");
    browser.visit(&format!("/architecture{query}")).await;
    let rows = browser.client.find_all(Locator::Css("table.findings tbody tr")).await.expect("rows");
    assert_eq!(rows.len(), findings.len());
    for finding in findings {
        let href = format!("/code/{}?line={}", finding["path"].as_str().expect("a path"), finding["line"]);
        let found = browser.js(&format!("return !!document.querySelector('table.findings a[href=\"{href}\"]');")).await;
        assert_eq!(found, json!(true), "a link to {href}");
    }
    let contracts = browser.client.find_all(Locator::Css("article.contract")).await.expect("contracts");
    assert_eq!(contracts.len(), 2, "the sample's two contracts");
    browser.shoot("architecture").await;
    let first = &findings[0];
    browser.click("table.findings tbody a").await;
    browser.until("document.querySelector('tr.target')").await;
    let id = browser.js("return document.querySelector('tr.target').id;").await;
    assert_eq!(id, json!(format!("L{}", first["line"])));

    // An error from the API is shown, not swallowed.
    browser.visit(&format!("/code/no/such.py{query}")).await;
    let shown = browser
        .until("document.querySelector('#errors .error') && document.querySelector('#errors .error').textContent")
        .await;
    assert!(shown.as_str().is_some_and(|t| t.contains("404")), "{shown}");
    // The browser logs the 404 itself: that one is expected.
    let logged = browser.console_errors().await;
    assert!(logged.iter().all(|e| e.contains("404")), "{logged:#?}");

    // History and indexing answer on every backend.
    browser.visit(&format!("/history{query}")).await;
    browser.shoot("history").await;
    browser.visit(&format!("/jobs{query}")).await;
    browser.shoot("jobs").await;
}

/// The graph of a real project becomes interactive; a chain shows every hop.
async fn graph(browser: &Browser, addr: SocketAddr, query: &str) {
    let whole = api(addr, &format!("/api/graph{query}")).await;
    let modules: Vec<&str> =
        whole["modules"].as_array().expect("modules").iter().filter_map(|m| m["name"].as_str()).collect();
    browser.visit(&format!("/graph{query}")).await;
    browser.until("document.querySelector('#graph[data-ready]')").await;
    let drawn = browser.js("return [window.pyatlasGraph.nodes().length, window.pyatlasGraph.edges().length];").await;
    assert_eq!(drawn, json!([modules.len(), whole["imports"].as_array().expect("imports").len()]));
    let ms = browser.js("return Number(document.querySelector('#graph').dataset.interactiveMs);").await;
    eprintln!("the graph of {} modules was interactive after {ms} ms", modules.len());
    browser.shoot("graph").await;
    // Packages collapse to a depth.
    let squashed = api(
        addr,
        &format!("/api/graph{}", if query.is_empty() { "?squash=1".to_owned() } else { format!("{query}&squash=1") }),
    )
    .await;
    browser
        .visit(&format!("/graph{}", if query.is_empty() { "?depth=1".to_owned() } else { format!("{query}&depth=1") }))
        .await;
    browser.until("document.querySelector('#graph[data-ready]')").await;
    let drawn = browser.js("return window.pyatlasGraph.nodes().length;").await;
    assert_eq!(drawn, json!(squashed["modules"].as_array().expect("modules").len()), "packages to depth 1");
    assert!(drawn.as_u64() < Some(modules.len() as u64), "collapsing draws fewer nodes");
    browser.visit(&format!("/graph{query}")).await;
    browser.until("document.querySelector('#graph[data-ready]')").await;

    // The longest chain among a few modules.
    let mut best: Option<(String, String, Vec<Value>)> = None;
    // From the least central (importers) to the most central (imported).
    for from in modules.iter().rev().take(30) {
        for to in modules.iter().take(8) {
            let chain = api(addr, &format!("/api/chain?from={from}&to={to}{}", query.replace('?', "&"))).await;
            if let Some(hops) = chain.as_array()
                && best.as_ref().is_none_or(|(_, _, b)| hops.len() > b.len())
            {
                best = Some(((*from).to_owned(), (*to).to_owned(), hops.clone()));
            }
        }
    }
    let (from, to, hops) = best.expect("some chain");
    browser.fill("#from", &from).await;
    browser.fill("#to", &to).await;
    browser.click(".chain-form button").await;
    browser.until("document.querySelector('ol.chain') && document.querySelector('#graph[data-ready]')").await;
    let items = browser.js("return [...document.querySelectorAll('ol.chain li')].map(li => li.textContent);").await;
    let items = items.as_array().expect("items");
    assert_eq!(items.len(), hops.len(), "every hop of {from} → {to}");
    for (item, hop) in items.iter().zip(&hops) {
        let text = item.as_str().expect("text");
        assert!(
            text.starts_with(&format!(
                "{} → {}",
                hop["importer"].as_str().expect("importer"),
                hop["imported"].as_str().expect("imported")
            )),
            "{text}"
        );
        for line in hop["lines"].as_array().expect("lines") {
            assert!(text.contains(&format!("line {line}")), "{text}");
        }
    }
    let marked = browser.js("return window.pyatlasGraph.edges('.chain').length;").await;
    assert_eq!(marked, json!(hops.len()), "the chain is drawn");
    browser.shoot("graph-chain").await;
    // A node opens its module.
    let first = &hops[0]["importer"];
    let opened = browser
        .js(&format!("const n = window.pyatlasGraph.getElementById({first}); n.emit('tap'); return document.querySelector('.graph-side a') && document.querySelector('.graph-side a').getAttribute('href');"))
        .await;
    let href = opened.as_str().expect("an Open module link").to_owned();
    browser.click(".graph-side a").await;
    browser.until("location.pathname.startsWith('/code/') && document.querySelector('table.code')").await;
    assert!(browser.path_and_query().await.starts_with(href.split('?').next().expect("a path")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_on_the_in_memory_backend() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let root = fixture(dir.path());
    let addr = start(Arc::new(MemoryMap::index(&root).await.expect("index the fixture")), None).await;
    let browser = Browser::open(addr, "memory").await;
    views(&browser, addr, "").await;
    graph(&browser, addr, "").await;

    // A real project nobody here wrote (scripts/test downloads the sdist).
    let sqlfluff = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/sdists/sqlfluff-4.5.0/src");
    let big = start(Arc::new(MemoryMap::index(&sqlfluff).await.expect("index sqlfluff")), None).await;
    let browser = Browser::open(big, "sqlfluff").await;
    graph(&browser, big, "").await;
}

/// Submits a job over the API.
async fn submit(addr: SocketAddr, root: &Path, project: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/jobs"))
        .json(&json!({"root": root, "project": project}))
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), 202);
    response.json().await.expect("a job")
}

fn config() -> StoreConfig {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("s_ui_{}_{nanos}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_on_the_store_indexes_and_diffs_runs() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let root = std::fs::canonicalize(fixture(dir.path())).expect("the fixture");
    let config = config();
    let store = Store::connect(config.clone()).await.expect("connect");
    let stdlib = stdlib();
    let jobs = Jobs::new(store.clone(), vec![dir.path().to_owned(), stdlib.clone()], Arc::new(HashEmbedder::default()))
        .expect("allowed folders")
        .heartbeat(Duration::from_millis(100));
    let addr = start(Arc::new(StoreMap::new(store)), Some(jobs)).await;
    let browser = Browser::open(addr, "store").await;

    // Indexing: a job started from the page; its bar reaches 100%.
    browser.visit("/jobs").await;
    browser.fill("#root", &root.display().to_string()).await;
    browser.fill("#job-project", "shopfront").await;
    browser.click("form.row button").await;
    browser.until("document.querySelector('#progress')").await;
    browser.until("document.querySelector('#job-state .badge') && document.querySelector('#job-state .badge').textContent !== 'queued' && document.querySelector('#job-state .badge').textContent !== 'running'").await;
    let state = browser.js("return document.querySelector('#job-state .badge').textContent;").await;
    assert_eq!(state, json!("succeeded"));
    let bar = browser.js("const p = document.querySelector('#progress'); return [p.value, p.max];").await;
    assert_eq!(bar[0], bar[1], "the progress bar is full: {bar}");
    let files = api(addr, "/api/files?project=shopfront").await;
    let stored = files.as_array().expect("files").len() as u64;
    assert!(bar[1].as_u64().is_some_and(|found| found >= stored && stored > 5), "a bar over every file found: {bar}");
    browser.shoot("jobs-done").await;

    views(&browser, addr, "?project=shopfront").await;
    graph(&browser, addr, "?project=shopfront").await;

    // A long job (the standard library), cancelled from the page.
    let job = submit(addr, &stdlib, "stdlib").await;
    browser.visit(&format!("/jobs?job={}", job["id"])).await;
    browser.until("document.querySelector('#progress') && document.querySelector('#progress').value > 0").await;
    browser.click("button.cancel").await;
    browser.until("document.querySelector('#job-state .badge').textContent === 'cancelled'").await;
    let bar = browser.js("const p = document.querySelector('#progress'); return p.value < p.max;").await;
    assert_eq!(bar, json!(true), "cancelled before the end");
    assert!(browser.console_errors().await.is_empty());

    // A second run, with the planted function changed: the diff shows it.
    let changed = LEDGER.replace("    return unmatched\n", "    unmatched.sort()\n    return unmatched\n");
    std::fs::write(root.join("shop/ledger.py"), changed).expect("edit");
    let job = submit(addr, &root, "shopfront").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = api(addr, &format!("/api/jobs/{}", job["id"])).await;
        if now["state"] == "succeeded" {
            break;
        }
        assert!(!["failed", "cancelled"].contains(&now["state"].as_str().unwrap_or_default()), "{now}");
        assert!(Instant::now() < deadline, "the second job did not end");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.visit("/history?project=shopfront").await;
    browser.click("form.row button").await;
    browser.until("document.querySelector('.diff')").await;
    let changed = browser
        .js("return [...document.querySelectorAll('.diff section')].find(s => s.querySelector('h2').textContent.startsWith('Chunks changed')).textContent;")
        .await;
    let changed = changed.as_str().expect("text");
    assert!(changed.contains("shop/ledger.py") && changed.contains(PLANTED), "{changed}");
    browser.shoot("history-diff").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_asks_for_the_token_and_sends_it() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let root = fixture(dir.path());
    let map = Arc::new(MemoryMap::index(&root).await.expect("index the fixture"));
    let token = pyatlas_serve::Token::new("ui-s3cret").expect("a token");
    let addr = support::start_with(map, pyatlas_serve::ServeOptions { token: Some(token), ..Default::default() }).await;
    let browser = Browser::open(addr, "token").await;
    browser.visit("/architecture").await;
    let shown = browser
        .until("document.querySelector('#errors .error') && document.querySelector('#errors .error').textContent")
        .await;
    assert!(shown.as_str().is_some_and(|t| t.contains("401") && !t.contains("s3cret")), "{shown}");
    browser.fill("#token", "ui-s3cret\u{E007}").await;
    browser.until("document.querySelector('table.findings')").await;
    assert_eq!(browser.js("return document.querySelectorAll('#errors .error').length;").await, json!(0));
    // The token stays in the tab for the next view.
    browser.click("nav a[href='/graph']").await;
    browser.until("document.querySelector('#graph[data-ready]')").await;
}
