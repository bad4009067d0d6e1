//! An OpenAI-compatible embeddings server on loopback, for tests and
//! benchmarks (feature `mock`).
//!
//! It speaks HTTP/1.1 over a real socket, answers `POST …/embeddings` the
//! way OpenAI does (`index`ed items, base64 or float vectors, `usage`),
//! can enforce requests- and tokens-per-minute limits with OpenAI's
//! `x-ratelimit-*` headers and 429 bodies, adds latency, and plays a script
//! of [`Fault`]s, one per request, in order. The vector it gives a text is
//! [`MockServer::vector_for`], so a test can check that every input got
//! its own vector.
//!
//! Timing uses tokio's clock: under `tokio::time::pause` the server's
//! latency and buckets follow virtual time along with the client.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the server does with one request instead of answering normally.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 `rate_limit_exceeded`, with OpenAI's body, and the wait given as `hint` says.
    RateLimited(RetryHint),
    /// 429 `insufficient_quota`, with OpenAI's body.
    InsufficientQuota,
    /// This status, with an OpenAI-style error body (`500`, `503`, `400`,
    /// `401`, `403`, `404`, ...).
    Status(u16),
    /// 401 whose message quotes the presented key in full (worse than
    /// OpenAI, which masks it), to check that clients redact it.
    EchoKey,
    /// Answers normally after this delay (to provoke timeouts).
    Delay(Duration),
    /// Drops the connection without answering (TCP reset).
    Reset,
    /// 200 with a body cut in the middle of its JSON.
    MalformedJson,
    /// 200 with vectors of this many dimensions.
    WrongDimensions(usize),
    /// 200 with the items in reverse order (valid: clients match by `index`).
    ShuffledIndex,
    /// 200 with one item fewer than inputs.
    MissingItem,
    /// 200 with the first index repeated.
    DuplicateIndex,
    /// 200 with a NaN in the first vector (base64 only can carry it).
    NonFinite,
}

/// How a [`Fault::RateLimited`] says how long to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryHint {
    /// It does not.
    None,
    /// `retry-after-ms`.
    Milliseconds(Duration),
    /// `Retry-After` in whole seconds.
    Seconds(u64),
    /// Only in the message: "Please try again in 2.812s."
    Message(Duration),
}

/// What a response's `usage` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Usage {
    /// The server's own count, the one its limits charge (as OpenAI does).
    #[default]
    Charged,
    /// `cl100k_base`'s count, whatever the server charges.
    Tiktoken,
    /// No `usage` at all.
    None,
}

/// The server's behaviour.
#[derive(Clone, Debug)]
pub struct MockConfig {
    dimensions: usize,
    api_key: Option<String>,
    requests_per_minute: Option<u32>,
    tokens_per_minute: Option<u32>,
    latency: (Duration, Duration),
    seed: u64,
    keep_texts: bool,
    count: (f64, u64),
    usage: Usage,
}

impl Default for MockConfig {
    /// 8 dimensions, no key, no limits, no latency.
    fn default() -> Self {
        Self {
            dimensions: 8,
            api_key: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            latency: (Duration::ZERO, Duration::ZERO),
            seed: 1,
            keep_texts: true,
            count: (1.0, 0),
            usage: Usage::Charged,
        }
    }
}

impl MockConfig {
    /// Vectors of this many values (unless a request asks for `dimensions`).
    pub fn dimensions(mut self, dimensions: usize) -> Self {
        self.dimensions = dimensions;
        self
    }

    /// Requires `Authorization: Bearer <key>`; 401 `invalid_api_key` otherwise.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Enforces a requests-per-minute limit (a bucket of a minute's worth,
    /// refilled continuously, charged on arrival), with OpenAI's headers.
    pub fn requests_per_minute(mut self, limit: u32) -> Self {
        self.requests_per_minute = Some(limit);
        self
    }

    /// Enforces a tokens-per-minute limit, by the server's count (see
    /// [`count`](Self::count)). A request larger than the whole limit is
    /// answered as OpenAI does, 429 "Request too large ... Limit L,
    /// Requested R", however full the bucket.
    pub fn tokens_per_minute(mut self, limit: u32) -> Self {
        self.tokens_per_minute = Some(limit);
        self
    }

    /// Delays every answer by a uniformly random time in `min..=max`.
    pub fn latency(mut self, min: Duration, max: Duration) -> Self {
        self.latency = (min, max.max(min));
        self
    }

    /// Seeds the latency's random numbers.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Counts each input's tokens as `factor` times `cl100k_base`'s count,
    /// rounded, plus `per_input`: a provider with another tokenizer and
    /// overhead per input (default: exactly `cl100k_base`, `1.0, 0`).
    pub fn count(mut self, factor: f64, per_input: u64) -> Self {
        self.count = (factor, per_input);
        self
    }

    /// What `usage` reports (default: the count charged).
    pub fn usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Whether [`Record::texts`] keeps the inputs (default true).
    pub fn keep_texts(mut self, keep: bool) -> Self {
        self.keep_texts = keep;
        self
    }
}

/// One request the server received.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// When it arrived, since the server started.
    pub at: Duration,
    /// Its inputs (empty unless the server keeps texts).
    pub texts: Vec<String>,
    /// How many inputs.
    pub inputs: usize,
    /// Its tokens, counted with `cl100k_base`.
    pub tokens: u64,
    /// Its tokens by the server's count, the one its limits charge.
    pub charged: u64,
    /// The status answered (0: the connection was dropped).
    pub status: u16,
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct MockServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    config: MockConfig,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    faults: VecDeque<Fault>,
    records: Vec<Record>,
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    rng: fastrand::Rng,
    connections: Vec<JoinHandle<()>>,
}

/// A token bucket: `capacity` cells, refilled at `capacity` per minute.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    level: f64,
    last: Instant,
}

impl Bucket {
    fn new(limit: u32, now: Instant) -> Self {
        Self { capacity: f64::from(limit), level: f64::from(limit), last: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.level = (self.level + elapsed * self.capacity / 60.0).min(self.capacity);
        self.last = now;
    }

    /// How long until `need` cells are there.
    fn wait_for(&self, need: f64) -> Duration {
        Duration::from_secs_f64(((need - self.level).max(0.0) * 60.0 / self.capacity).max(0.0))
    }

    /// How long until the bucket is full.
    fn reset(&self) -> Duration {
        self.wait_for(self.capacity)
    }
}

impl MockServer {
    /// Starts a server on `127.0.0.1`, on a free port.
    pub async fn start(config: MockConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let now = Instant::now();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                faults: VecDeque::new(),
                records: Vec::new(),
                requests: config.requests_per_minute.map(|limit| Bucket::new(limit, now)),
                tokens: config.tokens_per_minute.map(|limit| Bucket::new(limit, now)),
                rng: fastrand::Rng::with_seed(config.seed),
                connections: Vec::new(),
            }),
            config,
            started: now,
        });
        let accept = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    let task = tokio::spawn(serve(stream, Arc::clone(&shared)));
                    let mut state = shared.state();
                    state.connections.retain(|t| !t.is_finished());
                    state.connections.push(task);
                }
            }
        });
        Ok(Self { address, shared, accept })
    }

    /// The base URL to configure a client with: `http://127.0.0.1:<port>/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Appends faults to the script: each request takes the next one, and
    /// is answered normally once the script is empty.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.state().faults.extend(faults);
    }

    /// The requests received so far, in arrival order.
    pub fn records(&self) -> Vec<Record> {
        self.shared.state().records.clone()
    }

    /// The vector this server gives `text` at `dimensions`.
    pub fn vector_for(text: &str, dimensions: usize) -> Vec<f32> {
        let mut output = blake3::Hasher::new().update(text.as_bytes()).finalize_xof();
        let mut bytes = vec![0u8; dimensions * 4];
        output.fill(&mut bytes);
        bytes
            .chunks_exact(4)
            .map(|b| (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 / u32::MAX as f64 * 2.0 - 1.0) as f32)
            .collect()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept.abort();
        for task in self.shared.state().connections.drain(..) {
            task.abort();
        }
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request as read off the socket.
struct HttpRequest {
    method: String,
    path: String,
    authorization: Option<String>,
    close: bool,
    body: Vec<u8>,
}

/// An answer to write back.
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buffer = Vec::new();
    loop {
        let request = match read_request(&mut stream, &mut buffer).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let close = request.close;
        let Some(response) = answer(request, &shared).await else {
            // A reset: no answer, and the peer sees RST rather than FIN.
            let _ = stream.set_zero_linger();
            return;
        };
        if write_response(&mut stream, &response).await.is_err() || close {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Option<HttpRequest>> {
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break position;
        }
        if buffer.len() > 64 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request head too large"));
        }
        let mut chunk = [0u8; 8192];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let (mut length, mut authorization, mut close) = (0usize, None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "authorization" => authorization = Some(value.to_owned()),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let mut chunk = vec![0u8; (body_start + length - buffer.len()).min(1 << 20)];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Ok(Some(HttpRequest { method, path, authorization, close, body }))
}

async fn write_response(stream: &mut TcpStream, response: &HttpResponse) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        response.status,
        response.body.len()
    );
    for (name, value) in &response.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.flush().await
}

#[derive(serde::Deserialize)]
struct EmbeddingsRequest {
    model: String,
    input: Input,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

fn error_body(message: &str, kind: &str, code: Option<&str>) -> Vec<u8> {
    serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        .to_string()
        .into_bytes()
}

fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> HttpResponse {
    HttpResponse { status, headers: Vec::new(), body: error_body(message, kind, code) }
}

/// OpenAI's way of writing a wait in a message: `180ms`, `2.812s`.
fn openai_duration(wait: Duration) -> String {
    if wait < Duration::from_secs(1) {
        format!("{}ms", wait.as_millis().max(1))
    } else {
        format!("{:.3}s", wait.as_secs_f64())
    }
}

/// Answers a request, or None to drop the connection.
async fn answer(request: HttpRequest, shared: &Shared) -> Option<HttpResponse> {
    let config = &shared.config;
    let arrived = Instant::now();
    let parsed: Option<EmbeddingsRequest> = serde_json::from_slice(&request.body).ok();
    let texts: Vec<String> = match parsed.as_ref().map(|r| &r.input) {
        Some(Input::One(text)) => vec![text.clone()],
        Some(Input::Many(texts)) => texts.clone(),
        None => Vec::new(),
    };
    let counts: Vec<u64> = texts.iter().map(|t| crate::Tokenizer::Cl100kBase.count(t) as u64).collect();
    let tokens: u64 = counts.iter().sum();
    let (factor, per_input) = config.count;
    let charged: u64 = counts.iter().map(|&n| (n as f64 * factor).round() as u64 + per_input).sum();
    let model = parsed.as_ref().map_or("unknown", |r| r.model.as_str());

    // Decide under the lock, answer (and sleep) outside it.
    let (fault, limited, rate_headers, latency) = {
        let mut state = shared.state();
        let fault = state.faults.pop_front();
        let mut limited = None;
        let mut rate_headers = Vec::new();
        if let Some(bucket) = state.requests.as_mut() {
            bucket.refill(arrived);
        }
        if let Some(bucket) = state.tokens.as_mut() {
            bucket.refill(arrived);
        }
        let request_short =
            state.requests.as_ref().filter(|b| b.level < 1.0).map(|b| (b, 1.0, "requests per min (RPM)"));
        let token_short = state
            .tokens
            .as_ref()
            .filter(|b| b.level < charged as f64)
            .map(|b| (b, charged as f64, "tokens per min (TPM)"));
        let too_large = state.tokens.as_ref().filter(|b| charged as f64 > b.capacity);
        if let Some(bucket) = too_large {
            limited = Some(format!(
                "Request too large for {model} in organization org-mock on tokens per min (TPM): Limit {}, \
                 Requested {charged}. The input or output tokens must be reduced in order to run successfully. \
                 Visit https://platform.openai.com/account/rate-limits to learn more.",
                bucket.capacity,
            ));
        } else if let Some((bucket, need, what)) = request_short.or(token_short) {
            limited = Some(format!(
                "Rate limit reached for {model} in organization org-mock on {what}: Limit {}, Used {}, Requested {}. \
                 Please try again in {}. Visit https://platform.openai.com/account/rate-limits to learn more.",
                bucket.capacity,
                (bucket.capacity - bucket.level).round(),
                need,
                openai_duration(bucket.wait_for(need)),
            ));
        } else if request.method == "POST" && fault.is_none() && parsed.is_some() {
            if let Some(bucket) = state.requests.as_mut() {
                bucket.level -= 1.0;
            }
            if let Some(bucket) = state.tokens.as_mut() {
                bucket.level -= charged as f64;
            }
        }
        for (kind, bucket) in [("requests", &state.requests), ("tokens", &state.tokens)] {
            if let Some(bucket) = bucket {
                rate_headers.push((format!("x-ratelimit-limit-{kind}"), format!("{}", bucket.capacity)));
                rate_headers
                    .push((format!("x-ratelimit-remaining-{kind}"), format!("{}", bucket.level.max(0.0).floor())));
                rate_headers.push((format!("x-ratelimit-reset-{kind}"), openai_duration(bucket.reset())));
            }
        }
        let (min, max) = config.latency;
        let latency = min + (max - min).mul_f64(state.rng.f64());
        (fault, limited, rate_headers, latency)
    };

    let usage = match config.usage {
        Usage::Charged => Some(charged),
        Usage::Tiktoken => Some(tokens),
        Usage::None => None,
    };
    let mut response = respond(&request, parsed.as_ref(), &texts, usage, fault.as_ref(), limited, shared);
    if let Some(response) = response.as_mut() {
        response.headers.extend(rate_headers);
    }
    let status = response.as_ref().map_or(0, |r| r.status);
    shared.state().records.push(Record {
        at: arrived.saturating_duration_since(shared.started),
        texts: if config.keep_texts { texts.clone() } else { Vec::new() },
        inputs: texts.len(),
        tokens,
        charged,
        status,
    });
    let delay = match fault {
        Some(Fault::Delay(delay)) => latency + delay,
        _ => latency,
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

fn respond(
    request: &HttpRequest,
    parsed: Option<&EmbeddingsRequest>,
    texts: &[String],
    usage: Option<u64>,
    fault: Option<&Fault>,
    limited: Option<String>,
    shared: &Shared,
) -> Option<HttpResponse> {
    let config = &shared.config;
    if request.method != "POST" || !request.path.split('?').next().unwrap_or_default().ends_with("/embeddings") {
        return Some(error(
            404,
            &format!("Unknown request URL: {} {}", request.method, request.path),
            "invalid_request_error",
            Some("unknown_url"),
        ));
    }
    if let Some(key) = &config.api_key
        && request.authorization.as_deref() != Some(&format!("Bearer {key}"))
    {
        return Some(error(
            401,
            "Incorrect API key provided: sk-mo***ey.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ));
    }
    let Some(parsed) = parsed else {
        return Some(error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None));
    };
    if let Some(message) = limited {
        return Some(error(429, &message, "tokens", Some("rate_limit_exceeded")));
    }
    if texts.iter().any(String::is_empty) {
        return Some(error(
            400,
            "'$.input' is invalid. Please check the API reference.",
            "invalid_request_error",
            None,
        ));
    }
    let rate_limited = |message: String, headers: Vec<(String, String)>| HttpResponse {
        status: 429,
        headers,
        body: error_body(&message, "requests", Some("rate_limit_exceeded")),
    };
    let base = "Rate limit reached for requests";
    let dimensions = parsed.dimensions.unwrap_or(config.dimensions);
    let mut dims = dimensions;
    match fault {
        Some(Fault::RateLimited(RetryHint::None)) => return Some(rate_limited(format!("{base}."), Vec::new())),
        Some(Fault::RateLimited(RetryHint::Milliseconds(wait))) => {
            return Some(rate_limited(
                format!("{base}."),
                vec![("retry-after-ms".into(), wait.as_millis().to_string())],
            ));
        }
        Some(Fault::RateLimited(RetryHint::Seconds(secs))) => {
            return Some(rate_limited(format!("{base}."), vec![("retry-after".into(), secs.to_string())]));
        }
        Some(Fault::RateLimited(RetryHint::Message(wait))) => {
            return Some(rate_limited(format!("{base}. Please try again in {}.", openai_duration(*wait)), Vec::new()));
        }
        Some(Fault::InsufficientQuota) => {
            return Some(error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ));
        }
        Some(Fault::EchoKey) => {
            let presented = request.authorization.as_deref().unwrap_or_default().trim_start_matches("Bearer ");
            return Some(error(
                401,
                &format!("Incorrect API key provided: {presented}."),
                "invalid_request_error",
                Some("invalid_api_key"),
            ));
        }
        Some(Fault::Status(status)) => {
            let (message, kind, code) = match status {
                400 => ("Invalid input.", "invalid_request_error", None),
                401 => ("Incorrect API key provided.", "invalid_request_error", Some("invalid_api_key")),
                403 => ("You are not allowed to sample from this model.", "invalid_request_error", None),
                404 => (
                    "The model does not exist or you do not have access to it.",
                    "invalid_request_error",
                    Some("model_not_found"),
                ),
                _ => ("The server had an error while processing your request. Sorry about that!", "server_error", None),
            };
            return Some(error(*status, message, kind, code));
        }
        Some(Fault::Reset) => return None,
        Some(Fault::WrongDimensions(wrong)) => dims = *wrong,
        _ => {}
    }

    let float = parsed.encoding_format.as_deref() == Some("float");
    let mut items: Vec<serde_json::Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let mut vector = MockServer::vector_for(text, dims);
            if index == 0
                && fault == Some(&Fault::NonFinite)
                && let Some(first) = vector.first_mut()
            {
                *first = f32::NAN;
            }
            let embedding = if float {
                serde_json::json!(vector)
            } else {
                let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                serde_json::json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            };
            serde_json::json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    match fault {
        Some(Fault::ShuffledIndex) => items.reverse(),
        Some(Fault::MissingItem) => {
            items.pop();
        }
        Some(Fault::DuplicateIndex) if items.len() > 1 => items[1]["index"] = serde_json::json!(0),
        _ => {}
    }
    let mut body = serde_json::json!({"object": "list", "data": items, "model": parsed.model});
    if let Some(tokens) = usage {
        body["usage"] = serde_json::json!({"prompt_tokens": tokens, "total_tokens": tokens});
    }
    let body = body.to_string().into_bytes();
    let body = if fault == Some(&Fault::MalformedJson) { body[..body.len() / 2].to_vec() } else { body };
    Some(HttpResponse { status: 200, headers: Vec::new(), body })
}
