//! The crate's error type.

use std::time::Duration;

/// What went wrong while embedding, and where.
///
/// Errors about one input name its `index` in the slice the caller passed.
/// Errors from the provider carry the URL (never the API key: it is sent in
/// a header, and any echo of it in a provider message is redacted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The configuration cannot work (a missing API key, an unknown model
    /// without dimensions, a zero limit, ...).
    #[error("invalid embedder configuration: {reason}")]
    Config {
        /// Why.
        reason: String,
    },

    /// An input is longer than the model accepts, and the policy is to reject.
    #[error("input {index} has {tokens} tokens, over the model's limit of {limit}")]
    InputTooLong {
        /// Position of the input.
        index: usize,
        /// Its length in tokens.
        tokens: usize,
        /// The model's limit.
        limit: usize,
    },

    /// An empty input, which OpenAI-compatible APIs refuse.
    #[error("input {index} is empty")]
    EmptyInput {
        /// Position of the input.
        index: usize,
    },

    /// An input needs more tokens than the tokens-per-minute limit allows in
    /// one request, so it can never be sent.
    #[error("input {index} has {tokens} tokens, more than the limit of {tokens_per_minute} tokens per minute")]
    OverRateLimit {
        /// Position of the input.
        index: usize,
        /// Its length in the provider's tokens, as estimated from its
        /// answers so far (tiktoken's count before any).
        tokens: u64,
        /// The limit, configured or reported by the provider.
        tokens_per_minute: u64,
    },

    /// The provider refused an input sent alone as larger than its
    /// tokens-per-minute limit ("Request too large"): no request can carry
    /// it. The other inputs of its batch were sent without it.
    #[error("input {index} ({tokens} tokens counted here) is too large for the provider's limit: {reason}")]
    TooLargeForProvider {
        /// Position of the input.
        index: usize,
        /// Its length in tokens, as counted here.
        tokens: usize,
        /// The provider's answer.
        reason: String,
    },

    /// The provider refused the request for good: bad request, bad key,
    /// no access, unknown model or endpoint, or no quota left. Not retried.
    #[error("{url} answered HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The provider's error code (`invalid_api_key`, `insufficient_quota`, ...).
        code: Option<String>,
        /// The provider's message.
        message: String,
    },

    /// The request could not be completed: connection refused or reset,
    /// timeout, unreadable body.
    #[error("request to {url} failed: {reason}")]
    Transport {
        /// The endpoint.
        url: String,
        /// What happened.
        reason: String,
    },

    /// The provider answered something that is not a valid embeddings
    /// response for the request: malformed JSON, missing or duplicate
    /// indices, wrong dimensions, non-finite values.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The endpoint.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A retryable failure (rate limit, server error, timeout) persisted for
    /// the maximum number of attempts.
    #[error("gave up after {attempts} attempts")]
    RetriesExhausted {
        /// How many requests were made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<EmbedError>,
    },

    /// An input failed; returned by [`Embedder::embed`](crate::Embedder::embed),
    /// which fails on the first one.
    #[error("input {index} was not embedded")]
    Input {
        /// Position of the input.
        index: usize,
        /// Why.
        #[source]
        source: std::sync::Arc<EmbedError>,
    },

    /// An [`Embedder`](crate::Embedder) gave neither a vector nor a failure
    /// for an input: a bug in that embedder.
    #[error("the embedder returned neither a vector nor a failure for input {index}")]
    Missing {
        /// Position of the input.
        index: usize,
    },

    /// The overall deadline passed before the input could be embedded.
    #[error("deadline of {deadline:?} passed")]
    DeadlineExceeded {
        /// The configured deadline.
        deadline: Duration,
    },
}

impl EmbedError {
    /// The input this error is about, for errors about one input.
    pub fn input_index(&self) -> Option<usize> {
        match self {
            Self::InputTooLong { index, .. }
            | Self::EmptyInput { index }
            | Self::OverRateLimit { index, .. }
            | Self::TooLargeForProvider { index, .. } => Some(*index),
            _ => None,
        }
    }
}
