//! Load on the HTTP API: 32 concurrent clients for 30 s over the mix of
//! the serve issue (50% search, 20% symbol look-up, 20% file view, 10%
//! module graph), against the standard library, on one backend. Prints
//! throughput, p50/p95/p99 per kind and overall, errors, and the peak RSS
//! of the process after the index was built (the in-memory backend's).
//!
//! ```text
//! cargo bench --bench serve_load -- memory
//! DATABASE_URL=postgres://... cargo bench --bench serve_load -- store
//! cargo bench --bench serve_load -- memory --seconds 10 --clients 8 --root path/to/code
//! cargo bench --bench serve_load -- memory --clients 1 --direct   # each question's own cost
//! ```
//! The server and the clients share the process (and the machine's cores):
//! the figures are the server's under that load, not its best. The store
//! backend indexes the root into schema `bench_serve` once and reuses it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyatlas::index::Indexer;
use pyatlas::query::{At, CodeMap, MemoryMap, Search, StoreMap};
use pyatlas::serve::{ServeOptions, router, serve};
use pyatlas::store::{Store, StoreConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KINDS: [&str; 4] = ["search", "symbol", "file", "graph"];

struct Options {
    backend: String,
    root: PathBuf,
    seconds: u64,
    clients: usize,
    /// Ask the map directly instead of through HTTP: the questions' own cost.
    direct: bool,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut options = Options { backend: "memory".into(), root: stdlib(), seconds: 30, clients: 32, direct: false };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => options.root = args.next().map(PathBuf::from).expect("--root PATH"),
            "--seconds" => options.seconds = args.next().and_then(|s| s.parse().ok()).expect("--seconds N"),
            "--clients" => options.clients = args.next().and_then(|s| s.parse().ok()).expect("--clients N"),
            "--direct" => options.direct = true,
            "memory" | "store" => options.backend = arg,
            other => panic!("unknown argument {other:?} (memory|store, --root, --seconds, --clients, --direct)"),
        }
    }
    options
}

fn stdlib() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

async fn map(options: &Options) -> Arc<dyn CodeMap> {
    let clock = Instant::now();
    let map: Arc<dyn CodeMap> = if options.backend == "memory" {
        Arc::new(MemoryMap::index(&options.root).await.expect("index into memory"))
    } else {
        let url = std::env::var("DATABASE_URL").expect("the store backend needs DATABASE_URL");
        let store =
            Store::connect(StoreConfig::new(&url).expect("DATABASE_URL").schema("bench_serve")).await.expect("connect");
        let indexer = Indexer::builder(&options.root).build().expect("indexer");
        if store.latest_complete_run(indexer.project()).await.is_err() {
            indexer.run(&store).await.expect("index into the store");
        }
        Arc::new(StoreMap::new(store))
    };
    let run = map.run(&At::latest()).await.expect("a run");
    eprintln!(
        "{} backend ready in {:.1} s: project {}, run {}, {} chunks; peak RSS {:.0} MiB",
        options.backend,
        clock.elapsed().as_secs_f64(),
        run.project,
        run.id,
        run.summary.get("chunks").and_then(serde_json::Value::as_u64).unwrap_or(0),
        peak_rss_mib()
    );
    map
}

/// One request of the mix: its kind (an index in `KINDS`) and its words.
#[derive(Clone)]
struct Request {
    kind: usize,
    text: String,
}

impl Request {
    fn path(&self) -> String {
        match self.kind {
            0 => format!("/api/search?q={}&k=10", self.text.replace(' ', "%20")),
            1 => format!("/api/symbols?q={}&limit=10", self.text),
            2 => format!("/api/files/{}", self.text),
            _ => format!("/api/modules/{}/graph?depth=1", self.text),
        }
    }

    /// The same question asked of the map directly, without HTTP.
    async fn ask(&self, map: &dyn CodeMap) -> bool {
        let at = At::latest();
        match self.kind {
            0 => map.search(&at, &Search::new(&self.text).k(10)).await.is_ok(),
            1 => map.symbols(&at, &self.text, 10).await.is_ok(),
            2 => map.file(&at, &self.text).await.is_ok(),
            _ => map.module_graph(&at, &self.text, 1, None).await.is_ok(),
        }
    }
}

/// The requests of each kind, built from the index itself.
async fn requests(map: &dyn CodeMap) -> [Vec<Request>; 4] {
    let at = At::latest();
    let files = map.files(&at).await.expect("files");
    let symbols = map.symbols(&at, "e", 200).await.expect("symbols");
    let words = [
        "parse a header",
        "open a file",
        "read the configuration",
        "socket timeout",
        "encode json",
        "lock a thread",
        "format a date",
        "compress data",
    ];
    let request = |kind: usize| move |text: &str| Request { kind, text: text.to_owned() };
    let search = symbols.iter().map(|s| s.name.as_str()).chain(words).map(request(0)).collect();
    let symbol = symbols.iter().map(|s| &s.name[..s.name.len().min(5)]).map(request(1)).collect();
    let file = files.iter().step_by((files.len() / 200).max(1)).map(|f| f.path.as_str()).map(request(2)).collect();
    let graph = files.iter().step_by((files.len() / 100).max(1)).map(|f| f.module.as_str()).map(request(3)).collect();
    [search, symbol, file, graph]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let map = map(&options).await;
        let requests = Arc::new(requests(map.as_ref()).await);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr: SocketAddr = listener.local_addr().expect("address");
        tokio::spawn(serve(listener, router(map.clone(), ServeOptions::default()), std::future::pending()));
        let client = reqwest::Client::builder().pool_max_idle_per_host(options.clients).build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(options.seconds);
        let started = Instant::now();
        let tasks: Vec<_> = (0..options.clients)
            .map(|i| {
                let (client, requests, map) = (client.clone(), requests.clone(), map.clone());
                let direct = options.direct;
                tokio::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(i as u64);
                    let mut latencies: [Vec<f64>; 4] = Default::default();
                    let mut errors = 0u64;
                    while Instant::now() < deadline {
                        let roll = rng.u32(0..10);
                        let kind = match roll {
                            0..=4 => 0,
                            5 | 6 => 1,
                            7 | 8 => 2,
                            _ => 3,
                        };
                        let list = &requests[kind];
                        let request = &list[rng.usize(0..list.len())];
                        let clock = Instant::now();
                        let ok = if direct {
                            request.ask(map.as_ref()).await
                        } else {
                            match client.get(format!("http://{addr}{}", request.path())).send().await {
                                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                                Err(_) => false,
                            }
                        };
                        latencies[kind].push(clock.elapsed().as_secs_f64() * 1000.0);
                        errors += u64::from(!ok);
                    }
                    (latencies, errors)
                })
            })
            .collect();
        let mut all: [Vec<f64>; 4] = Default::default();
        let mut errors = 0;
        for task in tasks {
            let (latencies, e) = task.await.expect("a client");
            for (into, from) in all.iter_mut().zip(latencies) {
                into.extend(from);
            }
            errors += e;
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut overall: Vec<f64> = all.iter().flatten().copied().collect();
        overall.sort_by(f64::total_cmp);
        println!(
            "{} backend{}, {} clients, {:.0} s: {} requests, {:.0} req/s, {errors} errors; peak RSS {:.0} MiB",
            options.backend,
            if options.direct { " (asked directly, no HTTP)" } else { "" },
            options.clients,
            seconds,
            overall.len(),
            overall.len() as f64 / seconds,
            peak_rss_mib()
        );
        println!("{:<8} {:>8} {:>9} {:>9} {:>9}", "kind", "requests", "p50 ms", "p95 ms", "p99 ms");
        for (kind, mut latencies) in KINDS.iter().zip(all) {
            latencies.sort_by(f64::total_cmp);
            let p = |q| percentile(&latencies, q);
            println!("{kind:<8} {:>8} {:>9.1} {:>9.1} {:>9.1}", latencies.len(), p(0.5), p(0.95), p(0.99));
        }
        let p = |q| percentile(&overall, q);
        println!("{:<8} {:>8} {:>9.1} {:>9.1} {:>9.1}", "all", overall.len(), p(0.5), p(0.95), p(0.99));
    });
}
