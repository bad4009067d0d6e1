//! [`HashEmbedder`]: the offline default, lexical embeddings of code.

use std::collections::HashMap;

use crate::{BoxFuture, EmbedError, EmbedReport, Embedded, Embedder, Metrics, OnBatch};

/// Deterministic lexical embeddings of code, with no network and no model
/// files: the offline default.
///
/// A text becomes its identifiers (runs of letters, digits and `_`), each
/// split on `snake_case` underscores and `camelCase` humps and lower-cased
/// (`getUserById` and `get_user_by_id` both give `get`, `user`, `by`, `id`);
/// a multi-part identifier also counts whole. Each term weighs
/// `1 + ln(count)` (sub-linear, so a repeated word does not drown the rest)
/// and is added, with a sign taken from its hash, to one of
/// [`dimensions`](Embedder::dimensions) buckets (signed feature hashing,
/// FNV-1a); the vector is then L2-normalised. A text without identifiers
/// gets the zero vector.
///
/// The vectors are **lexical, not semantic**: texts that share identifier
/// words are close, synonyms are not. They are good for finding code by the
/// names it uses, and as a stand-in where no embedding model is available.
#[derive(Clone, Debug)]
pub struct HashEmbedder {
    dimensions: usize,
    model_id: String,
}

impl Default for HashEmbedder {
    /// [`HashEmbedder::DEFAULT_DIMENSIONS`] dimensions.
    fn default() -> Self {
        Self { dimensions: Self::DEFAULT_DIMENSIONS, model_id: model_id(Self::DEFAULT_DIMENSIONS) }
    }
}

fn model_id(dimensions: usize) -> String {
    format!("{}-{dimensions}", HashEmbedder::SCHEME)
}

impl HashEmbedder {
    /// The dimension of [`HashEmbedder::default`]: 384.
    pub const DEFAULT_DIMENSIONS: usize = 384;

    /// The scheme and its version, which changes whenever a text's vector
    /// would (the model id is `<scheme>-<dimensions>`).
    pub const SCHEME: &'static str = "pyatlas-hash-v1";

    /// An embedder with vectors of `dimensions` values.
    pub fn new(dimensions: usize) -> Result<Self, EmbedError> {
        if dimensions == 0 {
            return Err(EmbedError::Config { reason: "HashEmbedder needs at least one dimension".into() });
        }
        Ok(Self { dimensions, model_id: model_id(dimensions) })
    }

    /// The vector of one text.
    pub fn embed_text(&self, text: &str) -> Vec<f32> {
        let mut counts: HashMap<u64, u32> = HashMap::new();
        for_each_term(text, |hash| *counts.entry(hash).or_default() += 1);
        // Summed in the order of the hashes, not the map's (random) order:
        // terms that share a bucket then add up to the same bits every time.
        let mut counts: Vec<(u64, u32)> = counts.into_iter().collect();
        counts.sort_unstable_by_key(|&(hash, _)| hash);
        let mut vector = vec![0f32; self.dimensions];
        for (hash, count) in counts {
            let weight = 1.0 + (count as f32).ln();
            let bucket = (hash % self.dimensions as u64) as usize;
            let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
            vector[bucket] += sign * weight;
        }
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|v| *v /= norm);
        }
        vector
    }
}

impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn spec(&self) -> crate::EmbedderSpec {
        crate::EmbedderSpec::hash(self.dimensions)
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// No limit: any text is hashed whole.
    fn max_input_tokens(&self) -> usize {
        usize::MAX
    }

    fn embed_each<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>) -> BoxFuture<'a, EmbedReport> {
        Box::pin(async move {
            // Hand over batches of a bounded size so that a consumer (a
            // database writer) sees steady work, and yield between them.
            const BATCH: usize = 256;
            for (batch_number, batch) in texts.chunks(BATCH).enumerate() {
                let start = batch_number * BATCH;
                let embedded = batch
                    .iter()
                    .enumerate()
                    .map(|(offset, text)| Embedded { index: start + offset, vector: self.embed_text(text) })
                    .collect();
                on_batch(embedded);
                tokio::task::yield_now().await;
            }
            let metrics = Metrics { inputs_embedded: texts.len() as u64, ..Metrics::default() };
            EmbedReport { embedded: texts.len(), metrics, ..EmbedReport::default() }
        })
    }
}

/// Calls `f` with the hash of every term of `text`: each identifier's
/// lower-cased parts, and the whole lower-cased identifier when it has more
/// than one part.
fn for_each_term(text: &str, mut f: impl FnMut(u64)) {
    let mut rest = text;
    while let Some(start) = rest.find(is_identifier_char) {
        let after = &rest[start..];
        let end = after.find(|c: char| !is_identifier_char(c)).unwrap_or(after.len());
        let identifier = &after[..end];
        let mut parts = 0;
        for part in identifier_parts(identifier) {
            f(fnv1a(b'p', part));
            parts += 1;
        }
        if parts > 1 {
            f(fnv1a(b'w', identifier));
        }
        rest = &after[end..];
    }
}

fn is_identifier_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits an identifier on underscores and case humps: `HTTPServerError2`
/// gives `HTTP`, `Server`, `Error2`; `get_user_by_id` gives `get`, `user`,
/// `by`, `id`.
pub fn identifier_parts(identifier: &str) -> impl Iterator<Item = &str> {
    identifier.split('_').filter(|s| !s.is_empty()).flat_map(|word| {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        let mut cuts = vec![0];
        for i in 1..chars.len() {
            let (prev, cur) = (chars[i - 1].1, chars[i].1);
            let next_lower = chars.get(i + 1).is_some_and(|(_, c)| c.is_lowercase());
            // lower|digit -> Upper ("getUser"), or the last capital of a run
            // before a lower-case letter ("HTTPServer").
            if cur.is_uppercase() && (prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower)) {
                cuts.push(chars[i].0);
            }
        }
        cuts.push(word.len());
        cuts.windows(2).map(move |w| &word[w[0]..w[1]]).collect::<Vec<_>>()
    })
}

/// FNV-1a (64-bit) of a kind byte and the lower-cased text.
fn fnv1a(kind: u8, text: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = (OFFSET ^ u64::from(kind)).wrapping_mul(PRIME);
    let mut buf = [0u8; 4];
    for c in text.chars().flat_map(char::to_lowercase) {
        for &byte in c.encode_utf8(&mut buf).as_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn splits_identifiers_like_a_reader() {
        let parts = |s| identifier_parts(s).collect::<Vec<_>>();
        assert_eq!(parts("get_user_by_id"), ["get", "user", "by", "id"]);
        assert_eq!(parts("getUserById"), ["get", "User", "By", "Id"]);
        assert_eq!(parts("HTTPServerError2"), ["HTTP", "Server", "Error2"]);
        assert_eq!(parts("__init__"), ["init"]);
        assert_eq!(parts("parse2Html"), ["parse2", "Html"]);
        assert_eq!(parts("_"), Vec::<&str>::new());
        assert_eq!(parts("Été_über"), ["Été", "über"]);
    }

    #[test]
    fn vectors_are_deterministic_unit_length_and_configurable() {
        let embedder = HashEmbedder::default();
        let a = embedder.embed_text("def get_user(user_id): return db.get(user_id)");
        assert_eq!(a.len(), 384);
        assert_eq!(a, embedder.embed_text("def get_user(user_id): return db.get(user_id)"));
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        let small = HashEmbedder::new(16).expect("16 dimensions");
        assert_eq!(small.embed_text("x").len(), 16);
        assert_eq!(small.model_id(), "pyatlas-hash-v1-16");
        assert!(HashEmbedder::new(0).is_err());
        // Nothing to hash: the zero vector, not NaNs.
        assert!(embedder.embed_text("  ( ) + - ").iter().all(|v| *v == 0.0));
    }

    #[test]
    fn vectors_are_the_same_bits_however_terms_share_buckets() {
        // 16 buckets for hundreds of terms: every bucket sums many; a map's
        // random iteration order used to change the last bits.
        let embedder = HashEmbedder::new(16).expect("16 dimensions");
        // Terms repeated 1 to 7 times: weights 1 + ln(count), not integers.
        let text: String = (0..400).map(|i| format!("name_{i} ").repeat(i % 7 + 1)).collect();
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        let first = bits(embedder.embed_text(&text));
        for _ in 0..20 {
            assert_eq!(bits(embedder.embed_text(&text)), first);
        }
    }

    #[test]
    fn naming_styles_meet_and_unrelated_code_does_not() {
        let embedder = HashEmbedder::default();
        let snake = embedder.embed_text("user = repository.get_user_by_id(user_id)");
        let camel = embedder.embed_text("user = repository.getUserById(userId)");
        let other = embedder.embed_text("for line in open(path): parse_header(line)");
        assert!(cosine(&snake, &camel) > 0.6, "{}", cosine(&snake, &camel));
        assert!(cosine(&snake, &other).abs() < 0.3, "{}", cosine(&snake, &other));
    }

    #[test]
    fn repeated_terms_weigh_sub_linearly() {
        let embedder = HashEmbedder::new(4096).expect("dimensions");
        // "x" ten times against "y" once: weights 1 + ln 10 and 1.
        let v = embedder.embed_text(&format!("{} y", "x ".repeat(10)));
        let mut magnitudes: Vec<f32> = v.iter().map(|x| x.abs()).filter(|x| *x > 0.0).collect();
        magnitudes.sort_by(f32::total_cmp);
        assert_eq!(magnitudes.len(), 2);
        let ratio = magnitudes[1] / magnitudes[0];
        assert!((ratio - (1.0 + 10f32.ln())).abs() < 1e-4, "{ratio}");
    }

    #[test]
    fn stable_across_versions() {
        // The model id promises that a text's vector does not change; a
        // change to the scheme must bump the version in `model_id`.
        let v = HashEmbedder::new(8).expect("dimensions").embed_text("class UserRepository: def get(self, key): ...");
        let rounded: Vec<i32> = v.iter().map(|x| (x * 1000.0).round() as i32).collect();
        assert_eq!(rounded, [0, 0, 0, -408, -408, 0, -816, 0], "change only with a version bump in model_id");
    }
}
