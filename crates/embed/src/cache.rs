//! The [`EmbeddingCache`] seam, [`InMemoryCache`] and [`CachedEmbedder`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::join;
use tokio::sync::mpsc;

use crate::metrics::Counters;
use crate::{BoxFuture, EmbedReport, Embedded, Embedder, InputFailure, OnBatch, Truncation};

/// The BLAKE3 hash of a text: the text's part of a cache key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextHash([u8; 32]);

impl TextHash {
    /// The hash of `text`.
    pub fn of(text: &str) -> Self {
        Self(*blake3::hash(text.as_bytes()).as_bytes())
    }

    /// A hash from its bytes (as a cache stored them).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TextHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TextHash({self})")
    }
}

impl fmt::Display for TextHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// A cache's own error, boxed: each implementation has its own.
pub type CacheError = Box<dyn std::error::Error + Send + Sync>;

/// Vectors already paid for, keyed by (model id, dimensions, text hash), so
/// that unchanged texts are never embedded twice.
///
/// Batch-oriented and async, so that a database-backed cache does one round
/// trip per batch. A cache that fails costs no input: [`CachedEmbedder`]
/// embeds instead and reports a warning.
pub trait EmbeddingCache: Send + Sync {
    /// The cached vector of each hash, in order (`None` where there is none).
    fn get_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>>;

    /// Stores vectors.
    fn put_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        entries: &'a [(TextHash, &'a [f32])],
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Whether the cache holds a vector of each hash, in order, without
    /// handing the vectors over. The default asks [`EmbeddingCache::get_many`];
    /// a cache that can tell without them should say so.
    fn holds_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<bool>, CacheError>> {
        Box::pin(async move {
            let found = self.get_many(model_id, dimensions, texts).await?;
            Ok(found.into_iter().map(|v| v.is_some_and(|v| v.len() == dimensions)).collect())
        })
    }
}

type Key = (String, usize, TextHash);

/// An [`EmbeddingCache`] in memory, for one process.
#[derive(Debug, Default)]
pub struct InMemoryCache {
    entries: Mutex<HashMap<Key, Arc<[f32]>>>,
}

impl InMemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many vectors it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `found` of each hash's vector (if held), in order.
    fn each<T>(
        &self,
        model_id: &str,
        dimensions: usize,
        texts: &[TextHash],
        found: impl Fn(Option<&Arc<[f32]>>) -> T,
    ) -> Vec<T> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut key = (model_id.to_owned(), dimensions, TextHash([0; 32]));
        texts
            .iter()
            .map(|hash| {
                key.2 = *hash;
                found(entries.get(&key))
            })
            .collect()
    }
}

impl EmbeddingCache for InMemoryCache {
    fn get_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>> {
        Box::pin(async move { Ok(self.each(model_id, dimensions, texts, |v| v.map(|v| v.to_vec()))) })
    }

    fn holds_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<bool>, CacheError>> {
        Box::pin(async move { Ok(self.each(model_id, dimensions, texts, |v| v.is_some())) })
    }

    fn put_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        entries: &'a [(TextHash, &'a [f32])],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            for (hash, vector) in entries {
                map.insert((model_id.to_owned(), dimensions, *hash), Arc::from(*vector));
            }
            Ok(())
        })
    }
}

/// An [`Embedder`] that answers from a cache where it can and embeds the
/// rest with the inner embedder, once per distinct text, storing what it
/// gets as each batch completes.
#[derive(Debug)]
pub struct CachedEmbedder<E, C> {
    inner: E,
    cache: C,
}

impl<E: Embedder, C: EmbeddingCache> CachedEmbedder<E, C> {
    /// `inner` behind `cache`.
    pub fn new(inner: E, cache: C) -> Self {
        Self { inner, cache }
    }

    /// The inner embedder.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// The cache.
    pub fn cache(&self) -> &C {
        &self.cache
    }
}

impl<E: Embedder, C: EmbeddingCache> Embedder for CachedEmbedder<E, C> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }

    fn max_input_tokens(&self) -> usize {
        self.inner.max_input_tokens()
    }

    fn spec(&self) -> crate::EmbedderSpec {
        self.inner.spec()
    }

    fn status(&self) -> Option<crate::EmbedStatus> {
        self.inner.status()
    }

    fn embed_each<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>) -> BoxFuture<'a, EmbedReport> {
        Box::pin(self.embed_with(texts, on_batch, true))
    }
}

impl<E: Embedder, C: EmbeddingCache> CachedEmbedder<E, C> {
    /// Makes sure the cache holds a vector of each text: embeds and stores
    /// only those it lacks, without fetching the vectors it holds (which
    /// [`Embedder::embed_each`] hands over). The report counts those as
    /// cache hits; `on_batch` hears only the vectors embedded now.
    pub fn fill_each<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>) -> BoxFuture<'a, EmbedReport> {
        Box::pin(self.embed_with(texts, on_batch, false))
    }

    /// `embed_each`, handing over the cached vectors when `fetch`.
    async fn embed_with<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>, fetch: bool) -> EmbedReport {
        {
            let (model_id, dimensions) = (self.inner.model_id(), self.inner.dimensions());
            let hashes: Vec<TextHash> = texts.iter().map(|text| TextHash::of(text)).collect();
            let mut warnings = Vec::new();
            let looked_up = if fetch {
                self.cache.get_many(model_id, dimensions, &hashes).await
            } else {
                // Held vectors as empty ones (no allocation): hits, never handed over.
                self.cache
                    .holds_many(model_id, dimensions, &hashes)
                    .await
                    .map(|held| held.into_iter().map(|held| held.then(Vec::new)).collect())
            };
            let cached = match looked_up {
                Ok(found) if found.len() == texts.len() => found,
                Ok(found) => {
                    warnings.push(format!(
                        "cache returned {} entries for {} keys; embedding them all",
                        found.len(),
                        texts.len()
                    ));
                    vec![None; texts.len()]
                }
                Err(error) => {
                    warnings.push(format!("cache lookup failed, embedding instead: {error}"));
                    vec![None; texts.len()]
                }
            };

            // Hits go out at once; misses are grouped by text so that each
            // distinct text is embedded once.
            let mut hits = Vec::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut group_of: HashMap<TextHash, usize> = HashMap::new();
            for (index, found) in cached.into_iter().enumerate() {
                match found {
                    Some(vector) if vector.len() == dimensions || (!fetch && vector.is_empty()) => {
                        hits.push(Embedded { index, vector });
                    }
                    _ => {
                        let group = *group_of.entry(hashes[index]).or_insert_with(|| {
                            groups.push(Vec::new());
                            groups.len() - 1
                        });
                        groups[group].push(index);
                    }
                }
            }
            let hit_count = hits.len();
            if fetch && !hits.is_empty() {
                on_batch(hits);
            }
            if groups.is_empty() {
                return report_hits_only(texts.len(), hit_count, warnings);
            }

            let miss_texts: Vec<&str> = groups.iter().map(|group| texts[group[0]]).collect();
            let (sender, mut receiver) = mpsc::unbounded_channel::<Vec<Embedded>>();
            let produce = async {
                let mut forward = move |batch: Vec<Embedded>| {
                    // The receiver lives until the producer is done.
                    let _ = sender.send(batch);
                };
                self.inner.embed_each(&miss_texts, &mut forward).await
            };
            let consume = async {
                let mut embedded = hit_count;
                let mut store_warnings = Vec::new();
                while let Some(batch) = receiver.recv().await {
                    let entries: Vec<(TextHash, &[f32])> = batch
                        .iter()
                        .filter_map(|item| Some((hashes[*groups.get(item.index)?.first()?], item.vector.as_slice())))
                        .collect();
                    if let Err(error) = self.cache.put_many(model_id, dimensions, &entries).await {
                        store_warnings.push(format!("cache store failed for {} vectors: {error}", entries.len()));
                    }
                    drop(entries);
                    let mut delivered = Vec::with_capacity(batch.len());
                    for item in batch {
                        let Some(group) = groups.get(item.index) else {
                            store_warnings.push(format!("the inner embedder returned unknown input {}", item.index));
                            continue;
                        };
                        for &index in &group[1..] {
                            delivered.push(Embedded { index, vector: item.vector.clone() });
                        }
                        delivered.push(Embedded { index: group[0], vector: item.vector });
                    }
                    embedded += delivered.len();
                    on_batch(delivered);
                }
                (embedded, store_warnings)
            };
            let (inner_report, (embedded, store_warnings)) = join(produce, consume).await;

            let mut failures: Vec<InputFailure> = inner_report
                .failures
                .iter()
                .flat_map(|failure| {
                    groups
                        .get(failure.index)
                        .into_iter()
                        .flatten()
                        .map(|&index| InputFailure { index, error: Arc::clone(&failure.error) })
                })
                .collect();
            failures.sort_by_key(|failure| failure.index);
            let mut truncated: Vec<Truncation> = inner_report
                .truncated
                .iter()
                .flat_map(|t| groups.get(t.index).into_iter().flatten().map(|&index| Truncation { index, ..*t }))
                .collect();
            truncated.sort_by_key(|t| t.index);
            warnings.extend(inner_report.warnings);
            warnings.extend(store_warnings);

            let mut metrics = inner_report.metrics;
            metrics.cache_hits = hit_count as u64;
            metrics.inputs_embedded = embedded as u64;
            metrics.inputs_failed = failures.len() as u64;
            EmbedReport { embedded, failures, truncated, warnings, metrics }
        }
    }
}

fn report_hits_only(total: usize, hits: usize, warnings: Vec<String>) -> EmbedReport {
    let counters = Counters::default();
    Counters::add(&counters.cache_hits, hits as u64);
    Counters::add(&counters.inputs_embedded, total as u64);
    EmbedReport { embedded: total, warnings, metrics: counters.snapshot(0.0), ..EmbedReport::default() }
}

impl<C: EmbeddingCache + ?Sized> EmbeddingCache for Arc<C> {
    fn get_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>> {
        (**self).get_many(model_id, dimensions, texts)
    }

    fn put_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        entries: &'a [(TextHash, &'a [f32])],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        (**self).put_many(model_id, dimensions, entries)
    }

    fn holds_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<bool>, CacheError>> {
        (**self).holds_many(model_id, dimensions, texts)
    }
}
