//! [`OpenAiConfig`] and its parts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Progress, Tokenizer};

/// OpenAI's endpoint, the default base URL.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// An API key. It never appears in `Debug` output, logs or errors: only
/// the request header carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, to put in a header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How vectors travel over the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodingFormat {
    /// Little-endian `f32`s in base64: a quarter of the size of JSON
    /// numbers, and exact. The default.
    #[default]
    Base64,
    /// JSON numbers, for servers that do not support base64.
    Float,
}

/// What to do with an input longer than the model accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TooLongPolicy {
    /// Fail that input with [`EmbedError::InputTooLong`](crate::EmbedError::InputTooLong). The default.
    #[default]
    Reject,
    /// Embed its first `max_input_tokens` tokens, and list it in
    /// [`EmbedReport::truncated`](crate::EmbedReport::truncated).
    Truncate,
}

/// When and how long to retry.
///
/// Rate-limit answers (429) are retried after the wait the provider asks
/// for (`retry-after-ms`, `Retry-After`, or "try again in 2.812s" in the
/// message); server errors (5xx, 408), timeouts, dropped connections and
/// broken responses after an exponential backoff with full jitter: a random
/// wait between zero and `min(max_delay, base_delay * 2^(attempt - 1))`.
///
/// A batch is given up after `max_attempts` failed requests, or after
/// `max_rate_limited` refusals for rate limits, whichever comes first: a
/// 429 is the provider pacing its clients, not failing, so it gets its own,
/// larger allowance. The overall deadline bounds both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) max_rate_limited: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 failed requests or 32 rate-limit refusals, backoff from 500 ms up to 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 8,
            max_rate_limited: 32,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Failed requests per batch (server errors, timeouts, dropped
    /// connections, broken answers) before it is given up (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Rate-limit refusals (429) per batch before it is given up (at least 1).
    pub fn max_rate_limited(mut self, refusals: u32) -> Self {
        self.max_rate_limited = refusals.max(1);
        self
    }

    /// The backoff's first ceiling.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The backoff's largest ceiling.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The ceiling of the backoff before attempt `attempt + 1`.
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// A progress hook, called after every batch.
pub type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Everything [`OpenAiEmbedder`](crate::OpenAiEmbedder) needs, with
/// defaults for all but the model.
#[derive(Clone)]
pub struct OpenAiConfig {
    pub(crate) base_url: String,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) auth_header: Option<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) model: String,
    pub(crate) dimensions: Option<usize>,
    pub(crate) expected_dimensions: Option<usize>,
    pub(crate) encoding_format: EncodingFormat,
    pub(crate) max_batch_inputs: usize,
    pub(crate) max_batch_tokens: usize,
    pub(crate) max_batch_share: f64,
    pub(crate) max_input_tokens: Option<usize>,
    pub(crate) too_long: TooLongPolicy,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) requests_per_minute: Option<u32>,
    pub(crate) tokens_per_minute: Option<u32>,
    pub(crate) concurrency: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) request_timeout: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) adaptive: bool,
    pub(crate) price_per_million_tokens: Option<f64>,
    pub(crate) progress: Option<ProgressHook>,
}

impl OpenAiConfig {
    /// A configuration for `model` at OpenAI, with no key: set one with
    /// [`api_key`](Self::api_key), or use [`from_env`](Self::from_env).
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            auth_header: None,
            query: Vec::new(),
            model: model.into(),
            dimensions: None,
            expected_dimensions: None,
            encoding_format: EncodingFormat::default(),
            max_batch_inputs: 2048,
            max_batch_tokens: 300_000,
            max_batch_share: 0.25,
            max_input_tokens: None,
            too_long: TooLongPolicy::default(),
            tokenizer: Tokenizer::default(),
            requests_per_minute: None,
            tokens_per_minute: None,
            concurrency: 8,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            deadline: None,
            adaptive: true,
            price_per_million_tokens: None,
            progress: None,
        }
    }

    /// A configuration for `model` with the key from `OPENAI_API_KEY` and,
    /// when set, the base URL from `OPENAI_BASE_URL`.
    pub fn from_env(model: impl Into<String>) -> Self {
        let mut config = Self::new(model);
        if let Some(key) = std::env::var("OPENAI_API_KEY").ok().filter(|k| !k.trim().is_empty()) {
            config.api_key = Some(ApiKey::new(key.trim()));
        }
        if let Some(url) = std::env::var("OPENAI_BASE_URL").ok().filter(|u| !u.trim().is_empty()) {
            config.base_url = url.trim().to_owned();
        }
        config
    }

    /// The API's base URL, up to `/embeddings` (default
    /// `https://api.openai.com/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The API key, sent as `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// Sends the key in this header instead, as it is (Azure OpenAI: `api-key`).
    pub fn auth_header(mut self, name: impl Into<String>) -> Self {
        self.auth_header = Some(name.into());
        self
    }

    /// Adds a query parameter to every request (Azure OpenAI: `api-version`).
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Asks the model for vectors of `dimensions` values (the `dimensions`
    /// parameter of `text-embedding-3-*`), and expects them.
    pub fn dimensions(mut self, dimensions: usize) -> Self {
        self.dimensions = Some(dimensions);
        self
    }

    /// Expects vectors of `dimensions` values without asking for them: for
    /// models this crate does not know, on servers that do not take the
    /// `dimensions` parameter.
    pub fn expect_dimensions(mut self, dimensions: usize) -> Self {
        self.expected_dimensions = Some(dimensions);
        self
    }

    /// How vectors travel (default base64).
    pub fn encoding_format(mut self, format: EncodingFormat) -> Self {
        self.encoding_format = format;
        self
    }

    /// Inputs per request at most (default 2,048, OpenAI's limit).
    pub fn max_batch_inputs(mut self, inputs: usize) -> Self {
        self.max_batch_inputs = inputs;
        self
    }

    /// Tokens per request at most (default 300,000, OpenAI's limit).
    pub fn max_batch_tokens(mut self, tokens: usize) -> Self {
        self.max_batch_tokens = tokens;
        self
    }

    /// The largest share of the tokens-per-minute limit one request may
    /// take, by the provider's count (default 0.25, in `(0, 1]`): a request
    /// never needs a whole minute's budget, so a count that is off cannot
    /// make one larger than the limit, and the budget refills while the
    /// others are in flight. Applies to the configured limit and to the one
    /// the provider reports (`x-ratelimit-limit-tokens`).
    pub fn max_batch_share(mut self, share: f64) -> Self {
        self.max_batch_share = share;
        self
    }

    /// The model's input limit in tokens (known for OpenAI's models: 8,192;
    /// 8,192 by default for others).
    pub fn max_input_tokens(mut self, tokens: usize) -> Self {
        self.max_input_tokens = Some(tokens);
        self
    }

    /// What to do with longer inputs (default: reject them).
    pub fn too_long(mut self, policy: TooLongPolicy) -> Self {
        self.too_long = policy;
        self
    }

    /// The encoding that counts tokens (default `cl100k_base`).
    pub fn tokenizer(mut self, tokenizer: Tokenizer) -> Self {
        self.tokenizer = tokenizer;
        self
    }

    /// The provider's limit on requests per minute (RPM), paced client-side.
    pub fn requests_per_minute(mut self, limit: u32) -> Self {
        self.requests_per_minute = Some(limit);
        self
    }

    /// The provider's limit on tokens per minute (TPM), paced client-side.
    pub fn tokens_per_minute(mut self, limit: u32) -> Self {
        self.tokens_per_minute = Some(limit);
        self
    }

    /// Requests in flight at most (default 8).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long one request may take (default 60 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long one [`embed_each`](crate::Embedder::embed_each) call may take
    /// in all; inputs not embedded by then fail with
    /// [`EmbedError::DeadlineExceeded`](crate::EmbedError::DeadlineExceeded).
    /// None by default.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Whether to slow down on the provider's `x-ratelimit-remaining-*` and
    /// `x-ratelimit-reset-*` headers before it refuses (default true).
    pub fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// The price per million input tokens in US dollars, for
    /// [`Metrics::estimated_cost_usd`](crate::Metrics::estimated_cost_usd)
    /// (known for OpenAI's models).
    pub fn price_per_million_tokens(mut self, dollars: f64) -> Self {
        self.price_per_million_tokens = Some(dollars);
        self
    }

    /// Calls `hook` after every batch with the call's progress.
    pub fn on_progress(mut self, hook: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(hook));
        self
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("auth_header", &self.auth_header)
            .field("query", &self.query)
            .field("model", &self.model)
            .field("dimensions", &self.dimensions)
            .field("expected_dimensions", &self.expected_dimensions)
            .field("encoding_format", &self.encoding_format)
            .field("max_batch_inputs", &self.max_batch_inputs)
            .field("max_batch_tokens", &self.max_batch_tokens)
            .field("max_batch_share", &self.max_batch_share)
            .field("max_input_tokens", &self.max_input_tokens)
            .field("too_long", &self.too_long)
            .field("tokenizer", &self.tokenizer)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("tokens_per_minute", &self.tokens_per_minute)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("deadline", &self.deadline)
            .field("adaptive", &self.adaptive)
            .field("price_per_million_tokens", &self.price_per_million_tokens)
            .field("progress", &self.progress.as_ref().map(|_| "<hook>"))
            .finish()
    }
}

/// What this crate knows of a model: native dimensions, input limit in
/// tokens, price per million tokens in US dollars.
pub(crate) struct KnownModel {
    pub(crate) dimensions: usize,
    pub(crate) max_input_tokens: usize,
    pub(crate) price_per_million_tokens: f64,
}

pub(crate) fn known_model(name: &str) -> Option<KnownModel> {
    let (dimensions, price_per_million_tokens) = match name {
        "text-embedding-3-small" => (1536, 0.02),
        "text-embedding-3-large" => (3072, 0.13),
        "text-embedding-ada-002" => (1536, 0.10),
        _ => return None,
    };
    Some(KnownModel { dimensions, max_input_tokens: 8192, price_per_million_tokens })
}
