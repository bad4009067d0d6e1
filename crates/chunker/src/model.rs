//! The chunk record.

use std::fmt;

use pyatlas_parser::{ByteRange, ModuleName, QualName};
use serde::{Deserialize, Serialize};

/// A content-addressed chunk id: the first 128 bits of the BLAKE3 hash of
/// the chunk's `text`, in hex. The same text gives the same id on every run
/// and machine, so ids double as embedding-cache keys; two chunks with the
/// same text share an id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChunkId(String);

impl ChunkId {
    /// The id of `text`.
    pub fn of(text: &str) -> Self {
        let hash = blake3::hash(text.as_bytes());
        let hex = hash.to_hex();
        Self(hex.as_str()[..32].to_owned())
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a chunk holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkKind {
    /// A whole module-level function (or several small ones, merged).
    Function,
    /// A whole method (or several small ones, merged).
    Method,
    /// A whole class that fits the cap.
    Class,
    /// Class-level code of a class too large for one chunk: decorators, the
    /// `class` line, docstring and class-level statements.
    ClassHead,
    /// Module-level code: imports, constants, script code, the module docstring.
    Module,
    /// One part of a function, method or class body too large for one chunk.
    Part,
}

impl ChunkKind {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Function => "function",
            Self::Method => "method",
            Self::Class => "class",
            Self::ClassHead => "class_head",
            Self::Module => "module",
            Self::Part => "part",
        }
    }
}

/// A chunk of a Python file, ready to embed.
///
/// `text` is the context header (when enabled) followed by the code: the
/// source lines `start_line..=end_line`, verbatim but for the configured
/// normalisation. Only a chunk with [`split_inside_line`](Self::split_inside_line)
/// holds less than whole lines: a piece of a single line longer than the cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Chunk {
    /// Content-addressed id of `text`.
    pub id: ChunkId,
    /// File path relative to the analysed root, `/`-separated.
    pub path: String,
    /// Module name of the file.
    pub module: ModuleName,
    /// Qualified names of the units the chunk holds (empty for module code).
    pub qualnames: Vec<QualName>,
    /// What the chunk holds.
    pub kind: ChunkKind,
    /// First source line of the code.
    pub start_line: u32,
    /// Last source line of the code.
    pub end_line: u32,
    /// Byte range of the code in the decoded file text.
    pub bytes: ByteRange,
    /// Exact token count of `text`, with the chunker's counter.
    pub token_count: usize,
    /// 0-based index of this part among the parts of a split unit or code run.
    pub part_index: u32,
    /// Number of parts (1 when not split).
    pub part_count: u32,
    /// Qualified name of the enclosing class, if any.
    pub parent: Option<QualName>,
    /// The code is a piece of one line longer than the whole cap.
    pub split_inside_line: bool,
    /// Length in bytes of the context header at the start of `text`.
    pub header_len: usize,
    /// What is sent to the embedder: the context header and the code.
    pub text: String,
}

impl Chunk {
    /// The code part of [`text`](Self::text), without the context header.
    pub fn code(&self) -> &str {
        self.text.get(self.header_len..).unwrap_or_default()
    }

    /// The context header part of [`text`](Self::text).
    pub fn header(&self) -> &str {
        self.text.get(..self.header_len).unwrap_or_default()
    }
}
