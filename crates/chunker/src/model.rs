//! The chunk record.

use std::fmt;

use pyatlas_parser::{ByteRange, ModuleName, QualName};
use serde::{Deserialize, Serialize};

/// A content-addressed chunk id: the first 128 bits of the BLAKE3 hash of
/// the chunk's `text`, in hex. The same text gives the same id on every run
/// and machine, so ids double as embedding-cache keys; two chunks with the
/// same text share an id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChunkId(String);

impl ChunkId {
    /// The id of `text`.
    pub fn of(text: &str) -> Self {
        Self::from_hash(blake3::hash(text.as_bytes()).as_bytes())
    }

    /// The id of a text whose BLAKE3 hash is `hash` (as an embedding cache
    /// keys texts): the one definition of the id, which [`ChunkId::of`] uses.
    pub fn from_hash(hash: &[u8; 32]) -> Self {
        let mut hex = String::with_capacity(32);
        for byte in &hash[..16] {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        Self(hex)
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Text that is not a chunk id (32 lowercase hex digits).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a chunk id (32 lowercase hex digits)")]
pub struct InvalidChunkId(pub String);

impl std::str::FromStr for ChunkId {
    type Err = InvalidChunkId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() == 32 && text.bytes().all(|b| HEX.contains(&b)) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidChunkId(text.to_owned()))
        }
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a chunk holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// Every kind.
    pub const ALL: [Self; 6] = [Self::Function, Self::Method, Self::Class, Self::ClassHead, Self::Module, Self::Part];

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

    /// Whether it holds whole units (a function, method or class, or a
    /// class's head), not module-level code or a part of a unit.
    pub fn holds_unit(self) -> bool {
        matches!(self, Self::Function | Self::Method | Self::Class | Self::ClassHead)
    }
}

impl fmt::Display for ChunkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no [`ChunkKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown chunk kind {0:?} (expected function, method, class, class_head, module or part)")]
pub struct UnknownChunkKind(pub String);

impl std::str::FromStr for ChunkKind {
    type Err = UnknownChunkKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| UnknownChunkKind(text.to_owned()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_first_half_of_the_text_hash_in_hex() {
        let text = "def f():\n    return 1\n";
        let id = ChunkId::of(text);
        assert_eq!(id.as_str(), &blake3::hash(text.as_bytes()).to_hex()[..32]);
        assert_eq!(id.as_str().parse::<ChunkId>(), Ok(id.clone()));
        assert!("xyz".parse::<ChunkId>().is_err());
        for kind in ChunkKind::ALL {
            assert_eq!(kind.as_str().parse::<ChunkKind>(), Ok(kind));
        }
        assert!("tuple".parse::<ChunkKind>().is_err());
    }
}
