//! [`EmbedStatus`]: what an embedder is doing right now, for progress lines
//! and stall watchdogs.

use std::fmt;
use std::time::Duration;

use crate::{Metrics, ProviderCount};

/// A live view of an embedder, all calls together: what it has done, and
/// what it is waiting for. From [`Embedder::status`](crate::Embedder::status).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct EmbedStatus {
    /// Its metrics so far, calls in progress included.
    pub metrics: Metrics,
    /// Whether a call is in progress.
    pub active: bool,
    /// Requests waiting for their turn to be sent.
    pub queued: usize,
    /// What it waits for, most pressing first (empty when idle or sending).
    pub waits: Vec<Wait>,
    /// While a call is in progress: how long since a request last got an
    /// answer, or since the call started if none has yet.
    pub since_progress: Option<Duration>,
    /// Tokens the provider accepted in the last minute, by its count where
    /// it reports one.
    pub tokens_last_minute: u64,
    /// The tokens-per-minute limit, configured or reported by the provider.
    pub tokens_per_minute: Option<u64>,
    /// How the provider counts tokens, as learned from its answers.
    pub provider_count: ProviderCount,
}

/// One thing an embedder waits for.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Wait {
    /// The first request's answer, which tells how the provider counts
    /// tokens, before the others go.
    FirstAnswer,
    /// A pause the provider asked for (a 429's `retry-after`).
    ProviderPause {
        /// How long it still lasts.
        left: Duration,
    },
    /// Budget the provider's `x-ratelimit-*` headers show missing.
    ProviderHeadroom {
        /// How long until it refills.
        left: Duration,
    },
    /// The client's tokens-per-minute limiter.
    TokenLimit {
        /// How long until it lets the next request go.
        left: Duration,
    },
    /// The client's requests-per-minute limiter.
    RequestLimit {
        /// How long until it lets the next request go.
        left: Duration,
    },
    /// A batch backing off before it is sent again after an error.
    Retry {
        /// The batch, numbered from 1 over the embedder's lifetime.
        batch: u64,
        /// The attempt that failed.
        attempt: u32,
        /// How long until it is sent again.
        left: Duration,
        /// The error.
        error: String,
    },
    /// Answers to requests sent.
    Responses {
        /// How many requests are in flight.
        requests: usize,
        /// How long the oldest has been waiting.
        oldest: Duration,
    },
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| d.as_secs_f64();
        match self {
            Self::FirstAnswer => f.write_str("the first answer, to learn the provider's token count"),
            Self::ProviderPause { left } => write!(f, "a pause the provider asked for ({:.1} s left)", secs(left)),
            Self::ProviderHeadroom { left } => {
                write!(f, "the provider's rate limit, by its headers ({:.1} s left)", secs(left))
            }
            Self::TokenLimit { left } => write!(f, "the tokens-per-minute limit ({:.1} s left)", secs(left)),
            Self::RequestLimit { left } => write!(f, "the requests-per-minute limit ({:.1} s left)", secs(left)),
            Self::Retry { batch, attempt, left, error } => {
                write!(f, "a retry of batch {batch} after attempt {attempt} failed ({:.1} s left): {error}", secs(left))
            }
            Self::Responses { requests: 1, oldest } => write!(f, "1 answer (sent {:.1} s ago)", secs(oldest)),
            Self::Responses { requests, oldest } => {
                write!(f, "{requests} answers (the oldest sent {:.1} s ago)", secs(oldest))
            }
        }
    }
}

impl fmt::Display for EmbedStatus {
    /// One line: `412 requests, 2,304,117 tokens (49,230 in the last minute,
    /// limit 50,000), 3 retries, 1 answered 429; waiting for: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.metrics;
        let s = |n: u64| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} request{}, {} tokens ({} in the last minute",
            m.requests,
            s(m.requests),
            thousands(m.tokens),
            thousands(self.tokens_last_minute)
        )?;
        if let Some(limit) = self.tokens_per_minute {
            write!(f, ", limit {}", thousands(limit))?;
        }
        write!(
            f,
            "), {} retr{}, {} answered 429",
            m.retries,
            if m.retries == 1 { "y" } else { "ies" },
            m.rate_limited
        )?;
        if m.split_batches > 0 {
            write!(f, ", {} batches split", m.split_batches)?;
        }
        let count = &self.provider_count;
        if count.samples > 0 && (count.per_token != 1.0 || count.per_input != 0.0) {
            write!(f, "; provider counts {:.3}x + {:.1}/input", count.per_token, count.per_input)?;
        }
        if self.queued > 0 {
            write!(f, "; {} queued", self.queued)?;
        }
        if !self.waits.is_empty() {
            f.write_str("; waiting for: ")?;
            for (i, wait) in self.waits.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{wait}")?;
            }
        }
        Ok(())
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let status = EmbedStatus {
            metrics: Metrics { requests: 12, tokens: 50_100, retries: 2, rate_limited: 1, ..Metrics::default() },
            active: true,
            queued: 3,
            waits: vec![
                Wait::ProviderPause { left: Duration::from_millis(2_800) },
                Wait::Retry { batch: 7, attempt: 1, left: Duration::from_secs(1), error: "HTTP 503".into() },
            ],
            since_progress: Some(Duration::from_secs(3)),
            tokens_last_minute: 49_000,
            tokens_per_minute: Some(50_000),
            provider_count: ProviderCount { per_token: 1.2, per_input: 8.0, margin: 0.0, samples: 4 },
        };
        assert_eq!(
            status.to_string(),
            "12 requests, 50,100 tokens (49,000 in the last minute, limit 50,000), 2 retries, 1 answered 429; \
             provider counts 1.200x + 8.0/input; 3 queued; waiting for: a pause the provider asked for (2.8 s \
             left), a retry of batch 7 after attempt 1 failed (1.0 s left): HTTP 503"
        );
    }
}
