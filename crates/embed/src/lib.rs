//! Texts in, vectors out: embeddings for pyatlas chunks.
//!
//! - [`Embedder`] is the seam: an async, batch-oriented trait, `Send + Sync`
//!   and usable as a trait object. Every input ends with exactly one vector
//!   or one typed [`InputFailure`]; finished batches reach the caller as
//!   they complete, so a later failure loses nothing already paid for.
//! - [`OpenAiEmbedder`] talks to any OpenAI-compatible `/embeddings` endpoint
//!   (OpenAI, Azure, vLLM, Ollama, TEI, LiteLLM): batches by count and by
//!   tokens, paces requests and tokens per minute with `governor` through a
//!   single FIFO dispatcher, slows down on the provider's
//!   `x-ratelimit-*` headers, retries what can be retried and reports what
//!   cannot, and keeps [`Metrics`].
//! - [`HashEmbedder`] is the offline default: deterministic *lexical*
//!   vectors (identifier parts, feature hashing), no network, no model files.
//! - [`EmbeddingCache`] keys vectors by (model, dimensions, text hash) so that
//!   unchanged chunks are never embedded twice; [`CachedEmbedder`] puts a
//!   cache in front of any embedder. [`InMemoryCache`] is here; the store
//!   crate has a PostgreSQL one.
//!
//! This crate knows nothing of Python: it embeds strings.
//!
//! # Example
//!
//! ```
//! use pyatlas_embed::{Embedder, HashEmbedder};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pyatlas_embed::EmbedError> {
//! let embedder = HashEmbedder::default();
//! let vectors = embedder.embed(&["def get_user(user_id): ...", "class UserRepository: ..."]).await?;
//! assert_eq!(vectors.len(), 2);
//! assert_eq!(vectors[0].len(), embedder.dimensions());
//! # Ok(())
//! # }
//! ```
//!
//! With a provider, limits and a callback that receives batches as they
//! finish:
//!
//! ```no_run
//! use pyatlas_embed::{Embedder, OpenAiConfig, OpenAiEmbedder};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), pyatlas_embed::EmbedError> {
//! let config = OpenAiConfig::from_env("text-embedding-3-small")
//!     .requests_per_minute(3_000)
//!     .tokens_per_minute(1_000_000);
//! let embedder = OpenAiEmbedder::new(config)?;
//! let texts = ["def f(): ...", "class C: ..."];
//! let report = embedder
//!     .embed_each(&texts, &mut |batch| {
//!         for item in batch {
//!             println!("{} -> {} dims", item.index, item.vector.len());
//!         }
//!     })
//!     .await;
//! for failure in &report.failures {
//!     eprintln!("input {}: {}", failure.index, failure.error);
//! }
//! println!("{:?}", report.metrics);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `rustls` (default): TLS for `https://` endpoints. `native-tls` is the
//!   alternative; plain `http://` servers need neither.
//! - `mock`: `mock::MockServer`, an OpenAI-compatible server on loopback
//!   with scripted faults and enforced rate limits, for tests and benchmarks.

mod cache;
mod error;
mod hash;
mod metrics;
#[cfg(feature = "mock")]
pub mod mock;
mod openai;
#[cfg(feature = "pocket")]
mod pocket;
mod spec;
mod status;
mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use cache::{CacheError, CachedEmbedder, EmbeddingCache, InMemoryCache, TextHash};
pub use error::EmbedError;
pub use hash::{HashEmbedder, identifier_parts};
pub use metrics::{Metrics, Progress};
pub use openai::{
    ApiKey, EncodingFormat, OpenAiConfig, OpenAiEmbedder, ProgressHook, ProviderCount, RetryPolicy, TooLongPolicy,
};
#[cfg(feature = "pocket")]
pub use pocket::PocketEmbedder;
pub use spec::{EmbedderKind, EmbedderSpec};
pub use status::{EmbedStatus, Wait};
pub use tokens::Tokenizer;

/// A boxed future, as the [`Embedder`] trait returns to stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The callback that receives embedded inputs as their batch completes.
pub type OnBatch<'a> = dyn FnMut(Vec<Embedded>) + Send + 'a;

/// Turns texts into vectors.
///
/// Implementors provide [`embed_each`](Self::embed_each); [`embed`](Self::embed)
/// is built on it.
pub trait Embedder: Send + Sync {
    /// Identifies the model and its version, for cache keys: two embedders
    /// with the same id and dimensions give the same vector for a text.
    fn model_id(&self) -> &str;

    /// The length of every vector.
    fn dimensions(&self) -> usize;

    /// The longest input, in the model's tokens, that it embeds whole.
    fn max_input_tokens(&self) -> usize;

    /// What this embedder is, as data (kind, model, dimensions, options),
    /// to record with the vectors it makes. The default says
    /// [`EmbedderKind::Other`] with [`model_id`](Self::model_id).
    fn spec(&self) -> EmbedderSpec {
        EmbedderSpec::other(self.model_id(), self.dimensions())
    }

    /// What it is doing right now (metrics, what it waits for, how long
    /// since it last moved on), for progress lines and stall watchdogs.
    /// None (the default) for embedders with nothing to wait for.
    fn status(&self) -> Option<EmbedStatus> {
        None
    }

    /// Embeds `texts`, handing each finished batch to `on_batch` as it
    /// completes (in completion order; [`Embedded::index`] says which input
    /// each vector belongs to). Never fails as a whole: the report lists a
    /// typed failure for every input that did not get a vector.
    fn embed_each<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>) -> BoxFuture<'a, EmbedReport>;

    /// Embeds `texts` and returns their vectors in input order, or the
    /// first input's failure.
    fn embed<'a>(&'a self, texts: &'a [&'a str]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
            let report = self
                .embed_each(texts, &mut |batch| {
                    for item in batch {
                        if let Some(slot) = slots.get_mut(item.index) {
                            *slot = Some(item.vector);
                        }
                    }
                })
                .await;
            if let Some(first) = report.failures.into_iter().min_by_key(|f| f.index) {
                return Err(EmbedError::Input { index: first.index, source: first.error });
            }
            slots.into_iter().enumerate().map(|(index, slot)| slot.ok_or(EmbedError::Missing { index })).collect()
        })
    }
}

macro_rules! forward_embedder {
    ($($pointer:ident),*) => {$(
        /// Forwards to the embedder pointed to.
        impl<E: Embedder + ?Sized> Embedder for $pointer<E> {
            fn model_id(&self) -> &str {
                (**self).model_id()
            }

            fn dimensions(&self) -> usize {
                (**self).dimensions()
            }

            fn max_input_tokens(&self) -> usize {
                (**self).max_input_tokens()
            }

            fn spec(&self) -> EmbedderSpec {
                (**self).spec()
            }

            fn status(&self) -> Option<EmbedStatus> {
                (**self).status()
            }

            fn embed_each<'a>(
                &'a self,
                texts: &'a [&'a str],
                on_batch: &'a mut OnBatch<'a>,
            ) -> BoxFuture<'a, EmbedReport> {
                (**self).embed_each(texts, on_batch)
            }
        }
    )*};
}

forward_embedder!(Box, Arc);

/// One input's vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedded {
    /// Position of the input in the slice passed to the embedder.
    pub index: usize,
    /// Its embedding, [`Embedder::dimensions`] long.
    pub vector: Vec<f32>,
}

/// One input that did not get a vector, and why.
#[derive(Clone, Debug)]
pub struct InputFailure {
    /// Position of the input.
    pub index: usize,
    /// Why; shared by the inputs of a batch that failed together.
    pub error: Arc<EmbedError>,
}

/// An input cut to the model's limit, as the [`TooLongPolicy::Truncate`]
/// policy allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Truncation {
    /// Position of the input.
    pub index: usize,
    /// Its length in tokens.
    pub tokens: usize,
    /// How many tokens were embedded.
    pub kept: usize,
}

/// The outcome of one [`Embedder::embed_each`] call.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EmbedReport {
    /// How many inputs got a vector (all delivered through the callback).
    pub embedded: usize,
    /// The inputs that did not, in input order.
    pub failures: Vec<InputFailure>,
    /// The inputs embedded only in part, in input order.
    pub truncated: Vec<Truncation>,
    /// Problems that did not cost an input, such as a cache that could not
    /// be read (the inputs were embedded instead).
    pub warnings: Vec<String>,
    /// What this call cost.
    pub metrics: Metrics,
}

impl EmbedReport {
    /// Whether every input got a vector.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}
