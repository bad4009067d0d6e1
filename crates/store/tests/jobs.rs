//! Index jobs in a real PostgreSQL (`DATABASE_URL`): one worker at a time,
//! takeover of a silent worker, cancels, and an ordered event log.

use std::time::Duration;

use pyatlas_store::{JobId, JobState, Store, StoreConfig, StoreError};

async fn store() -> Store {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("this test needs a PostgreSQL with pgvector: set DATABASE_URL or run scripts/test"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let config = StoreConfig::new(&url).expect("DATABASE_URL").schema(format!("t_jobs_{}_{nanos}", std::process::id()));
    Store::connect(config).await.expect("connect")
}

const STALE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_job_has_one_worker_at_a_time_and_a_silent_one_is_replaced() {
    let store = store().await;
    let job = store.enqueue_job("shop", "/src/shop").await.expect("queued");
    assert_eq!((job.state, job.run, job.started_at.as_deref()), (JobState::Queued, None, None));
    let (a, b) = tokio::join!(store.claim_job(job.id, "a", STALE), store.claim_job(job.id, "b", STALE));
    let claimed = [a.expect("claim"), b.expect("claim")];
    assert_eq!(claimed.iter().flatten().count(), 1, "exactly one worker takes it: {claimed:?}");
    let (owner, other) = if claimed[0].is_some() { ("a", "b") } else { ("b", "a") };
    assert!(store.job_heartbeat(job.id, owner).await.expect("beat"));
    assert!(!store.job_heartbeat(job.id, other).await.expect("beat"), "not the other's");
    assert!(store.takeable_jobs(STALE).await.expect("open").is_empty());

    // Silent for longer than the stale interval: taken over.
    tokio::time::sleep(STALE * 2).await;
    assert_eq!(store.takeable_jobs(STALE).await.expect("open").len(), 1);
    let taken = store.claim_job(job.id, other, STALE).await.expect("claim").expect("taken over");
    assert_eq!(taken.state, JobState::Running);
    assert!(!store.job_heartbeat(job.id, owner).await.expect("beat"), "the old worker learns it lost the job");
    assert!(store.finish_job(job.id, owner, JobState::Succeeded, None).await.expect("finish").is_none());
    let done = store.finish_job(job.id, other, JobState::Failed, Some("why")).await.expect("finish").expect("ended");
    assert_eq!((done.state, done.error.as_deref()), (JobState::Failed, Some("why")));
    assert!(done.finished_at.is_some());
    assert!(store.claim_job(job.id, owner, STALE).await.expect("claim").is_none(), "an ended job stays ended");
}

#[tokio::test]
async fn cancels_and_interruptions() {
    let store = store().await;
    let queued = store.enqueue_job("a", "/a").await.expect("queued");
    let cancelled = store.cancel_job(queued.id).await.expect("cancel").expect("recorded");
    assert_eq!((cancelled.state, cancelled.cancel_requested), (JobState::Cancelled, true));
    assert!(store.claim_job(queued.id, "w", STALE).await.expect("claim").is_none());

    let running = store.enqueue_job("b", "/b").await.expect("queued");
    store.claim_job(running.id, "w", STALE).await.expect("claim").expect("taken");
    let asked = store.cancel_job(running.id).await.expect("cancel").expect("recorded");
    assert_eq!((asked.state, asked.cancel_requested), (JobState::Running, true));
    assert!(!store.job_heartbeat(running.id, "w").await.expect("beat"), "the worker hears the cancel");
    store.finish_job(running.id, "w", JobState::Cancelled, None).await.expect("finish");
    assert_eq!(store.cancel_job(running.id).await.expect("cancel"), None, "an ended job");
    assert_eq!(store.cancel_job(queued.id).await.expect("cancel"), None, "an ended job");

    let interrupted = store.enqueue_job("c", "/c").await.expect("queued");
    store.claim_job(interrupted.id, "w", STALE).await.expect("claim").expect("taken");
    let left = store.finish_job(interrupted.id, "w", JobState::Interrupted, None).await.expect("finish").expect("left");
    assert_eq!((left.state, left.finished_at), (JobState::Interrupted, None));
    let open: Vec<JobId> = store.takeable_jobs(STALE).await.expect("open").iter().map(|j| j.id).collect();
    assert_eq!(open, [interrupted.id]);
    assert!(store.claim_job(interrupted.id, "v", STALE).await.expect("claim").is_some(), "resumable");

    assert!(matches!(store.job(JobId::new(-1)).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.cancel_job(JobId::new(-1)).await, Err(StoreError::NotFound { .. })));
    let page = store.jobs(None, 2).await.expect("jobs");
    assert_eq!(page.iter().map(|j| j.id).collect::<Vec<_>>(), [interrupted.id, running.id]);
    let rest = store.jobs(Some(running.id), 10).await.expect("jobs");
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), [queued.id]);
}

#[tokio::test]
async fn events_are_numbered_in_order() {
    let store = store().await;
    let job = store.enqueue_job("a", "/a").await.expect("queued");
    for n in 0..5 {
        assert_eq!(store.add_job_event(job.id, &serde_json::json!({ "n": n })).await.expect("event"), n + 1);
    }
    let events: Vec<(i32, serde_json::Value)> = store.job_events(job.id, 2, 2).await.expect("events");
    assert_eq!(events, [(3, serde_json::json!({ "n": 2 })), (4, serde_json::json!({ "n": 3 }))]);
    let typed = store.job_events::<u32>(job.id, 0, 10).await;
    assert!(matches!(typed, Err(StoreError::Corrupt { .. })), "an event of another type is refused: {typed:?}");
}
