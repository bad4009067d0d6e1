//! An MCP server over a Python codebase's map, for coding agents: a few
//! tools with small schemas over [`pyatlas_query::CodeMap`], on either
//! backend (the in-memory map of a folder, kept fresh, or a store), with
//! answers that fit a token budget.
//!
//! ```no_run
//! use pyatlas_mcp::PyatlasMcp;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! PyatlasMcp::fresh("path/to/project").await?.serve_stdio().await?;
//! # Ok(()) }
//! ```
//!
//! # Tools
//! `search_code`, `find_symbol`, `symbol_context`, `module_graph`,
//! `import_chain`, `check_architecture` and `repo_map`. Each takes
//! `max_tokens` (default 4,000, at most 20,000, counted in `cl100k_base`,
//! the chunker's tokenizer); an answer longer than that is cut, says so,
//! and gives a `cursor` that continues it exactly where it was cut.
//! Bad arguments, unknown symbols and an unavailable index are tool errors
//! (`isError`) with a clear message, never protocol errors.
//!
//! # Freshness
//! [`PyatlasMcp::fresh`] serves the in-memory map of a folder, a
//! [`LiveMap`]: before every answer, the size and
//! modification time of every Python file are compared with those it was
//! built from; when one changed, was added or was removed, the folder is
//! indexed again incrementally (only the changed files are parsed) before
//! the answer. One tool call answers from one map.

mod lenient;
mod render;

use std::path::PathBuf;
use std::sync::Arc;

use pyatlas_chunker::TokenCounter as _;
use pyatlas_query::{At, CodeMap, LiveMap, MapRequest, QueryError, Search, SearchMode, UnitRef, Watch};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

/// The MCP SDK this server is built on (its transports, to serve it otherwise).
pub use rmcp;

/// The budget of an answer when none is asked for, in tokens.
pub const DEFAULT_TOKENS: usize = 4_000;
/// The largest budget an answer may be asked for.
pub const MAX_TOKENS: usize = 20_000;

/// What the server answers from.
#[derive(Clone)]
enum Source {
    /// A map as it is (a store, or a map the caller keeps fresh).
    Fixed(Arc<dyn CodeMap>),
    /// The in-memory map of a folder, kept up to date (and its watch,
    /// which refreshes it after saves, when the platform allows one).
    Fresh { map: Arc<LiveMap>, _watch: Option<Arc<Watch>> },
}

/// The MCP server: the tools over one codebase's map.
#[derive(Clone)]
pub struct PyatlasMcp {
    source: Source,
    at: At,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for PyatlasMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyatlasMcp").field("at", &self.at).finish_non_exhaustive()
    }
}

/// A tool's text, or the message of its error.
type Reply = Result<String, String>;

impl PyatlasMcp {
    /// Tools over `map` (a [`StoreMap`](pyatlas_query::StoreMap), or any map).
    pub fn new(map: Arc<dyn CodeMap>) -> Self {
        Self { source: Source::Fixed(map), at: At::default(), tool_router: Self::tool_router() }
    }

    /// Tools over the in-memory map of `root`, kept fresh: a watch of the
    /// folder refreshes it after each burst of saves, and each answer looks
    /// first (so a save is seen even where the platform cannot watch).
    /// Call it within a multi-threaded Tokio runtime.
    ///
    /// # Errors
    /// The root cannot be indexed.
    pub async fn fresh(root: impl Into<PathBuf>) -> Result<Self, QueryError> {
        let live = Arc::new(LiveMap::new(root.into()).await?);
        let watch = live.watch().ok().map(Arc::new);
        Ok(Self {
            source: Source::Fresh { map: live, _watch: watch },
            at: At::default(),
            tool_router: Self::tool_router(),
        })
    }

    /// Tools over a [`LiveMap`] the caller shares (with an HTTP API, say):
    /// each tool call answers from one state of the map.
    pub fn live(map: Arc<LiveMap>) -> Self {
        Self { source: Source::Fresh { map, _watch: None }, at: At::default(), tool_router: Self::tool_router() }
    }

    /// Answers about this run or project (default: the only project, its
    /// latest complete run).
    #[must_use]
    pub fn at(mut self, at: At) -> Self {
        self.at = at;
        self
    }

    /// Serves over stdin and stdout until the client closes them.
    ///
    /// # Errors
    /// The transport's.
    pub async fn serve_stdio(self) -> std::io::Result<()> {
        let running = rmcp::ServiceExt::serve(self, rmcp::transport::stdio()).await.map_err(std::io::Error::other)?;
        running.waiting().await.map_err(std::io::Error::other)?;
        Ok(())
    }

    /// The server over MCP's streamable HTTP transport, as a tower service
    /// to mount (`pyatlas-serve` mounts it at `/mcp`, behind its token).
    /// Stateless: each request is answered on its own, so any server on a
    /// store answers it. `open`: reachable off loopback, where the bearer
    /// token guards it and the `Host` header is not checked; otherwise
    /// only loopback host names are accepted (against DNS rebinding).
    pub fn streamable_http(
        self,
        stop: tokio_util::sync::CancellationToken,
        open: bool,
    ) -> StreamableHttpService<Self, LocalSessionManager> {
        let mut config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_cancellation_token(stop);
        if open {
            config = config.disable_allowed_hosts();
        }
        StreamableHttpService::new(move || Ok(self.clone()), Arc::new(LocalSessionManager::default()), config)
    }

    async fn map(&self) -> Result<Arc<dyn CodeMap>, String> {
        match &self.source {
            Source::Fixed(map) => Ok(Arc::clone(map)),
            Source::Fresh { map: fresh, .. } => {
                fresh.current().await.map(|map| map as Arc<dyn CodeMap>).map_err(|e| e.to_string())
            }
        }
    }
}

/// A budget and a place to continue from, which every tool takes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct Page {
    /// The most tokens the answer may take (default 4,000, at most 20,000).
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<usize>,
    /// Where to continue an answer that was cut: the cursor it gave.
    pub cursor: Option<String>,
}

/// `search_code`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// What to look for: words, a phrase, or a name.
    pub query: String,
    /// How many hits (1 to 100, default 10).
    #[serde(default, deserialize_with = "lenient::number")]
    pub k: Option<usize>,
    /// Only code whose path starts with this.
    pub path_prefix: Option<String>,
    /// Only code of this domain (as `check_architecture` and the index name them).
    pub domain: Option<String>,
    /// Only chunks of this kind: `function`, `method`, `class`, `module` ...
    pub kind: Option<String>,
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

/// `find_symbol`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindArgs {
    /// A name, a qualified name or its prefix (`Config.from_`), fuzzy.
    pub name: String,
    /// Only `class`, `function` or `method`.
    pub kind: Option<String>,
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

/// `symbol_context`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContextArgs {
    /// The unit, as `module:qualname` (`find_symbol` gives it).
    pub qualname: String,
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

/// `module_graph`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GraphArgs {
    /// The module (`package.module`).
    pub module: String,
    /// How many imports away (1 to 5, default 1).
    #[serde(default, deserialize_with = "lenient::number")]
    pub depth: Option<usize>,
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

/// `import_chain`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChainArgs {
    /// The importing module.
    pub from: String,
    /// The imported module.
    pub to: String,
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

/// `repo_map`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct MapArgs {
    /// Files, folders, modules or units (`module:qualname`) to focus on:
    /// the map shows what matters most to them, and leaves their files out.
    #[serde(default, deserialize_with = "lenient::list")]
    pub focus: Option<Vec<String>>,
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

/// `check_architecture`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CheckArgs {
    /// The budget, and where to continue.
    #[serde(flatten)]
    pub page: Page,
}

fn text(error: QueryError) -> String {
    error.to_string()
}

#[tool_router]
impl PyatlasMcp {
    /// Semantic and lexical code search.
    #[tool(
        description = "Search the codebase's code by meaning and by words (hybrid search). Use it first when you do not know where something is. Returns chunks of code with their paths and lines."
    )]
    async fn search_code(&self, Parameters(args): Parameters<SearchArgs>) -> Reply {
        let map = self.map().await?;
        let mut search = Search::new(&args.query).mode(SearchMode::Hybrid).k(args.k.unwrap_or(10));
        if let Some(prefix) = args.path_prefix {
            search = search.path_prefix(prefix);
        }
        if let Some(domain) = args.domain {
            search = search.domain(domain);
        }
        if let Some(kind) = &args.kind {
            search = search.kind(kind.parse().map_err(|_| format!("unknown kind {kind:?}"))?);
        }
        let hits = map.search(&self.at, &search).await.map_err(text)?;
        fit(render::hits(&args.query, &hits), &args.page)
    }

    /// Definitions by name.
    #[tool(
        description = "Find definitions (classes, functions, methods) by name or qualified-name prefix, fuzzy. Returns each with its `module:qualname` id, path, lines, signature and first docstring line."
    )]
    async fn find_symbol(&self, Parameters(args): Parameters<FindArgs>) -> Reply {
        let map = self.map().await?;
        let mut symbols = map.symbols(&self.at, &args.name, 100).await.map_err(text)?;
        if let Some(kind) = &args.kind {
            let kind: pyatlas_parser::UnitKind = kind.parse().map_err(|e| format!("{e}"))?;
            symbols.retain(|s| s.kind == kind);
        }
        if symbols.is_empty() {
            return Err(format!("no definition matches {:?}", args.name));
        }
        fit(render::symbols(&symbols), &args.page)
    }

    /// One unit with what surrounds it.
    #[tool(
        description = "Show one unit (`module:qualname`, from find_symbol): its source, callers, callees, bases, subclasses, the imports of its module, and the domains, intent tags and drift findings on its lines. Use it before changing a unit."
    )]
    async fn symbol_context(&self, Parameters(args): Parameters<ContextArgs>) -> Reply {
        let map = self.map().await?;
        let unit: UnitRef = args.qualname.parse().map_err(text)?;
        let context = map.unit(&self.at, &unit).await.map_err(text)?;
        let file = map.file(&self.at, &context.symbol.path).await.map_err(text)?;
        fit(render::context(&context, &file), &args.page)
    }

    /// The imports around a module.
    #[tool(
        description = "Show the import graph around a module: the modules it imports and that import it, to a depth (1 to 5), with lines."
    )]
    async fn module_graph(&self, Parameters(args): Parameters<GraphArgs>) -> Reply {
        let map = self.map().await?;
        let graph = map.module_graph(&self.at, &args.module, args.depth.unwrap_or(1), None).await.map_err(text)?;
        fit(render::graph(&graph), &args.page)
    }

    /// How one module reaches another.
    #[tool(
        description = "Find the shortest chain of imports from one module to another, hop by hop with lines, or say there is none."
    )]
    async fn import_chain(&self, Parameters(args): Parameters<ChainArgs>) -> Reply {
        let map = self.map().await?;
        let chain = map.chain(&self.at, &args.from, &args.to).await.map_err(text)?;
        fit(render::chain(&args.from, &args.to, chain.as_deref()), &args.page)
    }

    /// Drift and contracts.
    #[tool(
        description = "Check the architecture: drift findings between declared intent and the code, and the verdicts of the project's import-linter and tach contracts, with the import chains that break them."
    )]
    async fn check_architecture(&self, Parameters(args): Parameters<CheckArgs>) -> Reply {
        let map = self.map().await?;
        let findings = map.findings(&self.at).await.map_err(text)?;
        let contracts = map.contracts(&self.at).await.map_err(text)?;
        fit(render::architecture(&findings, contracts.as_ref()), &args.page)
    }

    /// An overview for the context.
    #[tool(
        description = "A map of the codebase for your context: the definitions that matter most (to the focus, when given), as signatures and first docstring lines by file, within max_tokens. Use it to get an overview before reading files."
    )]
    async fn repo_map(&self, Parameters(args): Parameters<MapArgs>) -> Reply {
        let map = self.map().await?;
        let max_tokens = budget(&args.page)?;
        // Room for the closing line that counts what is shown.
        let request = MapRequest::new(Some(max_tokens.saturating_sub(20).max(1)), args.focus.unwrap_or_default());
        let drawn = map.repo_map(&self.at, &request).await.map_err(text)?;
        Ok(format!("{}({} of {} definitions shown, {} tokens)\n", drawn.text, drawn.shown, drawn.units, drawn.tokens))
    }
}

#[tool_handler(
    router = self.tool_router,
    instructions = "pyatlas: the map of a Python codebase. Start with repo_map for an overview or search_code to find code; find_symbol gives ids for symbol_context; module_graph and import_chain show imports; check_architecture shows drift and contract verdicts. Answers longer than max_tokens are cut and give a cursor for the rest."
)]
impl ServerHandler for PyatlasMcp {
    /// The tools' own calls, with arguments that do not fit a tool's schema
    /// answered as that tool's error rather than a protocol error.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let call = ToolCallContext::new(self, request, context);
        match self.tool_router.call(call).await {
            Err(error) if error.code == ErrorCode::INVALID_PARAMS => {
                Ok(CallToolResult::error(vec![ContentBlock::text(format!("bad arguments: {}", error.message))]).into())
            }
            answer => answer,
        }
    }
}

fn budget(page: &Page) -> Result<usize, String> {
    let max_tokens = page.max_tokens.unwrap_or(DEFAULT_TOKENS);
    if (1..=MAX_TOKENS).contains(&max_tokens) {
        Ok(max_tokens)
    } else {
        Err(format!("max_tokens must be from 1 to {MAX_TOKENS}"))
    }
}

/// The part of `answer` that fits the page's budget, from its cursor; when
/// cut, it says so and gives the cursor of the rest.
fn fit(answer: String, page: &Page) -> Reply {
    let max_tokens = budget(page)?;
    let start = match &page.cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|&at| at < answer.len().max(1) && answer.is_char_boundary(at))
            .ok_or_else(|| format!("cursor {cursor:?} is not one this answer gave"))?,
    };
    let counter = pyatlas_chunker::Tiktoken::cl100k_base();
    let rest = &answer[start..];
    if counter.count(rest) <= max_tokens {
        return Ok(rest.to_owned());
    }
    // Room for the note that says where to go on.
    let note_tokens = 40.min(max_tokens / 2);
    let mut end = counter.fitting_prefix(rest, max_tokens - note_tokens);
    if let Some(line) = rest[..end].rfind('\n').filter(|&l| l > end / 2) {
        end = line + 1;
    }
    if end == 0 {
        end = rest.chars().next().map_or(rest.len(), char::len_utf8);
    }
    let next = start + end;
    Ok(format!(
        "{}\n[cut at {max_tokens} tokens: characters {start} to {next} of {} shown; call again with cursor=\"{next}\" for the rest]\n",
        &rest[..end],
        answer.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_answer_continues_where_it_was_cut() {
        let answer: String = (0..400).map(|i| format!("line {i}: some words about the code\n")).collect();
        let mut cursor = None;
        let mut joined = String::new();
        for _ in 0..100 {
            let page = Page { max_tokens: Some(200), cursor: cursor.clone() };
            let part = fit(answer.clone(), &page).expect("a part");
            assert!(pyatlas_chunker::Tiktoken::cl100k_base().count(&part) <= 200, "{part}");
            match part.rsplit_once("\n[cut at 200 tokens: ") {
                Some((shown, note)) => {
                    joined.push_str(shown);
                    let next = note.split("cursor=\"").nth(1).and_then(|n| n.split('"').next()).expect("a cursor");
                    cursor = Some(next.to_owned());
                }
                None => {
                    joined.push_str(&part);
                    break;
                }
            }
        }
        assert_eq!(joined, answer);
    }

    #[test]
    fn bad_budgets_and_cursors_are_errors() {
        let page = |max_tokens, cursor: Option<&str>| Page { max_tokens, cursor: cursor.map(str::to_owned) };
        assert!(fit("x".to_owned(), &page(Some(0), None)).is_err());
        assert!(fit("x".to_owned(), &page(Some(20_001), None)).is_err());
        assert!(fit("héllo".to_owned(), &page(None, Some("2"))).is_err(), "inside a character");
        assert!(fit("hello".to_owned(), &page(None, Some("99"))).is_err());
        assert!(fit("hello".to_owned(), &page(None, Some("x"))).is_err());
        assert_eq!(fit("hello".to_owned(), &page(None, Some("2"))), Ok("llo".to_owned()));
    }
}
