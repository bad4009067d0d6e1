//! A headless Chromium driven by its own chromedriver over WebDriver
//! (fantoccini), and a server on loopback for it: shared by the browser
//! tests and the graph benchmark.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use pyatlas_query::CodeMap;
use pyatlas_serve::{Jobs, ServeOptions, router, serve};
use serde_json::{Value, json};

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) async fn start(map: Arc<dyn CodeMap>, jobs: Option<Jobs>) -> SocketAddr {
    start_with(map, ServeOptions { jobs, ..ServeOptions::default() }).await
}

/// A server for `map` on loopback, with `options`.
pub(crate) async fn start_with(map: Arc<dyn CodeMap>, options: ServeOptions) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, router(map, options), std::future::pending()));
    addr
}

/// A headless Chromium, driven by its own chromedriver.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    pub(crate) base: String,
    shots: PathBuf,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Chromium outlives a killed chromedriver: the driver runs in its own
    /// process group, and the whole group goes (the browser with it), even
    /// when a test panics before it could end the session.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The browser's console since the last call (chromedriver's log endpoint).
#[derive(Debug)]
struct ConsoleLog;

impl WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

impl Browser {
    pub(crate) async fn open(addr: SocketAddr, label: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("port").port();
        let driver = Command::new(which("chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver runs (scripts/test installs chromium-driver)");
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut caps = Capabilities::new();
        let mut chrome = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1280,800",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if Path::new("/usr/bin/chromium").exists() {
            chrome["binary"] = json!("/usr/bin/chromium");
        }
        caps.insert("goog:chromeOptions".to_owned(), chrome);
        caps.insert("goog:loggingPrefs".to_owned(), json!({"browser": "ALL"}));
        let deadline = Instant::now() + WAIT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots").join(label);
        std::fs::create_dir_all(&shots).expect("the screenshots folder");
        Self { client, driver, base: format!("http://{addr}"), shots, _profile: profile }
    }

    /// Goes to `path` and waits for its view to be shown.
    pub(crate) async fn visit(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("goto");
        self.rendered().await;
    }

    /// Waits until the view has been shown (or has shown its error).
    pub(crate) async fn rendered(&self) {
        self.until("document.body.dataset.ready !== undefined && !document.querySelector('main .loading')").await;
    }

    /// Waits until `script` (an expression) is truthy; returns its value.
    pub(crate) async fn until(&self, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.client.execute(&format!("return ({script});"), vec![]).await.expect("a script runs");
            if !(value.is_null() || value == json!(false) || value == json!(0) || value == json!("")) {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {WAIT:?} for {script}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the element `css` names.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        field.send_keys(text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Clicks the element `css` names.
    pub(crate) async fn click(&self, css: &str) {
        let element = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("a script runs")
    }

    pub(crate) async fn path_and_query(&self) -> String {
        let url = self.client.current_url().await.expect("a URL");
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    }

    /// Errors the page wrote to the console since the last call.
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(ConsoleLog).await.expect("the console log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Screenshots of the view at 1280×800 and at 390 pixels wide, and a
    /// check that the page neither errs nor overflows at either width.
    pub(crate) async fn shoot(&self, view: &str) {
        for (width, height) in [(1280, 800), (390, 844)] {
            self.client.set_window_size(width, height).await.expect("resize");
            tokio::time::sleep(Duration::from_millis(150)).await;
            let png = self.client.screenshot().await.expect("a screenshot");
            std::fs::write(self.shots.join(format!("{view}-{width}.png")), png).expect("save the screenshot");
            let overflow = self.js("return document.documentElement.scrollWidth - window.innerWidth;").await;
            assert!(overflow.as_i64().unwrap_or(0) <= 1, "{view} overflows {width} px by {overflow} px");
        }
        self.client.set_window_size(1280, 800).await.expect("resize");
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "{view} wrote errors to the console: {errors:#?}");
    }
}

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")])
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed (scripts/test installs chromium and chromium-driver)"))
}
