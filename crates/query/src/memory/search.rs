//! The in-memory backend's search indexes. Each gives exactly the answer of
//! a scan over every chunk (the tests below hold them to it), at the cost of
//! what a query touches rather than of the whole corpus:
//! - [`Columns`]: the chunks' unit vectors stored by dimension, so that a
//!   query reads only the dimensions it uses;
//! - [`Lexical`]: BM25 scored from postings lists, with the `bm25`
//!   crate's tokenizer and term weights;
//! - [`Names`]: the chunks by every dotted tail of their qualnames;
//! - [`Symbols`]: the units by name and qualname, for symbol queries.

use std::collections::HashMap;
use std::sync::Arc;

use bm25::{DefaultTokenizer, Embedder as Bm25, EmbedderBuilder, Language, TokenEmbedder, Tokenizer};
use pyatlas_store::{ChunkRow, UnitRow};

use crate::answer::{letters, may_match, places, sorted_by};

/// The chunks' unit vectors, one column per dimension (column `d` holds
/// dimension `d` of every chunk, in chunk order).
///
/// A query's scores are, for every chunk, the sum over the query's
/// non-zero dimensions of `query[d] * column[d]`: the dot product in the
/// order of the dimensions, less its terms that are zero, which leave a
/// sum unchanged. A sparse query (the hash embedder's: a few words touch a
/// few dimensions) reads only its columns; a dense one reads every column,
/// as a scan of rows would.
pub(super) struct Columns {
    values: Vec<f32>,
    rows: usize,
    dimensions: usize,
}

impl Columns {
    /// `rows` zero vectors of `dimensions` values.
    pub(super) fn zeros(rows: usize, dimensions: usize) -> Self {
        Self { values: vec![0.0; rows * dimensions], rows, dimensions }
    }

    /// Sets row `row` to `vector` (which has the columns' dimensions).
    pub(super) fn set(&mut self, row: usize, vector: &[f32]) {
        for (column, &value) in self.values.chunks_exact_mut(self.rows.max(1)).zip(vector) {
            if let Some(cell) = column.get_mut(row) {
                *cell = value;
            }
        }
    }

    pub(super) fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The dot product of `probe` with every row, in row order.
    pub(super) fn scores(&self, probe: &[f32]) -> Vec<f32> {
        let mut scores = vec![0.0f32; self.rows];
        if self.rows == 0 {
            return scores;
        }
        for (column, &q) in self.values.chunks_exact(self.rows).zip(probe) {
            if q != 0.0 {
                for (score, &value) in scores.iter_mut().zip(column) {
                    *score += q * value;
                }
            }
        }
        scores
    }
}

/// A number that orders scores from the highest: `f32::total_cmp`
/// reversed, as unsigned numbers.
pub(super) fn descending(score: f32) -> u32 {
    let bits = score.to_bits();
    // Ascending: negatives flipped whole, the sign bit set on the rest.
    let ascending = if bits >> 31 == 1 { !bits } else { bits | 1 << 31 };
    !ascending
}

/// The `bm25` crate's term-frequency saturation (`k1`), length
/// normalisation (`b`), and average document length when there is none:
/// its defaults, which `Lexical` uses.
const K1: f32 = 1.2;
const B: f32 = 0.75;
const FALLBACK_AVGDL: f32 = 256.0;

/// `f` of every item, in order, computed on every core (contiguous
/// slices, a scoped thread each, with a state `S` of its own).
fn on_threads<D: Sync, S: Default, T: Send>(items: &[D], f: impl Fn(&mut S, &D) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let slice = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(slice)
            .map(|part| {
                scope.spawn(move || {
                    let mut state = S::default();
                    part.iter().map(|item| f(&mut state, item)).collect::<Vec<T>>()
                })
            })
            .collect();
        // A panic on a thread is a bug: it goes on, not lost.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// The `bm25` tokenizer's tokens of texts, hashed as its `Embedder` hashes
/// them, each piece between spaces tokenized once. A text's tokens are its
/// pieces' tokens in order: the tokenizer transliterates and lower-cases
/// character by character, keeps a space a space, and splits words on
/// Unicode word boundaries, and a space is always one. A text with control
/// characters is tokenized whole (see below); the texts of chunks as the
/// index sees them (`lexical_text`: words and spaces) have none. Code
/// repeats its words, so most pieces are found here rather than stemmed
/// again.
#[derive(Default)]
struct Words(HashMap<Box<str>, Box<[u32]>>);

impl Words {
    fn tokens(&mut self, tokenizer: &DefaultTokenizer, text: &str) -> Vec<u32> {
        let hashed = |text: &str| -> Box<[u32]> {
            tokenizer.tokenize(text).iter().map(|token| <u32 as TokenEmbedder>::embed(token)).collect()
        };
        // Once a text holds a character that is not ASCII, transliteration
        // drops the control characters after it (a newline, a tab), which
        // joins the words on either side: a piece alone could not tell.
        if text.chars().any(char::is_control) {
            return hashed(text).into_vec();
        }
        let mut tokens = Vec::new();
        for piece in text.split(' ').filter(|piece| !piece.is_empty()) {
            if let Some(known) = self.0.get(piece) {
                tokens.extend_from_slice(known);
            } else {
                let hashed = hashed(piece);
                tokens.extend_from_slice(&hashed);
                self.0.insert(piece.into(), hashed);
            }
        }
        tokens
    }
}

/// Each chunk's tokens by its id, kept between the builds of a live map's
/// index: a chunk that did not change is not tokenized again.
#[derive(Default)]
pub(crate) struct TokenCache(HashMap<Box<str>, Arc<[u32]>>);

/// BM25 over a fixed set of documents: the `bm25` crate's tokenizer and
/// term weights (`Embedder`), scored as its `Scorer` scores them, from
/// postings lists rather than from every matching document's terms.
pub(super) struct Lexical {
    embedder: Bm25,
    /// Token -> the documents holding it, ascending, with its weight there.
    postings: HashMap<u32, Vec<(u32, f32)>>,
    /// Token -> the documents whose names hold it, ascending ([`Lexical::named`]).
    names: HashMap<u32, Vec<u32>>,
    /// What a query token adds, times its inverse document frequency, to
    /// a document whose names hold it.
    name_weight: f32,
    documents: usize,
}

impl Lexical {
    /// The index of `documents`, whose texts `text` gives, fit to them: as
    /// the `bm25` crate's `EmbedderBuilder::with_fit_to_corpus` and
    /// `Embedder::embed` would build it, but with each text tokenized once
    /// (not once to fit and again to embed), on every core.
    pub(super) fn new<D: Sync>(documents: &[D], text: impl Fn(&D) -> String + Sync) -> Self {
        let tokenizer = DefaultTokenizer::new(Language::English);
        let tokens: Vec<Vec<u32>> =
            on_threads(documents, |words: &mut Words, document| words.tokens(&tokenizer, &text(document)));
        Self::weigh(&tokens)
    }

    /// [`Lexical::new`] over chunks, tokenizing only the chunks `cache`
    /// does not hold (by id: the hash of the text); `cache` then holds
    /// these chunks' tokens. The index is the one [`Lexical::new`] builds.
    pub(super) fn cached(
        chunks: &[ChunkRow],
        text: impl Fn(&ChunkRow) -> String + Sync,
        cache: &mut TokenCache,
    ) -> Self {
        let tokenizer = DefaultTokenizer::new(Language::English);
        let known = &cache.0;
        let tokens: Vec<Arc<[u32]>> = on_threads(chunks, |words: &mut Words, chunk| {
            known.get(chunk.id.as_str()).cloned().unwrap_or_else(|| words.tokens(&tokenizer, &text(chunk)).into())
        });
        cache.0 =
            chunks.iter().zip(&tokens).map(|(chunk, tokens)| (chunk.id.as_str().into(), Arc::clone(tokens))).collect();
        Self::weigh(&tokens)
    }

    /// The index of documents with these tokens.
    fn weigh<T: AsRef<[u32]>>(tokens: &[T]) -> Self {
        let mut builder = EmbedderBuilder::with_fit_to_corpus(Language::English, &[]);
        if !tokens.is_empty() {
            // The crate's average: every document's token count, summed as
            // u64 and divided in f64.
            let total: u64 = tokens.iter().map(|t| t.as_ref().len() as u64).sum();
            builder = builder.avgdl((total as f64 / tokens.len() as f64) as f32);
        }
        let embedder: Bm25 = builder.build();
        let avgdl = if embedder.avgdl() <= 0.0 { FALLBACK_AVGDL } else { embedder.avgdl() };
        let mut postings: HashMap<u32, Vec<(u32, f32)>> = HashMap::new();
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for (tokens, document) in tokens.iter().map(AsRef::as_ref).zip(0u32..) {
            counts.clear();
            tokens.iter().for_each(|&token| *counts.entry(token).or_default() += 1);
            // `Embedder::embed`'s weight of a token, the same operations in
            // the same order: each distinct token once (a repeated token
            // carries the same weight each time).
            let length = K1 * (1.0 - B + B * (tokens.len() as f32 / avgdl));
            for (&token, &count) in &counts {
                let frequency = count as f32;
                let list: &mut Vec<(u32, f32)> = postings.entry(token).or_default();
                list.push((document, frequency * (K1 + 1.0) / (frequency + length)));
            }
        }
        postings.values_mut().for_each(|list| list.shrink_to_fit());
        Self { embedder, postings, names: HashMap::new(), name_weight: 0.0, documents: tokens.len() }
    }

    /// The index, where a query token also adds `weight` times its inverse
    /// document frequency to the documents whose names (as `names` gives
    /// them) hold it, as the store's ranking adds its name weight: BM25
    /// saturates the frequency of a word that a unit's body repeats, and a
    /// word of the unit's own name would otherwise count no more than one
    /// of its body's.
    pub(super) fn named<D: Sync>(mut self, documents: &[D], names: impl Fn(&D) -> String + Sync, weight: f32) -> Self {
        let tokenizer = DefaultTokenizer::new(Language::English);
        let tokens: Vec<Vec<u32>> =
            on_threads(documents, |words: &mut Words, document| words.tokens(&tokenizer, &names(document)));
        let mut lists: HashMap<u32, Vec<u32>> = HashMap::new();
        for (tokens, document) in tokens.iter().zip(0u32..) {
            for &token in tokens {
                let list = lists.entry(token).or_default();
                if list.last() != Some(&document) {
                    list.push(document);
                }
            }
        }
        self.names = lists;
        self.name_weight = weight;
        self
    }

    /// Every document that shares a token with `query`, with its score,
    /// in no stated order (rankings order them): for each of the query's
    /// tokens (a repeated one counts again), its inverse document frequency
    /// times its weight in the document, plus the name weight when the
    /// document's names hold it.
    pub(super) fn scores(&self, query: &str) -> Vec<(u32, f32)> {
        let mut totals = vec![0.0f32; self.documents];
        let mut seen = vec![false; self.documents];
        let mut matched = Vec::new();
        let mut add = |document: u32, score: f32| {
            if let Some(total) = totals.get_mut(document as usize) {
                if !seen[document as usize] {
                    seen[document as usize] = true;
                    matched.push(document);
                }
                *total += score;
            }
        };
        for token in self.embedder.embed(query).iter() {
            let list = self.postings.get(&token.index);
            let named = self.names.get(&token.index).filter(|_| self.name_weight > 0.0);
            let frequency = list.map_or_else(|| named.map_or(0, Vec::len), Vec::len);
            let idf = self.idf(frequency);
            for &(document, weight) in list.into_iter().flatten() {
                add(document, idf * weight);
            }
            for &document in named.into_iter().flatten() {
                add(document, idf * self.name_weight);
            }
        }
        matched.into_iter().map(|d| (d, totals[d as usize])).collect()
    }

    /// The `bm25` crate's inverse document frequency.
    fn idf(&self, frequency: usize) -> f32 {
        let frequency = frequency as f32;
        let numerator = self.documents as f32 - frequency + 0.5;
        (1.0 + numerator / (frequency + 0.5)).ln()
    }
}

/// The chunks by name: every dotted tail of every qualname a chunk holds
/// (`a.B.c` gives `a.B.c`, `B.c` and `c`), so that the chunks holding a
/// unit named `B.c` are those whose qualname is `B.c` or ends in `.B.c`.
pub(super) struct Names(HashMap<Box<str>, Vec<u32>>);

impl Names {
    pub(super) fn new(chunks: &[ChunkRow]) -> Self {
        let mut names: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (chunk, i) in chunks.iter().zip(0u32..) {
            for qualname in &chunk.qualnames {
                let tails = std::iter::once(qualname.as_str())
                    .chain(qualname.match_indices('.').map(|(dot, _)| &qualname[dot + 1..]));
                for tail in tails {
                    let list = names.entry(tail.into()).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        Self(names)
    }

    /// The chunks holding a unit named `name` (a name or a dotted tail of
    /// a qualname), in chunk order.
    pub(super) fn holding(&self, name: &str) -> &[u32] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }
}

/// A unit as symbol queries see it: its name and qualname lower-cased, the
/// letters of its name ([`letters`]), its file (an index in the run's
/// files) and its place ([`places`]).
pub(super) struct UnitKey {
    pub(super) name: String,
    pub(super) qualname: String,
    letters: u64,
    pub(super) file: Option<usize>,
    pub(super) place: u32,
}

/// The units as symbol queries see them, and sorted by lower-cased name
/// and by lower-cased qualname, so that the units a query prefixes are a
/// range of each.
pub(super) struct Symbols {
    keys: Vec<UnitKey>,
    by_name: Vec<u32>,
    by_qualname: Vec<u32>,
}

impl Symbols {
    /// The keys of `units`, whose files `file_of` finds by path.
    pub(super) fn new(units: &[UnitRow], file_of: impl Fn(&str) -> Option<usize>) -> Self {
        let keys: Vec<UnitKey> = units
            .iter()
            .zip(places(units.iter()))
            .map(|(unit, place)| {
                let name = unit.name.to_lowercase();
                let qualname = unit.qualname.to_lowercase();
                UnitKey { letters: letters(&name), name, qualname, file: file_of(&unit.path), place }
            })
            .collect();
        let by_name = sorted_by(&keys, |a, b| a.name.cmp(&b.name));
        let by_qualname = sorted_by(&keys, |a, b| a.qualname.cmp(&b.qualname));
        Self { keys, by_name, by_qualname }
    }

    pub(super) fn key(&self, unit: u32) -> Option<&UnitKey> {
        self.keys.get(unit as usize)
    }

    /// The range of `order` (units sorted by `key`) that `query` prefixes.
    fn prefixed<'a>(&self, order: &'a [u32], key: fn(&UnitKey) -> &str, query: &str) -> &'a [u32] {
        let at = |i: &u32| self.keys.get(*i as usize).map_or("", key);
        let start = order.partition_point(|i| at(i) < query);
        let rest = order.get(start..).unwrap_or_default();
        rest.get(..rest.partition_point(|i| at(i).starts_with(query))).unwrap_or_default()
    }

    /// The units among which the best `limit` for `query` (lower-cased)
    /// are, by [`symbol_rank`](crate::answer::symbol_rank): those whose
    /// name or qualname it prefixes (ranks 0 to 3) when there are `limit`
    /// of them, else every unit [`may_match`] lets through.
    pub(super) fn candidates(&self, query: &str, limit: usize) -> Vec<u32> {
        let mut found: Vec<u32> = self.prefixed(&self.by_name, |k| &k.name, query).to_vec();
        found.extend_from_slice(self.prefixed(&self.by_qualname, |k| &k.qualname, query));
        found.sort_unstable();
        found.dedup();
        if found.len() >= limit {
            return found;
        }
        let query_letters = letters(query);
        (0u32..)
            .zip(&self.keys)
            .filter(|(_, key)| may_match(query, query_letters, key.letters, &key.qualname))
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use bm25::Scorer;

    use super::*;

    /// Texts nobody here wrote: the modules of the standard library's
    /// `json` and `email` packages, a line each and whole.
    fn corpus() -> Vec<String> {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
            .output()
            .expect("python3");
        let stdlib = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let mut texts = Vec::new();
        for package in ["json", "email"] {
            let mut paths: Vec<_> = std::fs::read_dir(stdlib.join(package))
                .expect("a package of the standard library")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "py"))
                .collect();
            paths.sort();
            for path in paths {
                let source = std::fs::read_to_string(&path).expect("a module");
                texts.extend(source.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
                // As the index sees a chunk: its words, and spaces.
                let (prose, whole) = pyatlas_store::code_words(&source);
                texts.push(prose + " " + &whole);
                texts.push(source);
            }
        }
        // Words the tokenizer transliterates, some into several words.
        let words =
            "北京 café 🍕🍕 naïve résumé ﬁle Straße Ǆemal ½ x\u{2028}z \u{a0}y a \u{ad}b c \u{200d}d e \u{301}f";
        texts.push(words.into());
        texts.push(format!("{words}\ttab\nline\u{85}next"));
        texts.push(String::new());
        texts
    }

    #[test]
    fn postings_score_as_the_bm25_crates_scorer() {
        let texts = corpus();
        let lexical = Lexical::new(&texts, String::clone);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let fitted: Bm25 = EmbedderBuilder::with_fit_to_corpus(Language::English, &refs).build();
        assert_eq!(lexical.embedder.avgdl().to_bits(), fitted.avgdl().to_bits(), "the crate's fit");
        let mut scorer = Scorer::<u32>::new();
        for (text, i) in texts.iter().zip(0u32..) {
            scorer.upsert(&i, lexical.embedder.embed(text));
        }
        let queries =
            ["encode json", "parse a header", "decoder decoder", "self", "return None", "no such words", "", "_"];
        let mut compared = 0;
        for query in queries {
            let mut expected: Vec<(u32, f32)> =
                scorer.matches(&lexical.embedder.embed(query)).into_iter().map(|d| (d.id, d.score)).collect();
            expected.sort_by_key(|&(id, _)| id);
            let mut got = lexical.scores(query);
            got.sort_by_key(|&(id, _)| id);
            assert_eq!(got.len(), expected.len(), "{query:?}");
            for (a, b) in got.iter().zip(&expected) {
                assert_eq!(a.0, b.0, "{query:?}");
                assert_eq!(a.1.to_bits(), b.1.to_bits(), "{query:?}: document {} scores the same", a.0);
            }
            compared += got.len();
        }
        assert!(compared > 1_000, "common words matched many documents: {compared}");
    }

    #[test]
    fn names_add_their_weight_times_the_words_rarity() {
        let texts = corpus();
        // Every 7th document is named `decoder`; one other is named `zebra`, a word no text holds.
        let names: Vec<String> = (0..texts.len())
            .map(|i| match i {
                _ if i % 7 == 0 => "Decoder decode".to_owned(),
                5 => "zebra".to_owned(),
                _ => String::new(),
            })
            .collect();
        let plain = Lexical::new(&texts, String::clone);
        let indices: Vec<usize> = (0..texts.len()).collect();
        let named = Lexical::new(&texts, String::clone).named(&indices, |&i| names[i].clone(), 1.5);
        let as_map = |scores: Vec<(u32, f32)>| scores.into_iter().collect::<HashMap<u32, f32>>();
        let before = as_map(plain.scores("decoder"));
        let after = as_map(named.scores("decoder"));
        let token = plain.embedder.embed("decoder").iter().next().map(|t| t.index).expect("a token");
        let idf = plain.idf(plain.postings.get(&token).map_or(0, Vec::len));
        assert!(before.len() > 3, "the word is common in the corpus: {}", before.len());
        for (i, name) in names.iter().enumerate() {
            let (i, bonus) = (i as u32, if name.starts_with("Decoder") { idf * 1.5 } else { 0.0 });
            let expected = before.get(&i).copied().map_or(bonus, |score| score + bonus);
            assert_eq!(after.get(&i).copied().unwrap_or(0.0).to_bits(), expected.to_bits(), "document {i}");
        }
        // A word only a name holds still finds its document.
        assert_eq!(plain.scores("zebra"), []);
        let zebra = named.scores("zebra");
        assert_eq!(zebra.len(), 1);
        assert_eq!(zebra[0].0, 5);
        assert!(zebra[0].1 > 0.0);
        // Weight 0 names nothing more: the plain ranking.
        let zero = Lexical::new(&texts, String::clone).named(&indices, |&i| names[i].clone(), 0.0);
        let mut a = zero.scores("decoder encode");
        let mut b = plain.scores("decoder encode");
        a.sort_by_key(|&(d, _)| d);
        b.sort_by_key(|&(d, _)| d);
        assert!(a == b, "weight 0 ranks as no names");
    }

    #[test]
    fn a_cached_build_is_the_build() {
        let chunk = |text: &str| ChunkRow {
            id: pyatlas_chunker::ChunkId::of(text),
            path: "p.py".into(),
            qualnames: Vec::new(),
            kind: pyatlas_chunker::ChunkKind::Module,
            start_line: 1,
            end_line: 1,
            token_count: 1,
            text: text.to_owned(),
            domains: Vec::new(),
            metadata: serde_json::Value::Null,
        };
        let texts = corpus();
        let chunks: Vec<ChunkRow> = texts.iter().map(|t| chunk(t)).collect();
        let postings = |lexical: &Lexical| {
            let mut all: Vec<(u32, Vec<(u32, u32)>)> = lexical
                .postings
                .iter()
                .map(|(&token, list)| (token, list.iter().map(|&(d, w)| (d, w.to_bits())).collect()))
                .collect();
            all.sort_unstable();
            (all, lexical.embedder.avgdl().to_bits(), lexical.documents)
        };
        let fresh = postings(&Lexical::new(&chunks, |c| c.text.clone()));
        // Half the chunks seen before (with the texts of others in between).
        let mut cache = TokenCache::default();
        let half = Lexical::cached(&chunks[chunks.len() / 2..], |c| c.text.clone(), &mut cache);
        assert_eq!(
            cache.0.len(),
            chunks[chunks.len() / 2..].iter().map(|c| c.id.as_str()).collect::<std::collections::HashSet<_>>().len()
        );
        assert!(half.documents < chunks.len());
        let cached = Lexical::cached(&chunks, |c| c.text.clone(), &mut cache);
        assert_eq!(postings(&cached), fresh, "the same postings, weights and average");
        assert_eq!(postings(&Lexical::cached(&chunks, |c| c.text.clone(), &mut cache)), fresh, "all cached");
    }

    #[test]
    fn columns_score_as_a_dot_product_over_rows() {
        // A fixed pseudo-random sequence in [-0.5, 0.5) (xorshift).
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 - 0.5
        };
        let (rows, dimensions) = (300, 48);
        let vectors: Vec<Vec<f32>> =
            (0..rows).map(|r| (0..dimensions).map(|_| if r % 7 == 0 { 0.0 } else { next() }).collect()).collect();
        let mut columns = Columns::zeros(rows, dimensions);
        for (row, vector) in vectors.iter().enumerate() {
            columns.set(row, vector);
        }
        let sparse: Vec<f32> = (0..dimensions).map(|d| if d % 5 == 1 { next() } else { 0.0 }).collect();
        let dense: Vec<f32> = (0..dimensions).map(|_| next()).collect();
        for probe in [sparse, dense, vec![0.0; dimensions]] {
            let scores = columns.scores(&probe);
            assert_eq!(scores.len(), rows);
            for (vector, score) in vectors.iter().zip(scores) {
                let dot = vector.iter().zip(&probe).fold(0.0f32, |sum, (v, q)| sum + v * q);
                assert_eq!(score.to_bits(), dot.to_bits());
            }
        }
        assert!(Columns::zeros(0, 4).scores(&[1.0; 4]).is_empty());
    }

    #[test]
    fn descending_orders_as_total_cmp_reversed() {
        let scores = [1.0, -1.0, 0.0, -0.0, 0.5, f32::MIN_POSITIVE, -f32::MIN_POSITIVE, f32::MAX, f32::MIN, 1e-30];
        for a in scores {
            for b in scores {
                assert_eq!(descending(a).cmp(&descending(b)), b.total_cmp(&a), "{a} {b}");
            }
        }
    }

    #[test]
    fn names_find_every_dotted_tail() {
        let chunk = |qualnames: &[&str]| ChunkRow {
            id: pyatlas_chunker::ChunkId::of("x"),
            path: "p.py".into(),
            qualnames: qualnames.iter().map(|&q| q.to_owned()).collect(),
            kind: pyatlas_chunker::ChunkKind::Method,
            start_line: 1,
            end_line: 1,
            token_count: 1,
            text: String::new(),
            domains: Vec::new(),
            metadata: serde_json::Value::Null,
        };
        let chunks = [chunk(&["A.run", "B.run"]), chunk(&["run"]), chunk(&["A.B.run_all"]), chunk(&[])];
        let names = Names::new(&chunks);
        for name in ["run", "A.run", "B.run", "A.B.run_all", "B.run_all", "run_all", "B", "un", "A.B", ""] {
            let scan: Vec<u32> = (0u32..)
                .zip(&chunks)
                .filter(|(_, c)| c.qualnames.iter().any(|q| q == name || q.ends_with(&format!(".{name}"))))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(names.holding(name), scan.as_slice(), "{name:?}");
        }
    }
}
