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
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let root = tempfile::tempdir()?;
//! std::fs::write(root.path().join("app.py"), "import os\n\ndef main():\n    os.listdir('.')\n")?;
//! let codebase = pyatlas::parser::parse_codebase(root.path(), &Default::default())?;
//! assert_eq!(codebase.files[0].calls[0].callee, "os.listdir");
//! # Ok(()) }
//! ```

pub use pyatlas_chunker as chunker;
pub use pyatlas_classifier as classifier;
pub use pyatlas_embed as embed;
pub use pyatlas_graph as graph;
pub use pyatlas_intent_tags as intent;
pub use pyatlas_parser as parser;
pub use pyatlas_store as store;
