//! The routes: each one question of the query layer.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pyatlas_chunker::ChunkKind;
use pyatlas_query::{At, CodeMap, MAX_K, RunId, Search, SearchMode, UnitRef};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{AppState, Problem, ServeOptions};

/// Largest request body accepted.
const BODY_LIMIT: usize = 64 * 1024;

type Answer = Result<Response, Problem>;

/// The API over `map`.
pub fn router(map: Arc<dyn CodeMap>, options: ServeOptions) -> Router {
    let state = AppState {
        map,
        token: options.token.map(Arc::new),
        permits: Arc::new(tokio::sync::Semaphore::new(options.max_concurrent.max(1))),
    };
    Router::new()
        .route("/api/projects", get(projects))
        .route("/api/projects/{project}/runs", get(runs))
        .route("/api/run", get(run))
        .route("/api/search", get(search))
        .route("/api/files", get(files))
        .route("/api/files/{*path}", get(file))
        .route("/api/symbols", get(symbols))
        .route("/api/units/{unit}", get(unit))
        .route("/api/modules/{module}/graph", get(module_graph))
        .route("/api/chain", get(chain))
        .route("/api/cycles", get(cycles))
        .route("/api/domains", get(domains))
        .route("/api/findings", get(findings))
        .route("/api/tags", get(tags))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// The token, then a permit: every request passes here first.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let offered = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or_default();
        if !token.matches(offered) {
            return Problem::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response();
        }
    }
    if request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        > Some(BODY_LIMIT)
    {
        return Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("bodies are limited to {BODY_LIMIT} bytes"))
            .into_response();
    }
    let Ok(_permit) = state.permits.try_acquire() else {
        return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight; try again").into_response();
    };
    next.run(request).await
}

/// Query parameters, with a problem (400) for a bad one.
struct Params<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Self(q.0))
            .map_err(|e| Problem::bad(format!("bad query parameter: {}", e.body_text())))
    }
}

/// A path segment (or the rest of the path), with a problem for a bad one.
struct Segment(String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::bad(format!("bad path: {}", e.body_text())))?;
        Ok(Self(text))
    }
}

/// Which run: `?project=&run=`.
#[derive(Deserialize)]
struct RunParams {
    project: Option<String>,
    run: Option<i64>,
}

impl RunParams {
    fn at(&self) -> At {
        At { project: self.project.clone(), run: self.run.map(RunId::new) }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Answer {
    Ok(Json(value).into_response())
}

async fn projects(State(state): State<AppState>) -> Answer {
    json(&state.map.projects().await?)
}

async fn runs(State(state): State<AppState>, Segment(project): Segment) -> Answer {
    json(&state.map.runs(&project).await?)
}

async fn run(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.run(&at.at()).await?)
}

#[derive(Deserialize)]
struct SearchParams {
    q: String,
    mode: Option<String>,
    k: Option<usize>,
    cursor: Option<String>,
    path: Option<String>,
    domain: Option<String>,
    kind: Option<String>,
}

async fn search(
    State(state): State<AppState>,
    Params(at): Params<RunParams>,
    Params(p): Params<SearchParams>,
) -> Answer {
    let mut search = Search::new(p.q);
    if let Some(mode) = &p.mode {
        search = search.mode(mode.parse::<SearchMode>().map_err(|e| Problem::bad(e.to_string()))?);
    }
    search.k = p.k.unwrap_or(10);
    if let Some(cursor) = &p.cursor {
        search.offset = cursor.parse().map_err(|_| Problem::bad(format!("bad cursor {cursor:?}")))?;
    }
    search.path_prefix = p.path;
    search.domain = p.domain;
    if let Some(kind) = &p.kind {
        search.kind = Some(kind.parse::<ChunkKind>().map_err(|e| Problem::bad(e.to_string()))?);
    }
    let hits = state.map.search(&at.at(), &search).await?;
    let next = (hits.len() == search.k && search.k <= MAX_K).then(|| (search.offset + search.k).to_string());
    json(&serde_json::json!({ "hits": hits, "next_cursor": next }))
}

async fn files(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.files(&at.at()).await?)
}

/// A file path as indexed: relative, `/`-separated, never leaving the root.
fn checked_path(path: &str) -> Result<&str, Problem> {
    let escapes = path.is_empty()
        || path.starts_with('/')
        || path.contains(['\\', '\0'])
        || path.split('/').any(|part| part.is_empty() || part == "." || part == "..");
    if escapes { Err(Problem::bad(format!("{path:?} is not a path inside the root"))) } else { Ok(path) }
}

async fn file(State(state): State<AppState>, Segment(path): Segment, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.file(&at.at(), checked_path(&path)?).await?)
}

#[derive(Deserialize)]
struct SymbolParams {
    q: String,
    limit: Option<usize>,
}

async fn symbols(
    State(state): State<AppState>,
    Params(at): Params<RunParams>,
    Params(p): Params<SymbolParams>,
) -> Answer {
    if p.q.is_empty() || p.q.len() > 200 {
        return Err(Problem::bad("q must be 1 to 200 bytes"));
    }
    json(&state.map.symbols(&at.at(), &p.q, p.limit.unwrap_or(20)).await?)
}

async fn unit(State(state): State<AppState>, Segment(unit): Segment, Params(at): Params<RunParams>) -> Answer {
    let unit: UnitRef = unit.parse()?;
    json(&state.map.unit(&at.at(), &unit).await?)
}

#[derive(Deserialize)]
struct GraphParams {
    depth: Option<usize>,
    squash: Option<usize>,
}

async fn module_graph(
    State(state): State<AppState>,
    Segment(module): Segment,
    Params(at): Params<RunParams>,
    Params(p): Params<GraphParams>,
) -> Answer {
    json(&state.map.module_graph(&at.at(), &module, p.depth.unwrap_or(1), p.squash).await?)
}

#[derive(Deserialize)]
struct ChainParams {
    from: String,
    to: String,
}

async fn chain(State(state): State<AppState>, Params(at): Params<RunParams>, Params(p): Params<ChainParams>) -> Answer {
    json(&state.map.chain(&at.at(), &p.from, &p.to).await?)
}

async fn cycles(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.cycles(&at.at()).await?)
}

async fn domains(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.domains(&at.at()).await?)
}

async fn findings(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.findings(&at.at()).await?)
}

async fn tags(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.tags(&at.at()).await?)
}
