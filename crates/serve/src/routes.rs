//! The routes: each one question of the query layer.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pyatlas_chunker::ChunkKind;
use pyatlas_graph::{ContractsReport, Cycle, Hop};
use pyatlas_query::{
    At, CodeMap, DomainSummary, FileEntry, FileView, MAX_OFFSET, MapRequest, ModuleGraph, Project, ProjectGraph,
    RepoMap, RunId, Search, SearchHit, SearchMode, Symbol, UnitContext, UnitRef,
};
use pyatlas_store::{FindingRow, JobInfo, JobState, RunDiff, RunInfo, TagRow};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::job_routes::{self, JobPage, JobRequest};
use crate::problem::ProblemBody;
use crate::{AppState, Problem, ServeOptions};

/// The API's OpenAPI 3.1 document, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "pyatlas",
        description = "A Python codebase's map: search, files, symbols, units in context, the module graph, domains and drift."
    ),
    paths(
        server,
        projects,
        runs,
        run,
        diff,
        search,
        files,
        file,
        symbols,
        unit,
        module_graph,
        project_graph,
        chain,
        cycles,
        domains,
        findings,
        tags,
        contracts,
        repo_map,
        job_routes::submit,
        job_routes::list,
        job_routes::show,
        job_routes::cancel,
        job_routes::events
    ),
    components(schemas(ProblemBody, SearchPage, SearchMode, JobRequest, JobPage, JobInfo, JobState))
)]
pub struct ApiDoc;

/// Largest request body accepted.
const BODY_LIMIT: usize = 64 * 1024;

pub(crate) type Answer = Result<Response, Problem>;

/// The API over `map`.
pub fn router(map: Arc<dyn CodeMap>, options: ServeOptions) -> Router {
    let mcp = options.mcp.map(|server| {
        let stop = options.jobs.as_ref().map_or_else(Default::default, |jobs| jobs.stopping().child_token());
        server.streamable_http(stop, options.token.is_some())
    });
    let state = AppState {
        map,
        jobs: options.jobs,
        token: options.token.map(Arc::new),
        permits: Arc::new(tokio::sync::Semaphore::new(options.max_concurrent.max(1))),
    };
    let router = Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/server", get(server))
        .route("/api/projects", get(projects))
        .route("/api/projects/{project}/runs", get(runs))
        .route("/api/run", get(run))
        .route("/api/diff", get(diff))
        .route("/api/search", get(search))
        .route("/api/files", get(files))
        .route("/api/files/{*path}", get(file))
        .route("/api/symbols", get(symbols))
        .route("/api/units/{unit}", get(unit))
        .route("/api/modules/{module}/graph", get(module_graph))
        .route("/api/graph", get(project_graph))
        .route("/api/chain", get(chain))
        .route("/api/cycles", get(cycles))
        .route("/api/domains", get(domains))
        .route("/api/findings", get(findings))
        .route("/api/tags", get(tags))
        .route("/api/contracts", get(contracts))
        .route("/api/map", get(repo_map))
        .route("/api/jobs", get(job_routes::list).post(job_routes::submit))
        .route("/api/jobs/{id}", get(job_routes::show))
        .route("/api/jobs/{id}/cancel", post(job_routes::cancel))
        .route("/api/jobs/{id}/events", get(job_routes::events))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such route") });
    let router = match mcp {
        Some(service) => router.nest_service("/mcp", service),
        None => router,
    };
    let router = router
        // The guard refuses a body over the limit by its length; the limit
        // also stops a body sent without one.
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // The page, outside the token: it carries no data, and asks for the token.
        .merge(crate::ui::routes())
        .layer(middleware::from_fn(etags));
    // Outermost, so that a browser's preflight is answered before the token is asked.
    let router = if options.cors.is_empty() {
        router
    } else {
        router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(options.cors))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::IF_NONE_MATCH,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("last-event-id"),
                ]),
        )
    };
    router.with_state(state)
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

/// Every answer, the API's and the page's, gets its `ETag` here.
async fn etags(request: Request, next: Next) -> Response {
    let offered = request.headers().get(header::IF_NONE_MATCH).cloned();
    with_etag(next.run(request).await, offered).await
}

/// Gives a successful answer a strong `ETag` (a hash of its body), and
/// answers 304 when the client already holds it.
async fn with_etag(response: Response, offered: Option<HeaderValue>) -> Response {
    // An event stream does not end: it is never buffered.
    let streamed = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes() == b"text/event-stream");
    if response.status() != StatusCode::OK || streamed {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the answer could not be read; try again")
            .into_response();
    };
    let tag = format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]);
    let Ok(etag) = HeaderValue::from_str(&tag) else { return Response::from_parts(parts, bytes.into()) };
    let matches = offered
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    parts.headers.insert(header::ETAG, etag);
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, bytes.into())
}

/// Query parameters, with a problem (400) for a bad one.
pub(crate) struct Params<T>(pub(crate) T);

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
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RunParams {
    /// The project (default: the only one).
    project: Option<String>,
    /// The run (default: the project's latest complete run).
    run: Option<i64>,
}

impl RunParams {
    fn at(&self) -> At {
        At { project: self.project.clone(), run: self.run.map(RunId::new) }
    }
}

async fn openapi() -> Answer {
    json(&ApiDoc::openapi())
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Answer {
    Ok(Json(value).into_response())
}

/// What this server offers, beyond the map.
#[derive(Serialize, ToSchema)]
struct ServerInfo {
    /// The version of pyatlas-serve.
    version: &'static str,
    /// Whether `POST /api/jobs` indexes folders (a store with allowed roots).
    jobs: bool,
}

#[utoipa::path(
    get,
    path = "/api/server",
    responses(
        (status = 200, description = "what this server offers", body = ServerInfo),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn server(State(state): State<AppState>) -> Answer {
    json(&ServerInfo { version: env!("CARGO_PKG_VERSION"), jobs: state.jobs.is_some() })
}

#[utoipa::path(
    get,
    path = "/api/projects",
    params(),
    responses(
        (status = 200, description = "every project, by name", body = Vec<Project>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn projects(State(state): State<AppState>) -> Answer {
    json(&state.map.projects().await?)
}

#[utoipa::path(
    get,
    path = "/api/projects/{project}/runs",
    params(("project" = String, Path, description = "the project")),
    responses(
        (status = 200, description = "its runs, newest first", body = Vec<RunInfo>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn runs(State(state): State<AppState>, Segment(project): Segment) -> Answer {
    json(&state.map.runs(&project).await?)
}

#[utoipa::path(
    get,
    path = "/api/run",
    params(RunParams),
    responses(
        (status = 200, description = "the run asked", body = RunInfo),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn run(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.run(&at.at()).await?)
}

/// Two runs: `?from=&to=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffParams {
    /// The older run.
    from: i64,
    /// The newer run.
    to: i64,
}

#[utoipa::path(
    get,
    path = "/api/diff",
    params(DiffParams),
    responses(
        (status = 200, description = "what changed from one run to the other", body = RunDiff),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn diff(State(state): State<AppState>, Params(p): Params<DiffParams>) -> Answer {
    json(&state.map.diff(RunId::new(p.from), RunId::new(p.to)).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// The query.
    #[param(min_length = 1, max_length = 1000, pattern = r"\S")]
    q: String,
    /// How hits are ranked (default hybrid).
    mode: Option<SearchMode>,
    /// How many hits (1 to 100, default 10).
    #[param(minimum = 1, maximum = 100)]
    k: Option<usize>,
    /// The page: `next_cursor` of the page before (an offset, at most 1000).
    #[param(pattern = "^(1000|[0-9]{1,3})$")]
    cursor: Option<String>,
    /// Only chunks whose path starts with this.
    path: Option<String>,
    /// Only chunks of this domain.
    domain: Option<String>,
    /// Only chunks of this kind.
    kind: Option<ChunkKind>,
}

/// A page of hits.
#[derive(Serialize, ToSchema)]
struct SearchPage {
    /// Best first.
    hits: Vec<SearchHit>,
    /// The cursor of the next page, when there may be one.
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/search",
    params(RunParams, SearchParams),
    responses(
        (status = 200, description = "hits, best first, and the cursor of the next page", body = SearchPage),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn search(
    State(state): State<AppState>,
    Params(at): Params<RunParams>,
    Params(p): Params<SearchParams>,
) -> Answer {
    let mut search = Search::new(p.q);
    if let Some(mode) = p.mode {
        search = search.mode(mode);
    }
    search.k = p.k.unwrap_or(10);
    if let Some(cursor) = &p.cursor {
        // As the document says: an offset of 1 to 3 digits, or 1000.
        let valid = cursor == "1000" || (1..=3).contains(&cursor.len()) && cursor.bytes().all(|b| b.is_ascii_digit());
        search.offset = if valid { cursor.parse().ok() } else { None }
            .ok_or_else(|| Problem::bad(format!("bad cursor {cursor:?}")))?;
    }
    search.path_prefix = p.path;
    search.domain = p.domain;
    search.kind = p.kind;
    let hits = state.map.search(&at.at(), &search).await?;
    let next_offset = search.offset + search.k;
    let next_cursor = (hits.len() == search.k && next_offset <= MAX_OFFSET).then(|| next_offset.to_string());
    json(&SearchPage { hits, next_cursor })
}

#[utoipa::path(
    get,
    path = "/api/files",
    params(RunParams),
    responses(
        (status = 200, description = "every file, by path", body = Vec<FileEntry>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn files(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.files(&at.at()).await?)
}

/// A file path as indexed: relative, `/`-separated, never leaving the
/// root. Any other path names no file of the index: 404.
fn checked_path(path: &str) -> Result<&str, Problem> {
    let escapes = path.is_empty()
        || path.starts_with('/')
        || path.contains(['\\', '\0'])
        || path.split('/').any(|part| part.is_empty() || part == "." || part == "..");
    if escapes {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("no file {path:?}: paths are relative to the root, without empty, . or .. parts"),
        ))
    } else {
        Ok(path)
    }
}

#[utoipa::path(
    get,
    path = "/api/files/{path}",
    params(("path" = String, Path, description = "the file, relative to the root"), RunParams),
    responses(
        (status = 200, description = "the file as indexed", body = FileView),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn file(State(state): State<AppState>, Segment(path): Segment, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.file(&at.at(), checked_path(&path)?).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SymbolParams {
    /// A name, a part of one, or a qualname prefix (1 to 200 characters).
    #[param(min_length = 1, max_length = 200)]
    q: String,
    /// How many (default 20, at most 200).
    #[param(minimum = 0, maximum = 200)]
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/symbols",
    params(RunParams, SymbolParams),
    responses(
        (status = 200, description = "symbols, best first", body = Vec<Symbol>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn symbols(
    State(state): State<AppState>,
    Params(at): Params<RunParams>,
    Params(p): Params<SymbolParams>,
) -> Answer {
    if p.q.is_empty() || p.q.chars().count() > 200 {
        return Err(Problem::bad("q must be 1 to 200 characters"));
    }
    if p.limit.is_some_and(|l| l > 200) {
        return Err(Problem::bad("limit must be at most 200"));
    }
    json(&state.map.symbols(&at.at(), &p.q, p.limit.unwrap_or(20)).await?)
}

/// The unit of `/api/units/{unit}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "read by the OpenAPI document only")]
struct UnitPath {
    /// `module:qualname`.
    #[param(pattern = "^[^:]+:.+$")]
    unit: String,
}

#[utoipa::path(
    get,
    path = "/api/units/{unit}",
    params(UnitPath, RunParams),
    responses(
        (status = 200, description = "the unit in context", body = UnitContext),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn unit(State(state): State<AppState>, Segment(unit): Segment, Params(at): Params<RunParams>) -> Answer {
    let unit: UnitRef = unit.parse()?;
    json(&state.map.unit(&at.at(), &unit).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct GraphParams {
    /// Imports away, at most (0 to 5, default 1).
    #[param(minimum = 0, maximum = 5)]
    depth: Option<usize>,
    /// The package depth to squash modules to (1 to 32).
    #[param(minimum = 1, maximum = 32)]
    squash: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/modules/{module}/graph",
    params(("module" = String, Path, description = "a dotted module name"), RunParams, GraphParams),
    responses(
        (status = 200, description = "a neighbourhood of the module graph", body = ModuleGraph),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn module_graph(
    State(state): State<AppState>,
    Segment(module): Segment,
    Params(at): Params<RunParams>,
    Params(p): Params<GraphParams>,
) -> Answer {
    json(&state.map.module_graph(&at.at(), &module, p.depth.unwrap_or(1), p.squash).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SquashParams {
    /// The package depth to squash modules to (1 to 32; default: none).
    #[param(minimum = 1, maximum = 32)]
    squash: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/graph",
    params(RunParams, SquashParams),
    responses(
        (status = 200, description = "the project's modules, most central first, and the imports among them", body = ProjectGraph),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn project_graph(
    State(state): State<AppState>,
    Params(at): Params<RunParams>,
    Params(p): Params<SquashParams>,
) -> Answer {
    json(&state.map.project_graph(&at.at(), p.squash).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChainParams {
    /// The importing module.
    from: String,
    /// The imported module.
    to: String,
}

#[utoipa::path(
    get,
    path = "/api/chain",
    params(RunParams, ChainParams),
    responses(
        (status = 200, description = "a shortest chain of imports, or null", body = Option<Vec<Hop>>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn chain(State(state): State<AppState>, Params(at): Params<RunParams>, Params(p): Params<ChainParams>) -> Answer {
    json(&state.map.chain(&at.at(), &p.from, &p.to).await?)
}

#[utoipa::path(
    get,
    path = "/api/cycles",
    params(RunParams),
    responses(
        (status = 200, description = "the import cycles", body = Vec<Cycle>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn cycles(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.cycles(&at.at()).await?)
}

#[utoipa::path(
    get,
    path = "/api/domains",
    params(RunParams),
    responses(
        (status = 200, description = "chunks and files per domain", body = Vec<DomainSummary>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn domains(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.domains(&at.at()).await?)
}

#[utoipa::path(
    get,
    path = "/api/findings",
    params(RunParams),
    responses(
        (status = 200, description = "drift findings, by path and line", body = Vec<FindingRow>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn findings(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.findings(&at.at()).await?)
}

#[utoipa::path(
    get,
    path = "/api/tags",
    params(RunParams),
    responses(
        (status = 200, description = "intent tags, by path and line", body = Vec<TagRow>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn tags(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.tags(&at.at()).await?)
}

#[utoipa::path(
    get,
    path = "/api/contracts",
    params(RunParams),
    responses(
        (status = 200, description = "the verdicts of the project's own contracts (import-linter's, tach's), or null when it declares none", body = Option<ContractsReport>),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run or item", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn contracts(State(state): State<AppState>, Params(at): Params<RunParams>) -> Answer {
    json(&state.map.contracts(&at.at()).await?)
}

/// A repo map: `?max_tokens=&focus=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MapParams {
    /// The project (default: the only one).
    project: Option<String>,
    /// The run (default: the project's latest complete run).
    run: Option<i64>,
    /// The budget in tokens (cl100k; 1 to 20,000, default 4,000).
    #[param(minimum = 1, maximum = 20000)]
    max_tokens: Option<usize>,
    /// Paths, modules or units to focus on, separated by commas (at most 100).
    #[param(max_length = 10000, pattern = "^[^,]*(,[^,]*){0,99}$")]
    focus: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/map",
    params(MapParams),
    responses(
        (status = 200, description = "a map of the codebase within the budget: the units that matter most to the focus, as signatures and first docstring lines by file", body = RepoMap),
        (status = 400, description = "a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no valid token (when the server has one)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such project, run, or focus", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "the index is unavailable or busy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn repo_map(State(state): State<AppState>, Params(p): Params<MapParams>) -> Answer {
    let at = At { project: p.project, run: p.run.map(RunId::new) };
    let focus = p.focus.iter().flat_map(|f| f.split(',')).filter(|f| !f.is_empty()).map(str::to_owned).collect();
    json(&state.map.repo_map(&at, &MapRequest::new(p.max_tokens, focus)).await?)
}
