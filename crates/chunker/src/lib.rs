//! AST-aware, token-capped chunks of Python code for embeddings.
//!
//! `pyatlas-chunker` cuts each file parsed by [`pyatlas_parser`] into chunks
//! that are meaningful units of code and fit an embedding model's input
//! limit exactly:
//!
//! - one chunk per function or method, with its decorators, the comments
//!   directly above it and its docstring; a class that fits is one chunk, a
//!   larger one becomes a class-head chunk plus one chunk per method;
//! - module-level code grouped into chunks of consecutive statements;
//! - small neighbours (under [`ChunkConfig::min_tokens`]) merged, up to the cap;
//! - a unit over the cap split at statement boundaries (shallow ones first),
//!   each part repeating the unit's signature in its header and overlapping
//!   the previous part by [`ChunkConfig::overlap_lines`]; only a single line
//!   longer than the cap is split inside the line, and flagged.
//!
//! Every chunk's `text` is a short context header (file path, enclosing
//! classes, and a part's signature) followed by the verbatim source lines
//! `start_line..=end_line`. Its [`ChunkId`] is a BLAKE3 hash of the text.
//!
//! # Invariants
//! Held by property tests and by a test over the whole standard library:
//! 1. `token_count(text) <= max_tokens` for every chunk, header included;
//!    `token_count` is the exact count of `text`.
//! 2. Every non-blank source line lies in some chunk: nothing is dropped.
//! 3. No chunk is header-only ([`is_header_only`]: only decorators,
//!    `def`/`class` lines and at most a lone comment), except where the cap
//!    leaves no choice, each case checked by exact count in the tests: a
//!    file that holds nothing but a comment; a part whose decorators and
//!    signature do not fit with even one line of the body; trailing comments
//!    of a split unit that do not fit with the part before them.
//! 4. The code part of `text` is exactly the source lines
//!    `start_line..=end_line` after the configured normalisation (or, for a
//!    chunk flagged `split_inside_line`, the bytes of [`Chunk::bytes`]).
//! 5. The output is deterministic, and chunking never panics, whatever the
//!    parser returned (syntax errors included).
//!
//! # Example
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pyatlas_chunker::{ChunkConfig, Chunker, Tiktoken};
//! use pyatlas_parser::{SourceFile, SourceParser};
//!
//! let source = "import os\n\n\ndef listing(path):\n    \"\"\"Names in a folder.\"\"\"\n    return os.listdir(path)\n";
//! let mut parser = SourceParser::new(&Default::default())?;
//! let parsed = parser.parse_bytes(&SourceFile::in_memory("tools/files.py", "tools.files", false), source.as_bytes());
//!
//! let chunker = Chunker::new(ChunkConfig::default().max_tokens(256), Tiktoken::cl100k_base())?;
//! let chunks = chunker.chunk(&parsed);
//! assert_eq!(chunks.len(), 1); // the import is merged with the small function
//! assert_eq!(chunks[0].qualnames[0].as_str(), "listing");
//! assert!(chunks[0].text.starts_with("# tools/files.py\n"));
//! assert!(chunks[0].token_count <= 256);
//! # Ok(()) }
//! ```
//!
//! # Tokenizers
//! [`Tiktoken::cl100k_base`] (the default of OpenAI's embedding models),
//! [`Tiktoken::o200k_base`], and [`CharCounter`]; any other tokenizer plugs
//! in through the [`TokenCounter`] trait.

mod chunk;
mod config;
mod model;
mod quality;
mod tokens;

use std::sync::Arc;

use pyatlas_parser::ParsedFile;
use pyatlas_parser::tree_sitter::Tree;

pub use config::ChunkConfig;
pub use model::{Chunk, ChunkId, ChunkKind, InvalidChunkId, UnknownChunkKind};
pub use quality::{ChunkStats, is_header_only, is_tiny};
pub use tokens::{CharCounter, Tiktoken, TokenCounter};

/// Why a [`Chunker`] cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `max_tokens` is too small to hold any code.
    #[error("max_tokens must be at least {min}, got {got}")]
    CapTooSmall {
        /// The smallest accepted cap.
        min: usize,
        /// The cap given.
        got: usize,
    },
}

/// The smallest accepted [`ChunkConfig::max_tokens`].
pub const MIN_MAX_TOKENS: usize = 16;

/// Cuts parsed files into chunks. Cheap to share between threads.
#[derive(Clone)]
pub struct Chunker {
    config: ChunkConfig,
    counter: Arc<dyn TokenCounter>,
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunker").field("config", &self.config).field("counter", &self.counter.name()).finish()
    }
}

impl Chunker {
    /// A chunker with `config`, counting tokens with `counter`.
    ///
    /// # Errors
    /// [`Error::CapTooSmall`] when `max_tokens` is under [`MIN_MAX_TOKENS`].
    pub fn new(config: ChunkConfig, counter: impl TokenCounter + 'static) -> Result<Self, Error> {
        Self::with_counter(config, Arc::new(counter))
    }

    /// As [`new`](Self::new), with a shared counter.
    ///
    /// # Errors
    /// [`Error::CapTooSmall`] when `max_tokens` is under [`MIN_MAX_TOKENS`].
    pub fn with_counter(config: ChunkConfig, counter: Arc<dyn TokenCounter>) -> Result<Self, Error> {
        if config.max_tokens < MIN_MAX_TOKENS {
            return Err(Error::CapTooSmall { min: MIN_MAX_TOKENS, got: config.max_tokens });
        }
        Ok(Self { config, counter })
    }

    /// The configuration.
    pub fn config(&self) -> &ChunkConfig {
        &self.config
    }

    /// The token counter.
    pub fn counter(&self) -> &dyn TokenCounter {
        self.counter.as_ref()
    }

    /// The chunks of one parsed file, in source order.
    pub fn chunk(&self, parsed: &ParsedFile) -> Vec<Chunk> {
        self.chunk_parts(parsed.record(), parsed.text(), parsed.tree())
    }

    /// The chunks of a file from its parts: the record, the decoded text it
    /// was extracted from, and its tree (without a tree, parts are split at
    /// line boundaries only).
    pub fn chunk_parts(&self, record: &pyatlas_parser::FileRecord, text: &str, tree: Option<&Tree>) -> Vec<Chunk> {
        chunk::chunk_file(&self.config, self.counter.as_ref(), record, text, tree)
    }
}
