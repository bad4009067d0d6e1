//! Chunking options.

/// How to chunk. Every field has a sensible [`Default`]; the chainable
/// setters of the same names change one each.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ChunkConfig {
    /// Hard cap on the tokens of a chunk's `text`, header included (default: 512).
    pub max_tokens: usize,
    /// Sibling chunks smaller than this are merged with their neighbours,
    /// up to the cap (default: 64; 0 turns merging off).
    pub min_tokens: usize,
    /// Lines of the previous part repeated at the start of the next when a
    /// unit is split (default: 2).
    pub overlap_lines: usize,
    /// Prefix each chunk with a context header: the file path, the enclosing
    /// classes, and for a part the unit's signature (default: `true`).
    pub header: bool,
    /// Strip trailing whitespace from every code line (default: `false`).
    pub strip_trailing_whitespace: bool,
    /// Remove the indentation common to the code lines (default: `false`).
    pub dedent: bool,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            min_tokens: 64,
            overlap_lines: 2,
            header: true,
            strip_trailing_whitespace: false,
            dedent: false,
        }
    }
}

macro_rules! setters {
    ($($name:ident: $ty:ty),* $(,)?) => {
        impl ChunkConfig {
            $(
                #[doc = concat!("Sets [`ChunkConfig::", stringify!($name), "`].")]
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    max_tokens: usize,
    min_tokens: usize,
    overlap_lines: usize,
    header: bool,
    strip_trailing_whitespace: bool,
    dedent: bool,
}
