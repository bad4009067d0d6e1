//! The HTTP API and web UI of pyatlas: the questions of [`pyatlas_query::CodeMap`] as
//! JSON over axum, on any backend (the in-memory map of a folder, or a
//! store in PostgreSQL). The API answers only what the query layer
//! answers; it has no analysis of its own.
//!
//! ```no_run
//! use std::sync::Arc;
//! use pyatlas_query::MemoryMap;
//! use pyatlas_serve::{ServeOptions, router, serve};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let map = Arc::new(MemoryMap::index("path/to/project").await?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7878").await?;
//! serve(listener, router(map, ServeOptions::default()), std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! # Routes
//! The routes about the map are `GET`s answering JSON; those about a run take
//! `?project=NAME&run=ID` (default: the only project, its latest complete run).
//!
//! | route | answer |
//! |---|---|
//! | `/api/server` | what the server offers: its version, whether it runs index jobs |
//! | `/api/projects` | projects |
//! | `/api/projects/{project}/runs` | its runs, newest first |
//! | `/api/run` | the run asked |
//! | `/api/diff?from=&to=` | what changed from one run to the other |
//! | `/api/search?q=&mode=&k=&cursor=&path=&domain=&kind=` | `{hits, next_cursor}` |
//! | `/api/files` | the file tree, by path |
//! | `/api/files/{path}` | one file: source, units, domains, tags, findings |
//! | `/api/symbols?q=&limit=` | symbols, best first |
//! | `/api/units/{module:qualname}` | a unit in context |
//! | `/api/modules/{module}/graph?depth=&squash=` | a neighbourhood of the module graph |
//! | `/api/graph?squash=` | the project's modules, most central (PageRank) first, and the imports among them |
//! | `/api/chain?from=&to=` | a shortest import chain, or `null` |
//! | `/api/cycles`, `/api/domains`, `/api/findings`, `/api/tags` | lists |
//! | `/api/contracts` | the verdicts of the project's own contracts, or `null` |
//! | `/api/map?max_tokens=&focus=` | a repo map within the budget, about the focus (comma-separated paths, modules or units) |
//!
//! # Index jobs
//! With [`ServeOptions::jobs`] (a [`Jobs`] on a store), `POST /api/jobs`
//! `{"root", "project"}` indexes a folder under one of the allowed folders;
//! `GET /api/jobs`, `GET /api/jobs/{id}`, `GET /api/jobs/{id}/events`
//! (Server-Sent Events, `Last-Event-ID` honoured) and
//! `POST /api/jobs/{id}/cancel` show, stream and cancel any job on the
//! database, whichever server runs it. [`Jobs::stop`] leaves running jobs
//! `interrupted` with their runs resumable; [`Jobs::resume`] and
//! [`Jobs::watch`] take them up again.
//!
//! # MCP
//! With [`ServeOptions::mcp`], the MCP server of `pyatlas-mcp` answers at
//! `/mcp` over streamable HTTP (stateless, JSON answers), behind the same
//! token as every route.
//!
//! # Web UI
//! [`router`] also answers a web page at `/` and at each view's path
//! (`/search`, `/code/{path}`, `/graph`, `/architecture`, `/history`,
//! `/jobs`), with its assets under `/assets/`: TypeScript built into
//! `ui/dist/` and embedded in this crate. The page asks the API for
//! everything; it is served without the token (it carries no data) and
//! asks the user for the token when the API answers 401.
//!
//! # Errors and limits
//! Errors are RFC 9457 `application/problem+json`: 400 for a bad
//! parameter, 401 without the token when one is set, 403 for a job root
//! not allowed, 404 for an unknown project, run, file, unit, module, job or
//! route (and for a file path that would leave the root), 409 to cancel a
//! job that has ended, 413 for a body over 64 KiB, 415 for a body that is
//! not JSON, 503 when the store is down or too many requests are in flight. No input makes a handler
//! panic. Source text comes only from the index: no request reads a file.
//!
//! Every answer carries a strong `ETag` (a hash of its body): a request
//! with a matching `If-None-Match` gets 304. The OpenAPI 3.1 document is
//! at `/api/openapi.json`. CORS is closed unless origins are given.

mod job_routes;
mod jobs;
mod problem;
mod routes;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use pyatlas_query::CodeMap;
use tokio::net::TcpListener;

pub use jobs::{Jobs, JobsError};
pub use problem::Problem;
pub use routes::{ApiDoc, router};

/// A bearer token every request must carry. Its text never appears in
/// logs, errors or `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token; `None` when `text` is empty.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(Self(text))
    }

    /// Whether `offered` is this token, compared in constant time.
    pub fn matches(&self, offered: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let differ = expected.iter().zip(offered).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (differ == 0) & (expected.len() == offered.len())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// How the API serves.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The bearer token every route checks (none: open, loopback only).
    pub token: Option<Token>,
    /// Requests answered at once, at most; others get 503.
    pub max_concurrent: usize,
    /// Origins a browser may call the API from (CORS); none: closed.
    pub cors: Vec<axum::http::HeaderValue>,
    /// Index jobs (on a store); none: the job routes answer 404.
    pub jobs: Option<Jobs>,
    /// The MCP server to mount at `/mcp` (streamable HTTP, behind the
    /// token); none: `/mcp` answers 404.
    pub mcp: Option<pyatlas_mcp::PyatlasMcp>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { token: None, max_concurrent: 256, cors: Vec::new(), jobs: None, mcp: None }
    }
}

/// Why the server cannot start.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindError {
    /// A non-loopback address without a token.
    OpenWithoutToken(SocketAddr),
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OpenWithoutToken(addr) => {
                write!(f, "{addr} is not a loopback address: binding to it needs a token (--token)")
            }
        }
    }
}

impl std::error::Error for BindError {}

/// Checks that `addr` may be bound with `options`: loopback always, any
/// other address only with a token.
///
/// # Errors
/// [`BindError::OpenWithoutToken`].
pub fn check_bind(addr: SocketAddr, options: &ServeOptions) -> Result<(), BindError> {
    if addr.ip().is_loopback() || options.token.is_some() { Ok(()) } else { Err(BindError::OpenWithoutToken(addr)) }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops
/// accepting and lets the requests in flight finish.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) map: Arc<dyn CodeMap>,
    pub(crate) jobs: Option<Jobs>,
    pub(crate) token: Option<Arc<Token>>,
    pub(crate) permits: Arc<tokio::sync::Semaphore>,
}
