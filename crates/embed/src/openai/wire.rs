//! The `/embeddings` wire format: request bodies, responses, error bodies
//! and rate-limit headers, all read without trusting the other side.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use reqwest::header::HeaderMap;

use super::config::EncodingFormat;

/// A request body.
#[derive(serde::Serialize)]
pub(crate) struct Request<'a> {
    pub(crate) model: &'a str,
    pub(crate) input: &'a [&'a str],
    pub(crate) encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dimensions: Option<usize>,
}

impl EncodingFormat {
    pub(crate) fn wire_name(self) -> &'static str {
        match self {
            Self::Base64 => "base64",
            Self::Float => "float",
        }
    }
}

#[derive(serde::Deserialize)]
struct Response {
    data: Vec<Item>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(serde::Deserialize)]
struct Item {
    index: usize,
    embedding: Vector,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Vector {
    Base64(String),
    Floats(Vec<f64>),
}

#[derive(serde::Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// Why a response body is not a valid answer.
#[derive(Debug, PartialEq)]
pub(crate) enum BodyError {
    /// A vector of the wrong length: the model or `dimensions` do not match
    /// the configuration, so retrying cannot help.
    Dimensions(String),
    /// Anything else: malformed, incomplete or inconsistent.
    Invalid(String),
}

/// A valid response: one vector per input, in input order.
#[derive(Debug)]
pub(crate) struct Embeddings {
    pub(crate) vectors: Vec<Vec<f32>>,
    /// Tokens the provider says it embedded, if it says.
    pub(crate) tokens: Option<u64>,
}

/// Reads a 2xx body for a request of `inputs` inputs: every input gets
/// exactly one vector, matched by `index` (never by position), of
/// `dimensions` finite values.
pub(crate) fn parse_embeddings(body: &[u8], inputs: usize, dimensions: usize) -> Result<Embeddings, BodyError> {
    let response: Response =
        serde_json::from_slice(body).map_err(|e| BodyError::Invalid(format!("not an embeddings response: {e}")))?;
    if response.data.len() != inputs {
        return Err(BodyError::Invalid(format!("{} embeddings for {inputs} inputs", response.data.len())));
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; inputs];
    for item in response.data {
        let slot = vectors
            .get_mut(item.index)
            .ok_or_else(|| BodyError::Invalid(format!("index {} out of range for {inputs} inputs", item.index)))?;
        if slot.is_some() {
            return Err(BodyError::Invalid(format!("index {} appears twice", item.index)));
        }
        let vector = decode(item.embedding).map_err(|e| BodyError::Invalid(format!("index {}: {e}", item.index)))?;
        if vector.len() != dimensions {
            return Err(BodyError::Dimensions(format!(
                "index {} has {} dimensions, expected {dimensions}",
                item.index,
                vector.len()
            )));
        }
        if let Some(position) = vector.iter().position(|v| !v.is_finite()) {
            return Err(BodyError::Invalid(format!("index {} has a non-finite value at {position}", item.index)));
        }
        *slot = Some(vector);
    }
    // With as many items as inputs, no duplicates and all in range, every
    // slot is full; say which one is not, should that ever change.
    let vectors = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| v.ok_or_else(|| BodyError::Invalid(format!("no embedding for index {index}"))))
        .collect::<Result<_, _>>()?;
    let tokens = response.usage.and_then(|u| u.prompt_tokens.or(u.total_tokens));
    Ok(Embeddings { vectors, tokens })
}

fn decode(vector: Vector) -> Result<Vec<f32>, String> {
    match vector {
        Vector::Floats(values) => Ok(values.into_iter().map(|v| v as f32).collect()),
        Vector::Base64(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| format!("invalid base64: {e}"))?;
            if bytes.len() % 4 != 0 {
                return Err(format!("{} bytes of base64 data is not a whole number of f32 values", bytes.len()));
            }
            Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        }
    }
}

/// An error body, `{"error": {"message", "type", "code"}}`, as far as it can be read.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) message: String,
    pub(crate) code: Option<String>,
    pub(crate) kind: Option<String>,
}

pub(crate) fn parse_error(body: &[u8]) -> ApiError {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let error = value.get("error").unwrap_or(&value);
    let text = |field: &str| match error.get(field) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let message = match error {
        serde_json::Value::String(s) => s.clone(),
        _ => text("message").unwrap_or_else(|| {
            let raw = String::from_utf8_lossy(body);
            let raw = raw.trim();
            // Keep errors readable when a proxy answers with a page.
            raw.chars().take(300).collect()
        }),
    };
    ApiError { message, code: text("code"), kind: text("type") }
}

impl ApiError {
    /// OpenAI answers 429 both for rate limits (retry) and for an
    /// exhausted quota (do not).
    pub(crate) fn is_quota(&self) -> bool {
        self.code.as_deref() == Some("insufficient_quota") || self.kind.as_deref() == Some("insufficient_quota")
    }
}

/// What a 429's message says of the tokens-per-minute limit, as OpenAI
/// writes it: "... on tokens per min (TPM): Limit 40000, Used 12000,
/// Requested 52000. ..." Messages about other limits (requests per minute)
/// say nothing of tokens and give nothing here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenLimit {
    /// The limit, in the provider's tokens.
    pub(crate) limit: Option<u64>,
    /// The refused request's tokens, by the provider's count.
    pub(crate) requested: Option<u64>,
    /// The request is larger than the limit: no wait can let it through.
    pub(crate) too_large: bool,
}

pub(crate) fn token_limit(message: &str) -> TokenLimit {
    let lower = message.to_ascii_lowercase();
    let about_tokens = lower.contains("tokens per min") || lower.contains("(tpm)");
    // The first `word` followed by a number ("rate limit reached" is not one).
    let number_after = |word: &str| {
        lower.match_indices(word).find_map(|(at, _)| {
            let digits: String =
                lower[at + word.len()..].chars().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
            digits.replace(',', "").parse::<u64>().ok()
        })
    };
    let (limit, requested) =
        if about_tokens { (number_after("limit "), number_after("requested ")) } else { (None, None) };
    let too_large = lower.contains("request too large")
        || matches!((limit, requested), (Some(limit), Some(requested)) if requested > limit);
    TokenLimit { limit, requested, too_large }
}

/// How long the provider asks us to wait: `retry-after-ms`, `Retry-After`
/// (seconds or an HTTP date), or "try again in 2.812s" in the message.
pub(crate) fn retry_after(headers: &HeaderMap, message: &str) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    if let Some(value) = header("retry-after") {
        if let Ok(secs) = value.parse::<f64>() {
            return seconds(secs);
        }
        if let Ok(when) = httpdate::parse_http_date(value) {
            return Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO));
        }
    }
    let lower = message.to_ascii_lowercase();
    let start = lower.find("try again in ")? + "try again in ".len();
    let token: String = message[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    // The sentence's own full stop is not part of the number.
    parse_duration(token.trim_end_matches('.'))
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(24.0 * 3600.0)))
}

/// Parses the duration strings of `x-ratelimit-reset-*` and of OpenAI's
/// messages: `6m0s`, `2.812s`, `20ms`, `1h2m3.5s`, `150us`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" | "" if unit_len == rest.len() => 1.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    seconds(total)
}

/// What the `x-ratelimit-*` headers of one response say.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Headroom {
    pub(crate) requests: Bucket,
    pub(crate) tokens: Bucket,
}

/// One limit's state: how much is left, the limit, and how long until the
/// bucket is full again.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) remaining: Option<u64>,
    pub(crate) limit: Option<u64>,
    pub(crate) reset: Option<Duration>,
}

pub(crate) fn headroom(headers: &HeaderMap) -> Option<Headroom> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let count = |name: &str| header(name).and_then(|v| v.parse::<u64>().ok());
    let bucket = |kind: &str| Bucket {
        remaining: count(&format!("x-ratelimit-remaining-{kind}")),
        limit: count(&format!("x-ratelimit-limit-{kind}")),
        reset: header(&format!("x-ratelimit-reset-{kind}")).and_then(parse_duration),
    };
    let headroom = Headroom { requests: bucket("requests"), tokens: bucket("tokens") };
    (headroom.requests.remaining.is_some() || headroom.tokens.remaining.is_some()).then_some(headroom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn durations_in_openai_formats() {
        let cases = [
            ("6m0s", 360_000),
            ("2.812s", 2_812),
            ("20ms", 20),
            ("1h2m3.5s", 3_723_500),
            ("1s", 1_000),
            ("0s", 0),
            ("3", 3_000),
        ];
        for (text, millis) in cases {
            assert_eq!(parse_duration(text), Some(Duration::from_millis(millis)), "{text}");
        }
        for bad in ["", "s", "1x", "-1s", "1..2s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_from_headers_then_message() {
        let message = "Rate limit reached for text-embedding-3-small in organization org-x on tokens per min (TPM): \
                       Limit 1000000, Used 999000, Requested 5000. Please try again in 2.812s. Visit \
                       https://platform.openai.com/account/rate-limits to learn more.";
        assert_eq!(retry_after(&HeaderMap::new(), message), Some(Duration::from_millis(2812)));
        assert_eq!(retry_after(&headers(&[("retry-after", "3")]), message), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "150"), ("retry-after", "3")]), message),
            Some(Duration::from_millis(150))
        );
        assert_eq!(retry_after(&HeaderMap::new(), "Please try again in 20ms."), Some(Duration::from_millis(20)));
        assert_eq!(retry_after(&HeaderMap::new(), "Rate limit reached."), None);
        let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = retry_after(&headers(&[("retry-after", &date)]), "").expect("an HTTP date");
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28), "{wait:?}");
    }

    #[test]
    fn token_limits_from_messages() {
        let too_large = "Request too large for text-embedding-3-small in organization org-x on tokens per min \
                         (TPM): Limit 40000, Requested 52000. The input or output tokens must be reduced in order \
                         to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.";
        assert_eq!(
            token_limit(too_large),
            TokenLimit { limit: Some(40_000), requested: Some(52_000), too_large: true }
        );
        let reached = "Rate limit reached for text-embedding-3-small in organization org-x on tokens per min (TPM): \
                       Limit 1000000, Used 999000, Requested 5000. Please try again in 2.812s.";
        assert_eq!(
            token_limit(reached),
            TokenLimit { limit: Some(1_000_000), requested: Some(5_000), too_large: false }
        );
        // Requested above the limit says the same without the words.
        assert!(token_limit("on tokens per min (TPM): Limit 100, Used 0, Requested 101.").too_large);
        // Requests per minute: nothing about tokens.
        let requests = "Rate limit reached for m on requests per min (RPM): Limit 500, Used 500, Requested 1.";
        assert_eq!(token_limit(requests), TokenLimit::default());
        assert_eq!(token_limit("Rate limit reached."), TokenLimit::default());
        assert!(token_limit("Request too large.").too_large);
    }

    #[test]
    fn headroom_from_openai_headers() {
        let map = headers(&[
            ("x-ratelimit-limit-requests", "3000"),
            ("x-ratelimit-remaining-requests", "2999"),
            ("x-ratelimit-reset-requests", "20ms"),
            ("x-ratelimit-limit-tokens", "1000000"),
            ("x-ratelimit-remaining-tokens", "999000"),
            ("x-ratelimit-reset-tokens", "60ms"),
        ]);
        let got = headroom(&map).expect("headers present");
        assert_eq!(got.requests.remaining, Some(2999));
        assert_eq!(got.tokens.limit, Some(1_000_000));
        assert_eq!(got.tokens.reset, Some(Duration::from_millis(60)));
        assert_eq!(headroom(&HeaderMap::new()), None);
    }

    fn b64(values: &[f32]) -> String {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn responses_are_matched_by_index_and_checked() {
        let body = format!(
            r#"{{"object":"list","data":[{{"object":"embedding","index":1,"embedding":"{}"}},{{"object":"embedding","index":0,"embedding":[0.5,-1.0]}}],"model":"m","usage":{{"prompt_tokens":7,"total_tokens":7}}}}"#,
            b64(&[2.0, 3.0])
        );
        let parsed = parse_embeddings(body.as_bytes(), 2, 2).expect("valid");
        assert_eq!(parsed.vectors, vec![vec![0.5, -1.0], vec![2.0, 3.0]]);
        assert_eq!(parsed.tokens, Some(7));

        let item = |index: usize, v: &[f32]| format!(r#"{{"index":{index},"embedding":"{}"}}"#, b64(v));
        let body = |items: &[String]| format!(r#"{{"data":[{}]}}"#, items.join(","));
        let invalid = |b: String, n| match parse_embeddings(b.as_bytes(), n, 2) {
            Err(BodyError::Invalid(reason)) => reason,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert!(invalid(body(&[item(0, &[1.0, 2.0])]), 2).contains("1 embeddings for 2 inputs"));
        assert!(invalid(body(&[item(0, &[1.0, 2.0]), item(0, &[1.0, 2.0])]), 2).contains("appears twice"));
        assert!(invalid(body(&[item(0, &[1.0, 2.0]), item(2, &[1.0, 2.0])]), 2).contains("out of range"));
        assert!(invalid(body(&[item(0, &[f32::NAN, 2.0])]), 1).contains("non-finite"));
        assert!(invalid(r#"{"data":[{"index":0,"embedding":"AAA="}]}"#.into(), 1).contains("f32"));
        assert!(invalid(r#"{"data":[{"index":0,"embedding":"!!"}]}"#.into(), 1).contains("base64"));
        assert!(invalid(r#"{"data": [{"index":0,"#.into(), 1).contains("not an embeddings response"));
        assert!(invalid(r#"{"data":[{"index":0,"embedding":[1e39, 0]}]}"#.into(), 1).contains("non-finite"));
        assert!(matches!(
            parse_embeddings(body(&[item(0, &[1.0, 2.0, 3.0])]).as_bytes(), 1, 2),
            Err(BodyError::Dimensions(_))
        ));
    }

    #[test]
    fn error_bodies() {
        let quota = parse_error(
            br#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert!(quota.is_quota());
        assert!(quota.message.starts_with("You exceeded your current quota"));
        let limited =
            parse_error(br#"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#);
        assert!(!limited.is_quota());
        assert_eq!(limited.code.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!(parse_error(b"<html>Bad Gateway</html>").message, "<html>Bad Gateway</html>");
        assert_eq!(parse_error(br#"{"error":"model not found"}"#).message, "model not found");
    }
}
