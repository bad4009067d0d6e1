//! Token counting: the [`TokenCounter`] seam and its implementations.

use std::fmt;

/// Counts tokens the way an embedding model will. Implement it to plug in
/// another tokenizer; the chunker needs nothing else.
pub trait TokenCounter: Send + Sync {
    /// A short name, such as `cl100k_base`.
    fn name(&self) -> &str;

    /// The number of tokens in `text`.
    fn count(&self, text: &str) -> usize;

    /// The length in bytes of the longest prefix of `text`, ending on a
    /// character boundary, that has at most `max_tokens` tokens (0 when not
    /// even the first character fits). The default searches with
    /// [`count`](Self::count).
    fn fitting_prefix(&self, text: &str, max_tokens: usize) -> usize {
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).skip(1).chain([text.len()]).collect();
        // The largest boundary whose prefix fits; counts grow with the prefix.
        let (mut low, mut high) = (0usize, boundaries.len());
        while low < high {
            let mid = (low + high).div_ceil(2);
            if self.count(&text[..boundaries[mid - 1]]) <= max_tokens {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        if low == 0 { 0 } else { boundaries[low - 1] }
    }
}

/// OpenAI's byte-pair encodings through `tiktoken-rs`, counting as
/// `encode_ordinary` does (special-token text counts as ordinary text).
pub struct Tiktoken {
    name: &'static str,
    bpe: &'static tiktoken_rs::CoreBPE,
}

impl Tiktoken {
    /// `cl100k_base`: OpenAI's `text-embedding-3-*` and `ada-002` models. The default.
    pub fn cl100k_base() -> Self {
        Self { name: "cl100k_base", bpe: tiktoken_rs::cl100k_base_singleton() }
    }

    /// `o200k_base`: OpenAI's GPT-4o family.
    pub fn o200k_base() -> Self {
        Self { name: "o200k_base", bpe: tiktoken_rs::o200k_base_singleton() }
    }
}

impl fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tiktoken").field("name", &self.name).finish()
    }
}

impl TokenCounter for Tiktoken {
    fn name(&self) -> &str {
        self.name
    }

    fn count(&self, text: &str) -> usize {
        self.bpe.encode_ordinary(text).len()
    }
}

/// One token per character: for models with a character limit, and for tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct CharCounter;

impl TokenCounter for CharCounter {
    fn name(&self) -> &str {
        "chars"
    }

    fn count(&self, text: &str) -> usize {
        text.chars().count()
    }

    fn fitting_prefix(&self, text: &str, max_tokens: usize) -> usize {
        text.char_indices().nth(max_tokens).map_or(text.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiktoken_counts_known_strings() {
        // Reference counts from Python's tiktoken 0.14 (cl100k_base, o200k_base).
        assert_eq!(Tiktoken::cl100k_base().count("hello world"), 2);
        assert_eq!(Tiktoken::cl100k_base().count("def f(x):\n    return x\n"), 8);
        assert_eq!(Tiktoken::o200k_base().count("hello world"), 2);
        assert_eq!(Tiktoken::cl100k_base().count(""), 0);
    }

    #[test]
    fn fitting_prefix_is_the_longest_that_fits() {
        let counter = Tiktoken::cl100k_base();
        let text = "alpha beta gamma delta épsilon zeta";
        for max in 0..12 {
            let end = counter.fitting_prefix(text, max);
            assert!(text.is_char_boundary(end));
            assert!(counter.count(&text[..end]) <= max);
            if end < text.len() {
                let next = text[end..].chars().next().map_or(end, |c| end + c.len_utf8());
                assert!(counter.count(&text[..next]) > max, "max {max}: a longer prefix would fit");
            }
        }
        assert_eq!(CharCounter.fitting_prefix("héllo", 2), 3);
        assert_eq!(CharCounter.fitting_prefix("hé", 5), 3);
    }
}
