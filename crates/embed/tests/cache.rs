//! `CachedEmbedder`: hits are never embedded again, duplicates once, and a
//! broken cache costs warnings, never inputs.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyatlas_embed::mock::{Fault, MockConfig, MockServer};
use pyatlas_embed::{
    BoxFuture, CacheError, CachedEmbedder, EmbedReport, Embedded, Embedder, EmbeddingCache, HashEmbedder,
    InMemoryCache, OpenAiConfig, OpenAiEmbedder, TextHash,
};

const DIMS: usize = 8;

async fn collect(embedder: &dyn Embedder, texts: &[&str]) -> (Vec<Option<Vec<f32>>>, EmbedReport) {
    let mut vectors = vec![None; texts.len()];
    let report = embedder
        .embed_each(texts, &mut |batch: Vec<Embedded>| {
            for item in batch {
                assert!(vectors[item.index].is_none(), "input {} delivered twice", item.index);
                vectors[item.index] = Some(item.vector);
            }
        })
        .await;
    (vectors, report)
}

async fn openai(server: &MockServer) -> OpenAiEmbedder {
    let config = OpenAiConfig::new("mock-embedding-model").base_url(server.url()).expect_dimensions(DIMS);
    OpenAiEmbedder::new(config).expect("config")
}

#[tokio::test(start_paused = true)]
async fn unchanged_texts_are_embedded_once() {
    let server = MockServer::start(MockConfig::default().dimensions(DIMS)).await.expect("server");
    let embedder = CachedEmbedder::new(openai(&server).await, InMemoryCache::new());
    let texts = ["def a(): ...", "def b(): ...", "def a(): ...", "class C: ...", "def b(): ..."];

    let (first, report) = collect(&embedder, &texts).await;
    assert!(report.is_complete());
    assert_eq!((report.embedded, report.metrics.cache_hits), (5, 0));
    // Duplicates travel once.
    let records = server.records();
    assert_eq!(records.iter().map(|r| r.inputs).sum::<usize>(), 3);
    assert_eq!(embedder.cache().len(), 3);
    for (text, vector) in texts.iter().zip(&first) {
        assert_eq!(vector.as_deref(), Some(&MockServer::vector_for(text, DIMS)[..]));
    }

    // A second run with one new text: only that one is sent.
    let again = ["def a(): ...", "def b(): ...", "def d(): ...", "class C: ..."];
    let (second, report) = collect(&embedder, &again).await;
    assert!(report.is_complete());
    assert_eq!((report.embedded, report.metrics.cache_hits), (4, 3));
    let records = server.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].texts, ["def d(): ..."]);
    assert_eq!(second[0], first[0]);

    // Everything cached: no request at all.
    let (_, report) = collect(&embedder, &again).await;
    assert_eq!((report.embedded, report.metrics.cache_hits, report.metrics.requests), (4, 4, 0));
    assert_eq!(server.records().len(), 2);
}

/// A cache that counts what it hands over.
#[derive(Default)]
struct Counting {
    inner: InMemoryCache,
    fetched: AtomicUsize,
}

impl EmbeddingCache for Counting {
    fn get_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>> {
        Box::pin(async move {
            let found = self.inner.get_many(model_id, dimensions, texts).await?;
            self.fetched.fetch_add(found.iter().flatten().count(), Ordering::SeqCst);
            Ok(found)
        })
    }

    fn put_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        entries: &'a [(TextHash, &'a [f32])],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        self.inner.put_many(model_id, dimensions, entries)
    }

    fn holds_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<bool>, CacheError>> {
        self.inner.holds_many(model_id, dimensions, texts)
    }
}

#[tokio::test(start_paused = true)]
async fn filling_embeds_what_is_missing_and_fetches_nothing() {
    let server = MockServer::start(MockConfig::default().dimensions(DIMS)).await.expect("server");
    let embedder = CachedEmbedder::new(openai(&server).await, Counting::default());
    let fill = |texts: &'static [&'static str]| {
        let embedder = &embedder;
        async move {
            let mut heard = Vec::new();
            let report = embedder.fill_each(texts, &mut |batch: Vec<Embedded>| heard.extend(batch)).await;
            (heard, report)
        }
    };
    let (heard, report) = fill(&["def a(): ...", "def b(): ...", "def a(): ..."]).await;
    assert_eq!((heard.len(), report.embedded, report.metrics.cache_hits), (3, 3, 0));
    assert_eq!(server.records().iter().map(|r| r.inputs).sum::<usize>(), 2, "duplicates once");
    // b is held: only c is embedded and heard; nothing is fetched.
    let (heard, report) = fill(&["def b(): ...", "def c(): ..."]).await;
    assert_eq!(heard.iter().map(|e| e.index).collect::<Vec<_>>(), [1]);
    assert_eq!((report.embedded, report.metrics.cache_hits), (2, 1));
    assert_eq!(server.records().last().map(|r| r.texts.clone()), Some(vec!["def c(): ...".to_owned()]));
    assert_eq!(embedder.cache().fetched.load(Ordering::SeqCst), 0, "no vector was fetched");
    // The default `holds_many` (through `get_many`) agrees with the
    // in-memory cache's own.
    let hashes = [TextHash::of("def c(): ..."), TextHash::of("def z(): ...")];
    let model = embedder.model_id().to_owned();
    let held = embedder.cache().inner.holds_many(&model, DIMS, &hashes).await.expect("held");
    assert_eq!(held, [true, false]);
    struct OnlyGet<'c>(&'c InMemoryCache);
    impl EmbeddingCache for OnlyGet<'_> {
        fn get_many<'a>(
            &'a self,
            model_id: &'a str,
            dimensions: usize,
            texts: &'a [TextHash],
        ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>> {
            self.0.get_many(model_id, dimensions, texts)
        }

        fn put_many<'a>(
            &'a self,
            model_id: &'a str,
            dimensions: usize,
            entries: &'a [(TextHash, &'a [f32])],
        ) -> BoxFuture<'a, Result<(), CacheError>> {
            self.0.put_many(model_id, dimensions, entries)
        }
    }
    let by_default = OnlyGet(&embedder.cache().inner).holds_many(&model, DIMS, &hashes).await.expect("held");
    assert_eq!(by_default, held);
    let other_size = OnlyGet(&embedder.cache().inner).holds_many(&model, DIMS + 1, &hashes).await.expect("held");
    assert_eq!(other_size, [false, false]);
}

#[tokio::test(start_paused = true)]
async fn failures_reach_every_duplicate() {
    let server = MockServer::start(MockConfig::default().dimensions(DIMS)).await.expect("server");
    server.script([Fault::Status(400)]);
    let embedder = CachedEmbedder::new(openai(&server).await, InMemoryCache::new());
    let texts = ["x = 1", "y = 2", "x = 1"];
    let (vectors, report) = collect(&embedder, &texts).await;
    assert_eq!(report.failures.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(vectors.iter().all(Option::is_none));
    assert!(embedder.cache().is_empty(), "failures are not cached");
    assert_eq!(report.metrics.inputs_failed, 3);
}

/// The cache key holds the model and the dimensions: another model or size
/// does not see these vectors.
#[tokio::test]
async fn keys_hold_model_and_dimensions() {
    let cache = InMemoryCache::new();
    let hash = TextHash::of("def f(): ...");
    cache.put_many("model-a", 4, &[(hash, &[1.0, 0.0, 0.0, 0.0])]).await.expect("put");
    let found = |model: &'static str, dims: usize| {
        let cache = &cache;
        async move { cache.get_many(model, dims, &[hash]).await.expect("get")[0].clone() }
    };
    assert_eq!(found("model-a", 4).await, Some(vec![1.0, 0.0, 0.0, 0.0]));
    assert_eq!(found("model-b", 4).await, None);
    assert_eq!(found("model-a", 8).await, None);
}

/// A cache that fails every call, and counts them.
#[derive(Default)]
struct BrokenCache {
    calls: AtomicUsize,
}

impl EmbeddingCache for BrokenCache {
    fn get_many<'a>(
        &'a self,
        _: &'a str,
        _: usize,
        _: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Err("connection refused".into()) })
    }

    fn put_many<'a>(
        &'a self,
        _: &'a str,
        _: usize,
        _: &'a [(TextHash, &'a [f32])],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Err("read-only".into()) })
    }
}

#[tokio::test]
async fn a_broken_cache_costs_warnings_not_inputs() {
    let embedder = CachedEmbedder::new(HashEmbedder::new(DIMS).expect("dims"), BrokenCache::default());
    let texts = ["import os", "def main(): ..."];
    let (vectors, report) = collect(&embedder, &texts).await;
    assert!(report.is_complete());
    assert!(vectors.iter().all(Option::is_some));
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("connection refused"));
    assert!(report.warnings[1].contains("read-only"));
    assert_eq!(embedder.cache().calls.load(Ordering::Relaxed), 2);
}

/// A cached vector of the wrong length (a cache shared with another
/// configuration) is a miss, not an answer.
#[tokio::test]
async fn a_cached_vector_of_the_wrong_size_is_a_miss() {
    let inner = HashEmbedder::new(DIMS).expect("dims");
    let cache = InMemoryCache::new();
    let text = "def handler(request): ...";
    cache.put_many(inner.model_id(), DIMS, &[(TextHash::of(text), &[0.5; 3])]).await.expect("put");
    let embedder = CachedEmbedder::new(inner, cache);
    let (vectors, report) = collect(&embedder, &[text]).await;
    assert_eq!(report.metrics.cache_hits, 0);
    assert_eq!(vectors[0].as_deref(), Some(&embedder.inner().embed_text(text)[..]));
}

/// Embedders are interchangeable behind `dyn Embedder`.
#[tokio::test]
async fn embedders_are_trait_objects() {
    let embedders: Vec<Box<dyn Embedder>> = vec![
        Box::new(HashEmbedder::default()),
        Box::new(CachedEmbedder::new(HashEmbedder::new(16).expect("dims"), InMemoryCache::new())),
    ];
    for embedder in &embedders {
        let vectors = embedder.embed(&["def f(): ...", "class C: ..."]).await.expect("embedded");
        assert!(vectors.iter().all(|v| v.len() == embedder.dimensions()));
        assert!(embedder.model_id().starts_with("pyatlas-hash-v1"));
    }
}
