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

/// OpenAI's byte-pair encodings, counted exactly as tiktoken's
/// `encode_ordinary` counts them (special-token text counts as ordinary
/// text): the same counts as Python's tiktoken on every chunk of the
/// standard library (the differential test).
///
/// The byte-pair tables are `bpe-openai`'s (about three times faster than
/// `tiktoken-rs`). The text is cut into pieces with the encoding's
/// pre-tokenizing pattern, as `bpe-openai` cuts it, but each thread keeps a
/// search cache of its own: a regex shared by threads hands its cache
/// around through a pool, which cost half again per search and made two
/// threads barely faster than one.
pub struct Tiktoken {
    encoding: &'static Encoding,
}

/// An encoding: its tables and its pre-tokenizer.
struct Encoding {
    name: &'static str,
    /// Slot of this encoding's cache in each thread's [`CACHES`].
    slot: usize,
    bpe: &'static bpe_openai::Tokenizer,
    /// Alternatives whose match ends with one character of look-ahead to
    /// give back (tiktoken's `\s+(?!\S)`, emulated as `bpe-openai` does).
    pattern: regex_automata::meta::Regex,
    lookahead: [bool; 3],
}

thread_local! {
    /// Each thread's search caches, one slot per encoding.
    static CACHES: std::cell::RefCell<[Option<regex_automata::meta::Cache>; 2]> = const { std::cell::RefCell::new([None, None]) };
}

/// The two look-ahead alternatives shared by both encodings' patterns.
const LOOKAHEAD: [&str; 2] = ["\\s+\\s", "\\s+"];

fn encoding(name: &'static str, slot: usize, bpe: &'static bpe_openai::Tokenizer, first: &str) -> Encoding {
    let pattern = regex_automata::meta::Regex::new_many(&[first, LOOKAHEAD[0], LOOKAHEAD[1]])
        .expect("the tiktoken pre-tokenizing patterns are valid");
    Encoding { name, slot, bpe, pattern, lookahead: [false, true, false] }
}

static CL100K: std::sync::LazyLock<Encoding> = std::sync::LazyLock::new(|| {
    let first = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+$";
    encoding("cl100k_base", 0, bpe_openai::cl100k_base(), first)
});

static O200K: std::sync::LazyLock<Encoding> = std::sync::LazyLock::new(|| {
    let first = [
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        "\\p{N}{1,3}",
        " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
        "\\s*[\\r\\n]+",
        "\\s+$",
    ]
    .join("|");
    encoding("o200k_base", 1, bpe_openai::o200k_base(), &first)
});

impl Encoding {
    /// Counts the tokens of `text`, piece by piece.
    fn count(&self, text: &str) -> usize {
        CACHES.with(|caches| {
            let mut caches = caches.borrow_mut();
            let Some(slot) = caches.get_mut(self.slot) else { return self.bpe.count(text) };
            let cache = slot.get_or_insert_with(|| self.pattern.create_cache());
            let mut total = 0;
            let mut start = 0;
            while start < text.len() {
                let input = regex_automata::Input::new(&text[start..]).anchored(regex_automata::Anchored::Yes);
                let Some(found) = self.pattern.search_with(cache, &input) else { break };
                let mut end = start + found.end();
                if self.lookahead.get(found.pattern().as_usize()).copied().unwrap_or(false) {
                    end -= text[start..end].chars().next_back().map_or(0, char::len_utf8);
                }
                if end <= start {
                    break;
                }
                total += self.bpe.bpe.count(&text.as_bytes()[start..end]);
                start = end;
            }
            total
        })
    }
}

impl Tiktoken {
    /// `cl100k_base`: OpenAI's `text-embedding-3-*` and `ada-002` models. The default.
    pub fn cl100k_base() -> Self {
        Self { encoding: &CL100K }
    }

    /// `o200k_base`: OpenAI's GPT-4o family.
    pub fn o200k_base() -> Self {
        Self { encoding: &O200K }
    }
}

impl fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tiktoken").field("name", &self.encoding.name).finish()
    }
}

impl TokenCounter for Tiktoken {
    fn name(&self) -> &str {
        self.encoding.name
    }

    fn count(&self, text: &str) -> usize {
        self.encoding.count(text)
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
