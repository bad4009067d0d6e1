//! Index jobs: a root under an allowed folder, indexed into the store by
//! the server that accepted it, while every server on the database can
//! show, stream and cancel it. Jobs and their events live in the store;
//! a server holds only the tasks of the jobs it runs.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use pyatlas_embed::Embedder;
use pyatlas_index::{CancellationToken, IndexError, IndexEvent, Indexer};
use pyatlas_query::QueryError;
use pyatlas_store::{JobId, JobInfo, JobState, Store, StoreError};
use tokio_util::task::TaskTracker;

use crate::Problem;

/// Longest root path or project name a request may give.
const MAX_ROOT: usize = 4096;
const MAX_PROJECT: usize = 200;

/// What a server needs to run index jobs: the store, the folders whose
/// subfolders may be indexed, and the embedder. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Each allowed folder, as given (absolute) and canonical.
    allow: Vec<(PathBuf, PathBuf)>,
    embedder: Arc<dyn Embedder>,
    /// This process, as the jobs table names it.
    worker: String,
    heartbeat: Duration,
    stop: CancellationToken,
    tasks: TaskTracker,
    streams: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("allow", &self.inner.allow.iter().map(|a| &a.1).collect::<Vec<_>>())
            .field("worker", &self.inner.worker)
            .field("running", &self.inner.tasks.len())
            .finish_non_exhaustive()
    }
}

/// Why jobs cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobsError {
    /// An allowed folder cannot be resolved.
    #[error("--allow-root {}: {source}", path.display())]
    Allow {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Jobs {
    /// Jobs on `store`, for roots under the folders `allow`, embedded by
    /// `embedder`. Each allowed folder must exist.
    ///
    /// # Errors
    /// [`JobsError::Allow`] for a folder that cannot be resolved.
    pub fn new(
        store: Store,
        allow: impl IntoIterator<Item = PathBuf>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Self, JobsError> {
        let allow = allow
            .into_iter()
            .map(|given| {
                let canonical =
                    std::fs::canonicalize(&given).map_err(|source| JobsError::Allow { path: given.clone(), source })?;
                let absolute = std::path::absolute(&given).unwrap_or_else(|_| canonical.clone());
                Ok((absolute, canonical))
            })
            .collect::<Result<_, JobsError>>()?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                allow,
                embedder,
                worker: format!("pid {} at {nanos}", std::process::id()),
                heartbeat: Duration::from_secs(1),
                stop: CancellationToken::new(),
                tasks: TaskTracker::new(),
                streams: Arc::new(tokio::sync::Semaphore::new(64)),
            }),
        })
    }

    /// How often a running job's worker says it is alive and looks for a
    /// cancel (default 1 s). A job whose worker has been silent for ten
    /// heartbeats may be taken over. Set before the jobs are shared.
    #[must_use]
    pub fn heartbeat(mut self, every: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.heartbeat = every.max(Duration::from_millis(10));
        }
        self
    }

    /// Takes up the jobs left queued, interrupted, or abandoned by a
    /// worker that died, whose roots this server allows; returns them.
    ///
    /// # Errors
    /// The store's.
    pub async fn resume(&self) -> Result<Vec<JobId>, StoreError> {
        let mut taken = Vec::new();
        for job in self.inner.store.takeable_jobs(self.stale()).await? {
            if self.allowed_canonical(Path::new(&job.root)) && self.take(job.id).await? {
                taken.push(job.id);
            }
        }
        Ok(taken)
    }

    /// Takes up open jobs ([`Jobs::resume`]) now and after every stale
    /// interval (ten heartbeats), until [`Jobs::stop`]: a job whose worker
    /// was killed is finished by a server still standing. Spawn it.
    pub async fn watch(self) {
        loop {
            // A store that cannot be reached now may be reached next time.
            let _ = self.resume().await;
            tokio::select! {
                () = self.inner.stop.cancelled() => return,
                () = tokio::time::sleep(self.stale()) => {}
            }
        }
    }

    /// Stops: running jobs end `interrupted` (their runs resumable), and
    /// event streams end. Wait for [`Jobs::stopped`] before exiting.
    pub fn stop(&self) {
        self.inner.stop.cancel();
        self.inner.tasks.close();
    }

    /// Resolves when every job this server ran has recorded how it ended.
    pub async fn stopped(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn stopping(&self) -> &CancellationToken {
        &self.inner.stop
    }

    pub(crate) fn stream_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.inner.streams).try_acquire_owned().ok()
    }

    fn stale(&self) -> Duration {
        self.inner.heartbeat * 10
    }

    /// Accepts a job: `root` must resolve under an allowed folder.
    pub(crate) async fn submit(&self, root: &str, project: Option<&str>) -> Result<JobInfo, Problem> {
        if self.inner.stop.is_cancelled() {
            return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping"));
        }
        let root = self.resolve(root).await?;
        let project = match project {
            Some(name) => check_project(name)?,
            None => root.file_name().map_or_else(|| "root".to_owned(), |n| n.to_string_lossy().into_owned()),
        };
        let root = root.to_str().ok_or_else(|| Problem::bad("the root is not UTF-8"))?;
        let job = self.inner.store.enqueue_job(&project, root).await.map_err(store_problem)?;
        self.take(job.id).await.map_err(store_problem)?;
        self.inner.store.job(job.id).await.map_err(store_problem)
    }

    /// The folder a request names, checked by its text before the file
    /// system is asked anything, then resolved and checked again (a link
    /// may lead out).
    async fn resolve(&self, root: &str) -> Result<PathBuf, Problem> {
        if root.is_empty() || root.chars().count() > MAX_ROOT || root.contains('\0') {
            return Err(Problem::bad(format!("root must be a path of 1 to {MAX_ROOT} characters, without NUL")));
        }
        let path = Path::new(root);
        if !path.is_absolute() {
            return Err(Problem::bad("root must be an absolute path"));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(Problem::bad("root must not contain `..`"));
        }
        let forbidden = || Problem::new(StatusCode::FORBIDDEN, "root is not under a folder this server allows");
        if !self.inner.allow.iter().any(|(given, canonical)| path.starts_with(given) || path.starts_with(canonical)) {
            return Err(forbidden());
        }
        let path = path.to_owned();
        let resolved = tokio::task::spawn_blocking(move || std::fs::canonicalize(path).map(|p| (p.is_dir(), p)))
            .await
            .map_err(|_| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "try again"))?;
        match resolved {
            Ok((true, resolved)) if self.allowed_canonical(&resolved) => Ok(resolved),
            Ok((true, _)) => Err(forbidden()),
            Ok((false, _)) => Err(Problem::bad("root is not a folder")),
            Err(_) => Err(Problem::new(StatusCode::NOT_FOUND, "no such folder")),
        }
    }

    fn allowed_canonical(&self, path: &Path) -> bool {
        self.inner.allow.iter().any(|(_, canonical)| path.starts_with(canonical))
    }

    /// Claims `id` and runs it on a task; false when it could not be claimed.
    async fn take(&self, id: JobId) -> Result<bool, StoreError> {
        if self.inner.stop.is_cancelled() {
            return Ok(false);
        }
        let Some(job) = self.inner.store.claim_job(id, &self.inner.worker, self.stale()).await? else {
            return Ok(false);
        };
        let inner = Arc::clone(&self.inner);
        self.inner.tasks.spawn(async move { inner.run(job).await });
        Ok(true)
    }
}

impl Inner {
    /// Runs a claimed job to its end, recording its events as they come and
    /// its state at the end. A store that fails here leaves the job to be
    /// taken over once its heartbeat is stale.
    async fn run(self: Arc<Self>, job: JobInfo) {
        let cancel = CancellationToken::new();
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel::<IndexEvent>();
        let indexer = Indexer::builder(&job.root)
            .project(job.project.clone())
            .shared_embedder(Arc::clone(&self.embedder))
            .observer(move |event: &IndexEvent| {
                // The receiver lives until the run ends.
                let _ = events.send(event.clone());
            })
            .cancel(cancel.clone())
            .build();
        let indexer = match indexer {
            Ok(indexer) => indexer,
            Err(error) => return self.end(&job, JobState::Failed, Some(&describe(&error))).await,
        };
        let writer = {
            let inner = Arc::clone(&self);
            tokio::spawn(async move {
                let mut pending = Vec::new();
                while received.recv_many(&mut pending, 256).await > 0 {
                    for event in coalesce(std::mem::take(&mut pending)) {
                        if let IndexEvent::Started { run, .. } = &event {
                            let _ = inner.store.set_job_run(job.id, &inner.worker, *run).await;
                        }
                        // A lost event is a gap in the progress shown, not in the run.
                        let _ = inner.store.add_job_event(job.id, &event).await;
                    }
                }
            })
        };
        let done = CancellationToken::new();
        let beat = self.beat(job.id, &cancel, &done);
        let (result, requested) = tokio::join!(
            async {
                let result = indexer.run(&self.store).await;
                done.cancel();
                result
            },
            beat
        );
        drop(indexer);
        let _ = writer.await;
        let (state, error) = match result {
            Ok(_) => (JobState::Succeeded, None),
            Err(IndexError::Cancelled { .. }) if requested => (JobState::Cancelled, None),
            Err(IndexError::Cancelled { .. }) => (JobState::Interrupted, None),
            Err(error) => (JobState::Failed, Some(describe(&error))),
        };
        self.end(&job, state, error.as_deref()).await;
    }

    /// Beats until `done`; cancels the run when a cancel is asked for or the
    /// server stops. Returns whether the cancel was asked for.
    async fn beat(&self, id: JobId, cancel: &CancellationToken, done: &CancellationToken) -> bool {
        loop {
            tokio::select! {
                () = done.cancelled() => return false,
                () = self.stop.cancelled() => {
                    cancel.cancel();
                    return false;
                }
                () = tokio::time::sleep(self.heartbeat) => {
                    // A store that cannot be reached does not stop the run:
                    // the run fails on its own if the store is gone.
                    if let Ok(false) = self.store.job_heartbeat(id, &self.worker).await {
                        cancel.cancel();
                        return true;
                    }
                }
            }
        }
    }

    async fn end(&self, job: &JobInfo, state: JobState, error: Option<&str>) {
        // When the store is gone, the job stays `running` with a stale
        // heartbeat, and is taken over later.
        let _ = self.store.finish_job(job.id, &self.worker, state, error).await;
    }
}

/// Keeps only the last of consecutive progress events: a stream shows
/// where the run is, not every batch it passed.
fn coalesce(events: Vec<IndexEvent>) -> Vec<IndexEvent> {
    let mut kept: Vec<IndexEvent> = Vec::with_capacity(events.len());
    for event in events {
        if matches!((&event, kept.last()), (IndexEvent::Progress(_), Some(IndexEvent::Progress(_)))) {
            kept.pop();
        }
        kept.push(event);
    }
    kept
}

/// An error and its causes, one line (store errors carry no password).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn check_project(name: &str) -> Result<String, Problem> {
    if name.is_empty() || name.chars().count() > MAX_PROJECT || name.chars().any(char::is_control) {
        return Err(Problem::bad(format!("project must be 1 to {MAX_PROJECT} characters, without control characters")));
    }
    Ok(name.to_owned())
}

pub(crate) fn store_problem(error: StoreError) -> Problem {
    QueryError::from(error).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyatlas_index::Progress;

    #[test]
    fn consecutive_progress_is_coalesced() {
        let progress = |files_done| {
            let mut progress = Progress::default();
            progress.files_done = files_done;
            IndexEvent::Progress(progress)
        };
        let warning = IndexEvent::Warning { message: "w".to_owned() };
        let kept = coalesce(vec![progress(1), progress(2), warning.clone(), progress(3), progress(4)]);
        assert_eq!(kept, vec![progress(2), warning, progress(4)]);
    }

    #[test]
    fn project_names_are_checked() {
        assert!(check_project("shop").is_ok());
        assert!(check_project("").is_err());
        assert!(check_project("a\nb").is_err());
        assert!(check_project(&"x".repeat(201)).is_err());
    }
}
