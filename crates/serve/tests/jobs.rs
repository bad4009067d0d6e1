//! Index jobs on a real PostgreSQL (`DATABASE_URL`), through two servers on
//! one database: one allowed to index, one not. Any server shows, streams
//! and cancels a job the other runs; a job interrupted by a stopping server
//! is taken up again by the next one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pyatlas_embed::HashEmbedder;
use pyatlas_query::{MemoryMap, StoreMap};
use pyatlas_serve::{Jobs, ServeOptions, router, serve};
use pyatlas_store::{Store, StoreConfig};
use serde_json::{Value, json};

#[path = "support/stdlib.rs"]
mod stdlib;
use stdlib::stdlib;

fn config(test: &str) -> StoreConfig {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("s_jobs_{test}_{}_{nanos}", std::process::id()))
}

fn examples() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")).expect("examples")
}

async fn jobs(config: &StoreConfig, allow: Vec<PathBuf>) -> Jobs {
    let store = Store::connect(config.clone()).await.expect("connect");
    Jobs::new(store, allow, Arc::new(HashEmbedder::default()))
        .expect("allowed folders")
        .heartbeat(Duration::from_millis(100))
}

async fn server(config: &StoreConfig, jobs: Jobs) -> SocketAddr {
    let store = Store::connect(config.clone()).await.expect("connect");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let options = ServeOptions { jobs: Some(jobs), ..ServeOptions::default() };
    tokio::spawn(serve(listener, router(Arc::new(StoreMap::new(store)), options), std::future::pending()));
    addr
}

async fn post(addr: SocketAddr, route: &str, body: &Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(format!("http://{addr}{route}")).json(body).send().await.expect("a response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn get(addr: SocketAddr, route: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{route}")).await.expect("a response");
    (response.status().as_u16(), response.text().await.expect("a body"))
}

/// One Server-Sent Event: its name, id and data.
#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<i64>,
    data: Value,
}

/// Reads a job's event stream, calling `each` on every event as it comes,
/// to its end.
async fn stream(addr: SocketAddr, job: i64, after: Option<i64>, mut each: impl AsyncFnMut(&Sse)) -> Vec<Sse> {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/api/jobs/{job}/events"));
    if let Some(after) = after {
        request = request.header("Last-Event-ID", after.to_string());
    }
    let mut response = request.send().await.expect("a stream");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (mut text, mut events) = (String::new(), Vec::new());
    let read = async {
        while let Some(chunk) = response.chunk().await.expect("the stream goes on") {
            text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let mut sse = Sse { event: String::new(), id: None, data: Value::Null };
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        sse.event = name.to_owned();
                    } else if let Some(id) = line.strip_prefix("id: ") {
                        sse.id = id.parse().ok();
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        sse.data = serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()));
                    }
                }
                if !sse.event.is_empty() {
                    each(&sse).await;
                    events.push(sse);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(600), read).await.expect("the stream ends");
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_streams_to_completion_and_every_server_sees_it() {
    let config = config("done");
    let a = server(&config, jobs(&config, vec![examples()]).await).await;
    let b = server(&config, jobs(&config, Vec::new()).await).await;
    let root = examples().join("sample");
    let (status, job) = post(a, "/api/jobs", &json!({ "root": root, "project": "shop" })).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["project"], "shop");
    let id = job["id"].as_i64().expect("an id");

    // Streamed from the server that does not run it.
    let events = stream(b, id, None, async |_| {}).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert!(names.contains(&"started"), "{names:?}");
    assert_eq!(names.last(), Some(&"end"), "{names:?}");
    let stages: Vec<&str> =
        events.iter().filter(|e| e.event == "stage").filter_map(|e| e.data["stage"].as_str()).collect();
    assert_eq!(stages, ["discover", "files", "drift", "edges", "complete"]);
    let progress = events.iter().rfind(|e| e.event == "progress").expect("progress");
    assert_eq!(progress.data["files_done"], progress.data["files_total"]);
    let ids: Vec<i64> = events.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids.len() == events.len() - 1, "{ids:?}");
    let end = &events.last().expect("end").data;
    assert_eq!(end["state"], "succeeded", "{end}");
    let run = end["run"].as_i64().expect("the job's run");

    // Both servers give the same job, and the run is served.
    let (sa, ja) = get(a, &format!("/api/jobs/{id}")).await;
    let (sb, jb) = get(b, &format!("/api/jobs/{id}")).await;
    assert_eq!((sa, &ja), (sb, &jb));
    assert_eq!(sa, 200);
    let (_, info) = get(b, "/api/run?project=shop").await;
    assert_eq!(serde_json::from_str::<Value>(&info).expect("JSON")["id"], run);
    let (_, list) = get(b, "/api/jobs?limit=1").await;
    assert_eq!(serde_json::from_str::<Value>(&list).expect("JSON")["jobs"][0]["id"], id);

    // A stream continues after the event a client last saw.
    let rest = stream(a, id, Some(ids[1]), async |_| {}).await;
    assert_eq!(rest.first().and_then(|e| e.id), Some(ids[2]));
    assert_eq!(rest.len(), events.len() - 2);

    // An ended job cannot be cancelled.
    let (status, problem) = post(b, &format!("/api/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_cancelled_from_another_server_and_its_run_left_resumable() {
    let config = config("cancel");
    let stdlib = stdlib();
    let a = server(&config, jobs(&config, vec![stdlib.clone()]).await).await;
    let b = server(&config, jobs(&config, Vec::new()).await).await;
    let (status, job) = post(a, "/api/jobs", &json!({ "root": stdlib, "project": "stdlib" })).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("an id");
    let mut cancelled = false;
    let events = stream(b, id, None, async |event| {
        if event.event == "progress" && !cancelled {
            cancelled = true;
            let (status, job) = post(b, &format!("/api/jobs/{id}/cancel"), &json!({})).await;
            assert_eq!(status, 202, "{job}");
            assert_eq!(job["cancel_requested"], true);
        }
    })
    .await;
    assert!(cancelled, "no progress before the end: {events:?}");
    let end = &events.last().expect("end").data;
    assert_eq!(end["state"], "cancelled", "{end}");
    let progress = events.iter().rfind(|e| e.event == "progress").expect("progress");
    assert!(progress.data["files_done"].as_u64() < progress.data["files_total"].as_u64(), "{:?}", progress.data);
    // Its run is left running, to be resumed by the next run of the project.
    let (_, runs) = get(a, "/api/projects/stdlib/runs").await;
    let runs: Value = serde_json::from_str(&runs).expect("JSON");
    assert_eq!(runs[0]["id"], end["run"]);
    assert_eq!(runs[0]["status"], "running");
    // Cancelled once, it has ended.
    let (status, problem) = post(a, &format!("/api/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_leaves_its_job_to_the_next() {
    let config = config("resume");
    let stdlib = stdlib();
    let first = jobs(&config, vec![stdlib.clone()]).await;
    let a = server(&config, first.clone()).await;
    let (status, job) = post(a, "/api/jobs", &json!({ "root": stdlib.join("email"), "project": "email" })).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("an id");
    // Stopped once its run has begun.
    loop {
        let (_, job) = get(a, &format!("/api/jobs/{id}")).await;
        let job: Value = serde_json::from_str(&job).expect("JSON");
        assert_eq!(job["state"], "running", "{job}");
        if !job["run"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.stop();
    first.stopped().await;
    let (_, job) = get(a, &format!("/api/jobs/{id}")).await;
    let job: Value = serde_json::from_str(&job).expect("JSON");
    assert_eq!(job["state"], "interrupted", "{job}");
    let (status, _) = post(a, "/api/jobs", &json!({ "root": stdlib.join("json") })).await;
    assert_eq!(status, 503, "a stopping server takes no job");

    let next = jobs(&config, vec![stdlib]).await;
    let taken = next.resume().await.expect("resume");
    assert_eq!(taken.iter().map(|j| j.get()).collect::<Vec<_>>(), [id]);
    let b = server(&config, next).await;
    let events = stream(b, id, None, async |_| {}).await;
    let end = &events.last().expect("end").data;
    assert_eq!(end["state"], "succeeded", "{end}");
    // Its run was resumed, not begun again.
    let resumed = events.iter().rev().filter(|e| e.event == "started").find_map(|e| e.data["resumed"].as_bool());
    assert_eq!(resumed, Some(true), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_job_requests_are_refused_with_problems() {
    let config = config("bad");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let allowed = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::create_dir(allowed.join("pkg")).expect("a folder");
    std::fs::write(allowed.join("pkg/a.py"), "x = 1\n").expect("a file");
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc", allowed.join("out")).expect("a link");
    let a = server(&config, jobs(&config, vec![allowed.clone()]).await).await;
    let b = server(&config, jobs(&config, Vec::new()).await).await;
    let at = |p: &str| allowed.join(p).to_string_lossy().into_owned();
    let cases = [
        (json!({ "root": "pkg" }), 400),
        (json!({ "root": format!("{}/pkg/../..", allowed.display()) }), 400),
        (json!({ "root": "/etc" }), 403),
        (json!({ "root": at("pkg\0x") }), 400),
        (json!({ "root": at("nothing") }), 404),
        (json!({ "root": at("pkg/a.py") }), 400),
        (json!({ "root": at("out") }), 403),
        (json!({ "root": at("pkg"), "extra": 1 }), 400),
        (json!({ "root": at("pkg"), "project": "" }), 400),
        (json!({ "root": at("pkg"), "project": "a\u{7}b" }), 400),
        (json!({ "root": "" }), 400),
        (json!({ "root": "/".repeat(5000) }), 400),
        (json!({ "root": 5 }), 400),
        (json!([]), 400),
    ];
    for (body, expected) in cases {
        let (status, problem) = post(a, "/api/jobs", &body).await;
        assert_eq!(status, expected, "{body}: {problem}");
        assert_eq!(problem["status"], expected, "{problem}");
    }
    // A server allowed nothing refuses every root.
    let (status, _) = post(b, "/api/jobs", &json!({ "root": at("pkg") })).await;
    assert_eq!(status, 403);
    let client = reqwest::Client::new();
    let url = format!("http://{a}/api/jobs");
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(client.post(&url).body("{}").send().await.expect("sent")), 415);
    let big = reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..80).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])),
    ));
    let sent = client.post(&url).header("content-type", "application/json").body(big).send().await;
    assert_eq!(status(sent.expect("sent")), 413, "a body without a length, over the limit");
    for (route, expected) in
        [("/api/jobs/x", 400), ("/api/jobs/99999", 404), ("/api/jobs/99999/events", 404), ("/api/jobs?limit=0", 400)]
    {
        assert_eq!(get(a, route).await.0, expected, "{route}");
    }
    assert_eq!(post(a, "/api/jobs/99999/cancel", &json!({})).await.0, 404);

    // The in-memory backend has no jobs.
    let map = MemoryMap::index(examples().join("sample")).await.expect("the sample");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let memory = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, router(Arc::new(map), ServeOptions::default()), std::future::pending()));
    assert_eq!(post(memory, "/api/jobs", &json!({ "root": at("pkg") })).await.0, 404);
    assert_eq!(get(memory, "/api/jobs").await.0, 404);
}
