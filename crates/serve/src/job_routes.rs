//! The routes of index jobs: start one, list them, show one, stream its
//! events, cancel it. Every answer comes from the store, so any server on
//! the database gives it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Json, extract::Path};
use pyatlas_index::IndexEvent;
use pyatlas_store::{JobId, JobInfo, JobState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::jobs::{Jobs, store_problem};
use crate::problem::ProblemBody;
use crate::routes::{Answer, Params, json};
use crate::{AppState, Problem};

/// How often a stream looks for new events.
const POLL: Duration = Duration::from_millis(200);
/// Events read from the store at once.
const EVENT_PAGE: usize = 256;
const MAX_LIMIT: usize = 100;

/// A JSON body, with a problem for a bad one (400, 413, 415).
pub(crate) struct Body<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, state).await.map(|Json(body)| Self(body)).map_err(|e| {
            // A body that does not fit the type is a bad parameter, as everywhere.
            let status =
                if e.status() == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { e.status() };
            Problem::new(status, format!("bad body: {}", e.body_text()))
        })
    }
}

fn jobs(state: &AppState) -> Result<&Jobs, Problem> {
    state.jobs.as_ref().ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "this server has no index jobs: they need the store backend")
    })
}

fn job_id(text: &str) -> Result<JobId, Problem> {
    text.parse().map_err(|_| Problem::bad(format!("bad job id {text:?}: expected an integer")))
}

/// A job to start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobRequest {
    /// The folder to index: an absolute path under a folder the server
    /// was started with (`--allow-root`).
    #[schema(min_length = 1, max_length = 4096, pattern = r"^/(?!(.*/)?\.\.(/|$))[^\x00]*$")]
    root: String,
    /// The project to index it into (default: the folder's name).
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    project: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/jobs",
    request_body = JobRequest,
    responses(
        (status = 202, description = "the job, accepted and started", body = JobInfo),
        (status = 400, description = "a bad body or root", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the root is not under an allowed folder", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such folder, or no jobs on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "a body over 64 KiB", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "a body that is not JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the store is unavailable, or the server is stopping", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn submit(State(state): State<AppState>, Body(request): Body<JobRequest>) -> Answer {
    let job = jobs(&state)?.submit(&request.root, request.project.as_deref()).await?;
    accepted(&job)
}

fn accepted(job: &JobInfo) -> Answer {
    let mut response = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/jobs/{}", job.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A page of jobs: `?cursor=&limit=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobsParams {
    /// The page: `next_cursor` of the page before.
    #[param(minimum = 1)]
    cursor: Option<i64>,
    /// Jobs per page (1 to 100, default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// Jobs, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct JobPage {
    /// This page's jobs.
    jobs: Vec<JobInfo>,
    /// The cursor of the next page, when there may be one.
    next_cursor: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/jobs",
    params(JobsParams),
    responses(
        (status = 200, description = "jobs, newest first", body = JobPage),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no jobs on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the store is unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(State(state): State<AppState>, Params(p): Params<JobsParams>) -> Answer {
    let limit = p.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::bad(format!("limit must be from 1 to {MAX_LIMIT}")));
    }
    if p.cursor.is_some_and(|c| c < 1) {
        return Err(Problem::bad("cursor must be a positive job id"));
    }
    let page = jobs(&state)?.store().jobs(p.cursor.map(JobId::new), limit).await.map_err(store_problem)?;
    let next_cursor = (page.len() == limit).then(|| page.last().map(|j| j.id.get())).flatten();
    json(&JobPage { jobs: page, next_cursor })
}

#[utoipa::path(
    get,
    path = "/api/jobs/{id}",
    params(("id" = i64, Path, description = "the job")),
    responses(
        (status = 200, description = "the job", body = JobInfo),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such job, or no jobs on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the store is unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    json(&jobs(&state)?.store().job(job_id(&id)?).await.map_err(store_problem)?)
}

#[utoipa::path(
    post,
    path = "/api/jobs/{id}/cancel",
    params(("id" = i64, Path, description = "the job")),
    responses(
        (status = 202, description = "the cancel is asked for: a queued job is cancelled, a running one stops within a heartbeat, its run resumable", body = JobInfo),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such job, or no jobs on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the job has already ended", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the store is unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let (store, id) = (jobs(&state)?.store(), job_id(&id)?);
    match store.cancel_job(id).await.map_err(store_problem)? {
        Some(job) => accepted(&job),
        None => {
            let job = store.job(id).await.map_err(store_problem)?;
            Err(Problem::new(StatusCode::CONFLICT, format!("job {id} has already ended ({})", job.state)))
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/jobs/{id}/events",
    params(
        ("id" = i64, Path, description = "the job"),
        ("Last-Event-ID" = Option<String>, Header, description = "continue after this event (its `id`)", pattern = "^[0-9]{1,9}$", nullable = false),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: the run's events in order (`started`, `stage`, `progress`, `warning`; each `id` is its sequence number), then `end` with the job once it has stopped (or `error` when the store fails)", body = String, content_type = "text/event-stream"),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such job, or no jobs on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the store is unavailable, or too many streams are open", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn events(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let jobs = jobs(&state)?.clone();
    let id = job_id(&id)?;
    let after = match headers.get("last-event-id") {
        None => 0,
        Some(value) => value
            .to_str()
            .ok()
            .filter(|v| (1..=9).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|v| *v >= 0)
            .ok_or_else(|| Problem::bad("Last-Event-ID must be an event's sequence number"))?,
    };
    jobs.store().job(id).await.map_err(store_problem)?;
    let permit = jobs
        .stream_permit()
        .ok_or_else(|| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "too many event streams are open; try again"))?;
    let feed = Feed { jobs, id, after, pending: VecDeque::new(), ended: false, _permit: permit };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok::<_, Infallible>(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// One client's stream of a job's events, read from the store.
struct Feed {
    jobs: Jobs,
    id: JobId,
    after: i32,
    pending: VecDeque<Event>,
    ended: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Feed {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            if let Err(error) = self.fill().await {
                self.ended = true;
                let detail = Problem::from(error).detail;
                return Some(Event::default().event("error").data(detail));
            }
            if self.pending.is_empty() && !self.ended {
                tokio::select! {
                    () = self.jobs.stopping().cancelled() => return None,
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }

    /// Reads the events after the last one sent; once the job has stopped,
    /// the last events and then `end`.
    async fn fill(&mut self) -> Result<(), pyatlas_query::QueryError> {
        let store = self.jobs.store();
        let events = store.job_events::<IndexEvent>(self.id, self.after, EVENT_PAGE).await?;
        if events.is_empty() {
            let job = store.job(self.id).await?;
            if matches!(job.state, JobState::Queued | JobState::Running) {
                return Ok(());
            }
            // Its last events were written before its state: read them.
            let last = store.job_events::<IndexEvent>(self.id, self.after, usize::MAX).await?;
            self.push(last);
            let data = serde_json::to_string(&job).unwrap_or_default();
            self.pending.push_back(Event::default().event("end").data(data));
            self.ended = true;
        } else {
            self.push(events);
        }
        Ok(())
    }

    fn push(&mut self, events: Vec<(i32, IndexEvent)>) {
        for (seq, event) in events {
            self.after = seq;
            let data = serde_json::to_string(&event).unwrap_or_default();
            self.pending.push_back(Event::default().id(seq.to_string()).event(event.kind()).data(data));
        }
    }
}
