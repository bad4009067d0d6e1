//! pyatlas: understand a Python codebase from Rust.
//!
//! This facade re-exports the pyatlas crates under short names:
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`parser`] | `pyatlas-parser` | parallel, error-tolerant parsing into units, imports, calls, comments and diagnostics |
//! | [`chunker`] | `pyatlas-chunker` | AST-aware, token-capped chunks for embeddings |
//! | [`classifier`] | `pyatlas-classifier` | explainable domain classification of modules and units |
//! | [`graph`] | `pyatlas-graph` | import graph, call graph, class hierarchy and architecture contracts |
//! | [`intent`] | `pyatlas-intent-tags` | intent tags in the code, and drift between them and the code |
//! | [`embed`] | `pyatlas-embed` | embeddings under rate limits (OpenAI-compatible APIs), a cache seam, an offline lexical embedder |
//! | [`store`] | `pyatlas-store` | PostgreSQL + pgvector: versioned runs, binary COPY ingest, embedding cache, semantic and hybrid search |
//! | [`index`] | `pyatlas-index` | the index pipeline: a codebase into a run of the store, with progress events and cancellation |
//!
//! # Feature flags
//! One per crate, all on by default, each with what it builds on:
//! `parser`, `chunker`, `classifier`, `graph`, `intent` (classifier and
//! graph), `embed`, `store` (embed, chunker, intent), `index` (store); and
//! `rustls` (default) or `native-tls` for embedding providers behind
//! https. `default-features = false, features = ["parser"]` builds the
//! parser alone, without tokio, reqwest, TLS or a PostgreSQL driver.
//!
//! ```
//! # #[cfg(feature = "parser")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let root = tempfile::tempdir()?;
//! std::fs::write(root.path().join("app.py"), "import os\n\ndef main():\n    os.listdir('.')\n")?;
//! let codebase = pyatlas::parser::parse_codebase(root.path(), &Default::default())?;
//! assert_eq!(codebase.files[0].calls[0].callee, "os.listdir");
//! # Ok(()) }
//! # #[cfg(not(feature = "parser"))]
//! # fn main() {}
//! ```

#[cfg(feature = "chunker")]
pub use pyatlas_chunker as chunker;
#[cfg(feature = "classifier")]
pub use pyatlas_classifier as classifier;
#[cfg(feature = "embed")]
pub use pyatlas_embed as embed;
#[cfg(feature = "graph")]
pub use pyatlas_graph as graph;
#[cfg(feature = "index")]
pub use pyatlas_index as index;
#[cfg(feature = "intent")]
pub use pyatlas_intent_tags as intent;
#[cfg(feature = "mcp")]
pub use pyatlas_mcp as mcp;
#[cfg(feature = "parser")]
pub use pyatlas_parser as parser;
#[cfg(feature = "query")]
pub use pyatlas_query as query;
#[cfg(feature = "serve")]
pub use pyatlas_serve as serve;
#[cfg(feature = "store")]
pub use pyatlas_store as store;
