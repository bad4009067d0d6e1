//! [`OpenAiEmbedder`]: embeddings through an OpenAI-compatible API.

mod config;
mod count;
mod dispatch;
mod monitor;
mod wire;

use std::num::NonZeroU32;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::join;
use futures_util::stream::FuturesUnordered;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use self::config::{ApiKey, EncodingFormat, OpenAiConfig, ProgressHook, RetryPolicy, TooLongPolicy};
pub use self::count::ProviderCount;
use self::count::{Calibration, Source};
use self::dispatch::Dispatcher;
use self::monitor::Monitor;
use self::wire::BodyError;
use crate::metrics::Counters;
use crate::{
    BoxFuture, EmbedError, EmbedReport, EmbedStatus, Embedded, Embedder, InputFailure, Metrics, OnBatch, Progress,
    Truncation,
};

/// Embeddings from any OpenAI-compatible `/embeddings` endpoint, batched,
/// paced under the provider's limits, retried and checked.
///
/// One embedder paces all its calls together: share it (it is `Sync`)
/// rather than making one per task.
pub struct OpenAiEmbedder {
    config: OpenAiConfig,
    url: reqwest::Url,
    client: reqwest::Client,
    model_id: String,
    dimensions: usize,
    max_input_tokens: usize,
    price: f64,
    in_flight: Semaphore,
    dispatcher: Dispatcher,
    /// The provider's token count, as learned from its answers.
    calibration: Calibration,
    monitor: Monitor,
    /// Over the embedder's lifetime, kept up to date by every call.
    totals: Counters,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("url", &self.url.as_str())
            .field("model_id", &self.model_id)
            .field("dimensions", &self.dimensions)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A batch of inputs that travel in one request.
#[derive(Debug, Default)]
struct Batch<'a> {
    /// Positions of the inputs in the caller's slice.
    indices: Vec<usize>,
    /// The texts sent (prefixes where truncated).
    texts: Vec<&'a str>,
    /// Each input's tokens, as counted here.
    counts: Vec<usize>,
    /// Their sum.
    tokens: usize,
}

impl<'a> Batch<'a> {
    fn push(&mut self, index: usize, text: &'a str, tokens: usize) {
        self.indices.push(index);
        self.texts.push(text);
        self.counts.push(tokens);
        self.tokens += tokens;
    }

    fn len(&self) -> u64 {
        self.indices.len() as u64
    }

    /// The first half and the second.
    fn halves(self) -> (Self, Self) {
        let middle = self.indices.len() / 2;
        let (mut first, mut second) = (Batch::default(), Batch::default());
        for (i, ((index, text), tokens)) in self.indices.into_iter().zip(self.texts).zip(self.counts).enumerate() {
            if i < middle { &mut first } else { &mut second }.push(index, text, tokens);
        }
        (first, second)
    }
}

/// A batch ready to go, and the inputs refused or truncated while forming it.
struct Prepared<'a> {
    batch: Option<Batch<'a>>,
    failures: Vec<InputFailure>,
    truncated: Vec<Truncation>,
}

/// What became of a batch.
struct Outcome {
    embedded: Vec<Embedded>,
    failures: Vec<InputFailure>,
    truncated: Vec<Truncation>,
}

/// What became of one request.
enum Attempt {
    Done(wire::Embeddings),
    /// Larger than the provider's tokens-per-minute limit: no wait helps,
    /// only a smaller request.
    TooLarge(EmbedError),
    /// Worth another try, after `wait` if the provider named one.
    Retry {
        error: EmbedError,
        wait: Option<Duration>,
        rate_limited: bool,
    },
    /// This batch cannot succeed.
    Final(EmbedError),
    /// No request can succeed: a bad key, no access, an unknown model, no
    /// quota, vectors of the wrong size. The call stops sending.
    Fatal(EmbedError),
}

/// Why a batch did not get its vectors.
enum Failure {
    /// For good: every input fails with this.
    Error(Arc<EmbedError>),
    /// Too large for the provider (its answer, when it said so): to be
    /// split. `charged` says whether its tokens were taken from the limiter.
    TooLarge { error: Option<EmbedError>, charged: bool },
}

/// The state of one [`Embedder::embed_each`] call, shared by its batches.
struct Call<'a> {
    deadline: Option<(Instant, Duration)>,
    counters: Counters,
    /// The embedder's lifetime counters, counted along.
    totals: &'a Counters,
    /// Set by the first fatal failure; the batches not yet sent fail with it.
    fatal: OnceLock<Arc<EmbedError>>,
}

impl Call<'_> {
    /// Adds `n` to a counter of the call and of the embedder's lifetime.
    fn add(&self, counter: fn(&Counters) -> &AtomicU64, n: u64) {
        Counters::add(counter(&self.counters), n);
        Counters::add(counter(self.totals), n);
    }
}

impl OpenAiEmbedder {
    /// Checks `config` and builds the HTTP client.
    pub fn new(config: OpenAiConfig) -> Result<Self, EmbedError> {
        let invalid = |reason: String| EmbedError::Config { reason };
        let base = config.base_url.trim_end_matches('/');
        let mut url = reqwest::Url::parse(&format!("{base}/embeddings"))
            .map_err(|e| invalid(format!("base URL {:?} is not a URL: {e}", config.base_url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!("base URL {:?} is not http or https", config.base_url)));
        }
        if !config.query.is_empty() {
            url.query_pairs_mut().extend_pairs(config.query.iter());
        }
        if config.api_key.is_none() && url.host_str() == Some("api.openai.com") {
            return Err(invalid("OpenAI needs an API key: set OPENAI_API_KEY or OpenAiConfig::api_key".into()));
        }
        let known = config::known_model(&config.model);
        let dimensions =
            config.dimensions.or(config.expected_dimensions).or(known.as_ref().map(|m| m.dimensions)).ok_or_else(
                || {
                    invalid(format!(
                        "the dimensions of model {:?} are unknown: set OpenAiConfig::dimensions or expect_dimensions",
                        config.model
                    ))
                },
            )?;
        let nonzero = |value: usize, what: &str| {
            if value == 0 { Err(invalid(format!("{what} must be at least 1"))) } else { Ok(value) }
        };
        nonzero(dimensions, "dimensions")?;
        nonzero(config.max_batch_inputs, "max_batch_inputs")?;
        nonzero(config.concurrency, "concurrency")?;
        let max_input_tokens = nonzero(
            config.max_input_tokens.or(known.as_ref().map(|m| m.max_input_tokens)).unwrap_or(8192),
            "max_input_tokens",
        )?;
        let rpm = config
            .requests_per_minute
            .map(|limit| NonZeroU32::new(limit).ok_or_else(|| invalid("requests_per_minute must be at least 1".into())))
            .transpose()?;
        let tpm = config
            .tokens_per_minute
            .map(|limit| NonZeroU32::new(limit).ok_or_else(|| invalid("tokens_per_minute must be at least 1".into())))
            .transpose()?;
        nonzero(config.max_batch_tokens, "max_batch_tokens")?;
        if !(config.max_batch_share > 0.0 && config.max_batch_share <= 1.0) {
            return Err(invalid(format!("max_batch_share must be in (0, 1], not {}", config.max_batch_share)));
        }
        let price =
            config.price_per_million_tokens.or(known.as_ref().map(|m| m.price_per_million_tokens)).unwrap_or(0.0);
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(config.request_timeout))
            .user_agent(concat!("pyatlas-embed/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            model_id: format!("{}@{}", config.model, url.host_str().unwrap_or("")),
            url,
            client,
            dimensions,
            max_input_tokens,
            price,
            in_flight: Semaphore::new(config.concurrency),
            dispatcher: Dispatcher::new(rpm, tpm, config.adaptive),
            calibration: Calibration::default(),
            monitor: Monitor::default(),
            totals: Counters::default(),
            config,
        })
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Metrics over the embedder's lifetime, all calls together, calls in
    /// progress included.
    pub fn metrics(&self) -> Metrics {
        self.totals.snapshot(self.price)
    }

    /// How the provider counts tokens, as learned so far from its answers.
    pub fn provider_count(&self) -> ProviderCount {
        self.calibration.model()
    }

    /// The tokens-per-minute limit: the configured one, or the provider's
    /// (from `x-ratelimit-limit-tokens` or a 429's message), the smaller
    /// when both are known.
    fn token_limit(&self) -> Option<u64> {
        let configured = self.config.tokens_per_minute.map(u64::from);
        match (configured, self.calibration.provider_limit()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The most a request may weigh, in the provider's tokens: the
    /// per-request maximum, and a share of the tokens-per-minute limit, so
    /// that no request needs a whole minute's budget.
    fn batch_cap(&self) -> u64 {
        let share =
            self.token_limit().map_or(u64::MAX, |limit| ((limit as f64 * self.config.max_batch_share) as u64).max(1));
        (self.config.max_batch_tokens as u64).min(share)
    }

    /// Cuts `texts` into batches, refusing or truncating inputs the model
    /// cannot take. Lazy: tokens are counted as batches are needed.
    fn batches<'a>(&'a self, texts: &'a [&'a str]) -> impl Iterator<Item = Prepared<'a>> + 'a {
        let mut next = 0;
        std::iter::from_fn(move || {
            if next >= texts.len() {
                return None;
            }
            let mut batch = Batch::default();
            let (mut failures, mut truncated) = (Vec::new(), Vec::new());
            let (cap, limit) = (self.batch_cap(), self.token_limit());
            let count = self.calibration.model();
            while next < texts.len() && batch.indices.len() < self.config.max_batch_inputs {
                let index = next;
                let text = texts[index];
                let fail = |error| InputFailure { index, error: Arc::new(error) };
                if text.is_empty() {
                    failures.push(fail(EmbedError::EmptyInput { index }));
                    next += 1;
                    continue;
                }
                let (text, tokens) = match self.config.too_long {
                    TooLongPolicy::Truncate => {
                        let (prefix, kept) = self.config.tokenizer.truncate(text, self.max_input_tokens);
                        if prefix.len() < text.len() {
                            let total = self.config.tokenizer.count(text);
                            truncated.push(Truncation { index, tokens: total, kept });
                        }
                        (prefix, kept)
                    }
                    _ => (text, self.config.tokenizer.count(text)),
                };
                if tokens > self.max_input_tokens {
                    failures.push(fail(EmbedError::InputTooLong { index, tokens, limit: self.max_input_tokens }));
                    next += 1;
                    continue;
                }
                let estimated = count.estimate(tokens as u64, 1);
                if let Some(limit) = limit
                    && estimated > limit
                {
                    failures.push(fail(EmbedError::OverRateLimit {
                        index,
                        tokens: estimated,
                        tokens_per_minute: limit,
                    }));
                    next += 1;
                    continue;
                }
                if !batch.indices.is_empty() && count.estimate((batch.tokens + tokens) as u64, batch.len() + 1) > cap {
                    // Counted again with the next batch: cheap next to a request.
                    truncated.retain(|t: &Truncation| t.index != index);
                    break;
                }
                batch.push(index, text, tokens);
                next += 1;
            }
            let batch = (!batch.indices.is_empty()).then_some(batch);
            Some(Prepared { batch, failures, truncated })
        })
    }

    /// Sends one batch until it succeeds, fails for good, runs out of
    /// attempts, passes the deadline, or turns out too large for the
    /// provider. `charged`: its tokens were already taken from the limiter
    /// (a part of a batch that was).
    async fn run(
        &self,
        batch: &Batch<'_>,
        call: &Call<'_>,
        number: u64,
        mut charged: bool,
    ) -> Result<Vec<Vec<f32>>, Failure> {
        let deadline = call.deadline;
        let fail = |e: EmbedError| Failure::Error(Arc::new(e));
        let (mut attempt, mut failed, mut refused) = (0, 0, 0);
        // Taken for the first attempt and kept through the retries: a
        // batch sent again goes before batches not yet sent.
        let mut permit = None;
        loop {
            attempt += 1;
            if let Err(error) = self.dispatcher.admit(deadline).await {
                return Err(fail(error));
            }
            if permit.is_none() {
                permit = Some(self.in_flight.acquire().await);
            }
            // What it weighs by the provider's count, as learned so far
            // (answers arrive while it waits): too much for one request,
            // and it is split instead.
            let size = || {
                let cells = self.calibration.estimate(batch.tokens as u64, batch.len());
                (batch.len() == 1 || cells <= self.batch_cap()).then(|| u32::try_from(cells).unwrap_or(u32::MAX))
            };
            let turn = self.dispatcher.turn(&size, !charged, deadline).await;
            // Another batch of this call may have failed for good meanwhile.
            if let Some(fatal) = call.fatal.get() {
                self.dispatcher.settled();
                return Err(Failure::Error(Arc::clone(fatal)));
            }
            let (ticket, waited, cells) = match turn {
                Ok(Some(turn)) => turn,
                Ok(None) => {
                    // Not sent: if it was the first request, the others go.
                    self.dispatcher.settled();
                    return Err(Failure::TooLarge { error: None, charged });
                }
                Err(error) => {
                    self.dispatcher.settled();
                    return Err(fail(error));
                }
            };
            let cells = u64::from(cells);
            charged = true;
            call.counters.add_wait(waited);
            self.totals.add_wait(waited);
            call.add(|c| &c.requests, 1);
            if attempt > 1 {
                call.add(|c| &c.retries, 1);
            }
            let request = self.monitor.sent();
            let result = self.send(batch, cells, ticket, deadline).await;
            drop(request);
            self.dispatcher.settled();
            let (error, wait, rate_limited) = match result {
                Attempt::Done(embeddings) => {
                    if let Some(reported) = embeddings.tokens {
                        self.calibration.observe(Source::Usage, batch.tokens as u64, batch.len(), reported);
                    }
                    call.add(|c| &c.tokens, embeddings.tokens.unwrap_or(batch.tokens as u64));
                    self.monitor.accepted(embeddings.tokens.unwrap_or(cells));
                    return Ok(embeddings.vectors);
                }
                Attempt::TooLarge(error) => {
                    call.add(|c| &c.rate_limited, 1);
                    return Err(Failure::TooLarge { error: Some(error), charged });
                }
                Attempt::Final(error) => return Err(Failure::Error(Arc::new(error))),
                Attempt::Fatal(error) => {
                    let error = Arc::new(error);
                    return Err(Failure::Error(Arc::clone(call.fatal.get_or_init(|| error))));
                }
                Attempt::Retry { error, wait, rate_limited } => (error, wait, rate_limited),
            };
            match &error {
                _ if rate_limited => call.add(|c| &c.rate_limited, 1),
                EmbedError::Api { .. } => call.add(|c| &c.server_errors, 1),
                _ => call.add(|c| &c.transport_errors, 1),
            }
            if rate_limited {
                refused += 1;
            } else {
                failed += 1;
            }
            let policy = &self.config.retry;
            if failed >= policy.max_attempts || refused >= policy.max_rate_limited {
                return Err(fail(EmbedError::RetriesExhausted { attempts: attempt, last: Box::new(error) }));
            }
            let delay = wait.unwrap_or_else(|| {
                let ceiling = policy.ceiling(if rate_limited { refused } else { failed });
                ceiling.mul_f64(fastrand::f64())
            });
            let until = Instant::now() + delay;
            if let Some((at, deadline)) = deadline
                && until > at
            {
                return Err(fail(EmbedError::DeadlineExceeded { deadline }));
            }
            if rate_limited {
                // The provider's limit is shared: everyone holds back.
                self.dispatcher.pause(until);
            } else {
                let _backoff = self.monitor.backoff(number, attempt, until, error.to_string());
                tokio::time::sleep_until(until).await;
            }
        }
    }

    /// Runs a prepared batch to its outcome.
    async fn process(&self, prepared: Prepared<'_>, call: &Call<'_>) -> Outcome {
        let mut outcome = Outcome { embedded: Vec::new(), failures: prepared.failures, truncated: prepared.truncated };
        let Some(batch) = prepared.batch else { return outcome };
        let (embedded, failures) = self.deliver(batch, call, false).await;
        outcome.truncated.retain(|t| !failures.iter().any(|f| f.index == t.index));
        outcome.embedded = embedded;
        outcome.failures.extend(failures);
        outcome
    }

    /// Runs a batch, split in halves as often as the provider finds it too
    /// large, to vectors and failures.
    fn deliver<'b>(
        &'b self,
        batch: Batch<'b>,
        call: &'b Call<'b>,
        charged: bool,
    ) -> BoxFuture<'b, (Vec<Embedded>, Vec<InputFailure>)> {
        Box::pin(async move {
            let number = self.monitor.batch();
            let failed = |batch: &Batch<'_>, error: Arc<EmbedError>| {
                let failures = batch.indices.iter().map(|&index| InputFailure { index, error: Arc::clone(&error) });
                (Vec::new(), failures.collect())
            };
            match self.run(&batch, call, number, charged).await {
                Ok(vectors) => {
                    self.monitor.progress();
                    let embedded = batch.indices.iter().zip(vectors).map(|(&index, vector)| Embedded { index, vector });
                    (embedded.collect(), Vec::new())
                }
                Err(Failure::Error(error)) => {
                    self.monitor.progress();
                    failed(&batch, error)
                }
                Err(Failure::TooLarge { error, .. }) if batch.indices.len() == 1 => {
                    // Alone and still too large: nothing can carry it.
                    self.monitor.progress();
                    let error = EmbedError::TooLargeForProvider {
                        index: batch.indices[0],
                        tokens: batch.tokens,
                        reason: error.map_or_else(|| "over the batch limit".to_owned(), |e| e.to_string()),
                    };
                    failed(&batch, Arc::new(error))
                }
                Err(Failure::TooLarge { charged, .. }) => {
                    call.add(|c| &c.split_batches, 1);
                    let (first, second) = batch.halves();
                    let (mut a, b) =
                        join(self.deliver(first, call, charged), self.deliver(second, call, charged)).await;
                    a.0.extend(b.0);
                    a.1.extend(b.1);
                    a
                }
            }
        })
    }

    /// One request.
    async fn send(
        &self,
        batch: &Batch<'_>,
        cells: u64,
        ticket: dispatch::Ticket,
        deadline: Option<(Instant, Duration)>,
    ) -> Attempt {
        let url = self.url.as_str();
        let transport = |reason: String| Attempt::Retry {
            error: EmbedError::Transport { url: url.to_owned(), reason: self.redact(&reason) },
            wait: None,
            rate_limited: false,
        };
        let body = wire::Request {
            model: &self.config.model,
            input: &batch.texts,
            encoding_format: self.config.encoding_format.wire_name(),
            dimensions: self.config.dimensions,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => {
                return Attempt::Final(EmbedError::Transport {
                    url: url.to_owned(),
                    reason: format!("cannot encode the request: {e}"),
                });
            }
        };
        let mut timeout = self.config.request_timeout;
        if let Some((at, _)) = deadline {
            timeout = timeout.min(at.saturating_duration_since(Instant::now()));
        }
        let mut request =
            self.client.post(self.url.clone()).header(CONTENT_TYPE, "application/json").body(body).timeout(timeout);
        if let Some(key) = &self.config.api_key {
            let (name, value) = match &self.config.auth_header {
                Some(name) => (name.as_str(), key.expose().to_owned()),
                None => (AUTHORIZATION.as_str(), format!("Bearer {}", key.expose())),
            };
            let Ok(mut value) = HeaderValue::from_str(&value) else {
                return Attempt::Final(EmbedError::Config { reason: "the API key is not a valid header value".into() });
            };
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return transport(describe(&e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let headroom = wire::headroom(&headers);
        let mut charged = None;
        if let Some(headroom) = headroom {
            if let Some(limit) = headroom.tokens.limit {
                self.calibration.set_provider_limit(limit);
            }
            charged = self.dispatcher.report(ticket, headroom);
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return transport(describe(&e)),
        };
        if status.is_success() {
            return match wire::parse_embeddings(&body, batch.texts.len(), self.dimensions) {
                Ok(embeddings) => {
                    // Without usage, what the headers show it charged.
                    if let (None, Some(charged)) = (embeddings.tokens, charged) {
                        self.calibration.observe(Source::Charged, batch.tokens as u64, batch.len(), charged);
                    }
                    Attempt::Done(embeddings)
                }
                Err(BodyError::Dimensions(reason)) => {
                    Attempt::Fatal(EmbedError::InvalidResponse { url: url.to_owned(), reason })
                }
                Err(BodyError::Invalid(reason)) => Attempt::Retry {
                    error: EmbedError::InvalidResponse { url: url.to_owned(), reason },
                    wait: None,
                    rate_limited: false,
                },
            };
        }
        let api = wire::parse_error(&body);
        let error = EmbedError::Api {
            url: url.to_owned(),
            status: status.as_u16(),
            code: api.code.clone(),
            message: self.redact(&api.message),
        };
        match status.as_u16() {
            429 if api.is_quota() => Attempt::Fatal(error),
            401 | 403 | 404 => Attempt::Fatal(error),
            429 => {
                // A refusal that says what the request cost is a sample of
                // the provider's count, and may say it can never pass.
                let said = wire::token_limit(&api.message);
                if let Some(requested) = said.requested {
                    self.calibration.observe(Source::Charged, batch.tokens as u64, batch.len(), requested);
                }
                if let Some(limit) = said.limit {
                    self.calibration.set_provider_limit(limit);
                }
                let header_limit = headroom.and_then(|h| h.tokens.limit);
                let over_header = header_limit.is_some_and(|limit| said.requested.unwrap_or(cells) > limit);
                if said.too_large || over_header {
                    return Attempt::TooLarge(error);
                }
                Attempt::Retry { wait: wire::retry_after(&headers, &api.message), error, rate_limited: true }
            }
            408 | 409 | 500..=599 => {
                Attempt::Retry { wait: wire::retry_after(&headers, ""), error, rate_limited: false }
            }
            _ => Attempt::Final(error),
        }
    }

    /// Removes the API key from text that came from elsewhere (a provider
    /// message that quotes it, an error that carries a URL).
    fn redact(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "<redacted>"),
            _ => text.to_owned(),
        }
    }
}

/// A reqwest error with its causes ("error sending request: connection reset").
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_owned() } else { error.to_string() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn spec(&self) -> crate::EmbedderSpec {
        crate::EmbedderSpec::openai(&self.config.model, self.dimensions, self.config.dimensions.is_some())
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn max_input_tokens(&self) -> usize {
        self.max_input_tokens
    }

    fn status(&self) -> Option<EmbedStatus> {
        let (queued, mut waits) = self.dispatcher.waiting();
        let (active, since_progress, tokens_last_minute, batches) = self.monitor.snapshot();
        waits.extend(batches);
        Some(EmbedStatus {
            metrics: self.metrics(),
            active,
            queued,
            waits,
            since_progress,
            tokens_last_minute,
            tokens_per_minute: self.token_limit(),
            provider_count: self.calibration.model(),
        })
    }

    fn embed_each<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>) -> BoxFuture<'a, EmbedReport> {
        Box::pin(async move {
            let call = Call {
                deadline: self.config.deadline.map(|d| (Instant::now() + d, d)),
                counters: Counters::default(),
                totals: &self.totals,
                fatal: OnceLock::new(),
            };
            let _active = self.monitor.call();
            let counters = &call.counters;
            // Requests beyond the concurrency wait in the dispatcher's FIFO;
            // a few more batches are ready so that retries backing off do
            // not leave the provider idle.
            let window = self.config.concurrency.saturating_mul(2).max(2);
            let mut prepared = self.batches(texts);
            let mut running = FuturesUnordered::new();
            let mut report = EmbedReport::default();
            let mut done = 0;
            loop {
                while running.len() < window {
                    let Some(next) = prepared.next() else { break };
                    running.push(self.process(next, &call));
                }
                let Some(outcome) = running.next().await else { break };
                done += outcome.embedded.len() + outcome.failures.len();
                report.embedded += outcome.embedded.len();
                call.add(|c| &c.inputs_embedded, outcome.embedded.len() as u64);
                call.add(|c| &c.inputs_failed, outcome.failures.len() as u64);
                report.failures.extend(outcome.failures);
                report.truncated.extend(outcome.truncated);
                if !outcome.embedded.is_empty() {
                    on_batch(outcome.embedded);
                }
                if let Some(hook) = &self.config.progress {
                    hook(&Progress { total: texts.len(), done, metrics: counters.snapshot(self.price) });
                }
            }
            drop(running);
            report.failures.sort_by_key(|f| f.index);
            report.truncated.sort_by_key(|t| t.index);
            report.metrics = counters.snapshot(self.price);
            report
        })
    }
}
