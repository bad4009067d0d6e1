//! Token counting for batch budgets, rate limits and input limits.

use std::fmt;

/// The byte-pair encoding used to count tokens, exactly as tiktoken counts
/// them, through `bpe-openai` (the same encodings as the chunker). OpenAI's embedding models use
/// `cl100k_base`; for other providers the count is an estimate that still
/// keeps batches and rate limits in proportion.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tokenizer {
    /// `cl100k_base`: `text-embedding-3-*` and `text-embedding-ada-002`.
    #[default]
    Cl100kBase,
    /// `o200k_base`.
    O200kBase,
}

impl Tokenizer {
    fn bpe(self) -> &'static bpe_openai::Tokenizer {
        match self {
            Self::Cl100kBase => bpe_openai::cl100k_base(),
            Self::O200kBase => bpe_openai::o200k_base(),
        }
    }

    /// The encoding's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cl100kBase => "cl100k_base",
            Self::O200kBase => "o200k_base",
        }
    }

    /// The number of tokens in `text` (special-token text counts as
    /// ordinary text, as the embeddings endpoint counts it).
    pub fn count(self, text: &str) -> usize {
        self.bpe().count(text)
    }

    /// The longest prefix of `text` with at most `max_tokens` tokens, cut on
    /// a character boundary, and its token count.
    pub fn truncate(self, text: &str, max_tokens: usize) -> (&str, usize) {
        let bpe = self.bpe();
        let tokens = bpe.encode(text);
        if tokens.len() <= max_tokens {
            return (text, tokens.len());
        }
        // Tokens decode to consecutive byte runs of the text, so the first
        // `keep` of them cover a byte prefix; a token may end inside a
        // character, so back off to the boundary before it. Re-encoding the
        // prefix alone may merge differently, so check and shrink if needed.
        let mut keep = max_tokens;
        loop {
            let mut end = bpe.bpe.decode_tokens(&tokens[..keep]).len().min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let prefix = &text[..end];
            let count = bpe.count(prefix);
            if count <= max_tokens || keep == 0 {
                return (prefix, count);
            }
            keep -= (count - max_tokens).min(keep);
        }
    }
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_tiktoken() {
        // Reference counts from Python's tiktoken 0.14.
        assert_eq!(Tokenizer::Cl100kBase.count("hello world"), 2);
        assert_eq!(Tokenizer::Cl100kBase.count("def get_user(user_id):\n    return db.get(user_id)\n"), 13);
        assert_eq!(Tokenizer::Cl100kBase.count(""), 0);
    }

    #[test]
    fn truncation_is_a_fitting_prefix_on_a_char_boundary() {
        let text = "naïve café — 日本語のテキスト ".repeat(40);
        for max in [0, 1, 3, 7, 50, 10_000] {
            let (prefix, count) = Tokenizer::Cl100kBase.truncate(&text, max);
            assert!(text.starts_with(prefix));
            assert!(count <= max, "{count} > {max}");
            assert_eq!(count, Tokenizer::Cl100kBase.count(prefix));
            if max >= Tokenizer::Cl100kBase.count(&text) {
                assert_eq!(prefix, text);
            } else {
                assert!(prefix.len() < text.len());
            }
        }
    }
}
