//! What embedding cost: requests, tokens, retries, waiting, money.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of one [`embed_each`](crate::Embedder::embed_each) call, or of
/// an embedder's lifetime ([`OpenAiEmbedder::metrics`](crate::OpenAiEmbedder::metrics)).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Metrics {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests sent again after a retryable failure.
    pub retries: u64,
    /// Requests answered 429 for a rate limit (not for an exhausted quota).
    pub rate_limited: u64,
    /// Requests answered with a 5xx status.
    pub server_errors: u64,
    /// Requests that timed out, lost their connection or got an invalid
    /// response.
    pub transport_errors: u64,
    /// Batches split in halves because they were too large for the
    /// provider's tokens-per-minute limit by its count.
    pub split_batches: u64,
    /// Tokens embedded, as the provider reported them (or as counted, where
    /// it did not).
    pub tokens: u64,
    /// Inputs that got a vector.
    pub inputs_embedded: u64,
    /// Inputs that did not.
    pub inputs_failed: u64,
    /// Inputs answered from a cache.
    pub cache_hits: u64,
    /// Time batches spent waiting for the rate limiter, for a pause the
    /// provider asked for, or for headroom its `x-ratelimit-*` headers showed
    /// missing (summed over batches).
    pub limiter_wait: Duration,
    /// `tokens` at the model's price, in US dollars (0 when the price is unknown).
    pub estimated_cost_usd: f64,
}

/// Where a call stands, as given to a progress hook after every batch.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Inputs in the call.
    pub total: usize,
    /// Inputs finished, with a vector or a failure.
    pub done: usize,
    /// The call's metrics so far.
    pub metrics: Metrics,
}

/// Live counters behind [`Metrics`], shared by the tasks of a call.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) transport_errors: AtomicU64,
    pub(crate) split_batches: AtomicU64,
    pub(crate) tokens: AtomicU64,
    pub(crate) inputs_embedded: AtomicU64,
    pub(crate) inputs_failed: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) limiter_wait_nanos: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_wait(&self, wait: Duration) {
        let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        self.limiter_wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// A snapshot, costed at `price_per_million_tokens`.
    pub(crate) fn snapshot(&self, price_per_million_tokens: f64) -> Metrics {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let tokens = load(&self.tokens);
        Metrics {
            requests: load(&self.requests),
            retries: load(&self.retries),
            rate_limited: load(&self.rate_limited),
            server_errors: load(&self.server_errors),
            transport_errors: load(&self.transport_errors),
            split_batches: load(&self.split_batches),
            tokens,
            inputs_embedded: load(&self.inputs_embedded),
            inputs_failed: load(&self.inputs_failed),
            cache_hits: load(&self.cache_hits),
            limiter_wait: Duration::from_nanos(load(&self.limiter_wait_nanos)),
            estimated_cost_usd: tokens as f64 * price_per_million_tokens / 1e6,
        }
    }
}
