//! The single FIFO dispatcher: every request waits its turn here for the
//! provider's pause, the headroom its headers show, and the `governor`
//! limiters (tokens as weighted cells), in arrival order, so that a large
//! batch cannot starve behind small ones.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::wire::{Bucket, Headroom};
use crate::EmbedError;

/// `governor`'s clock on tokio's time, so that limiters follow tokio's
/// paused clock in tests.
#[derive(Clone, Debug)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(Instant::now().saturating_duration_since(self.origin))
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// The share of the provider's refill rate the limiters use.
///
/// Requests dispatched in one order can reach the provider in another (a
/// large body behind a small one); while the provider's bucket is full, the
/// refill it would have credited between the two is lost, so its bucket
/// drifts a few hundred tokens below the client's model, and a request sent
/// on the very edge is refused. Refilling 1% slower than the limit absorbs
/// that drift (see `benches/README.md`).
const REFILL_SHARE: f64 = 0.99;

fn per_minute(limit: NonZeroU32, clock: &TokioClock) -> Limiter {
    // A bucket of a minute's worth (the provider's), refilled continuously
    // at slightly under the limit.
    let period = Duration::from_secs_f64(60.0 / (f64::from(limit.get()) * REFILL_SHARE));
    let quota = Quota::with_period(period).map_or_else(|| Quota::per_minute(limit), |q| q.allow_burst(limit));
    RateLimiter::direct_with_clock(quota, clock.clone())
}

/// A request's place in the dispatch order, used to read headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket {
    /// Tokens dispatched before and including this request.
    tokens_through: u64,
    /// Requests dispatched before and including this request.
    requests_through: u64,
    /// When it was dispatched.
    at: Instant,
}

/// The last headroom the provider reported, and what was sent since.
#[derive(Debug)]
struct Reported {
    headroom: Headroom,
    ticket: Ticket,
}

#[derive(Debug)]
struct State {
    pause_until: Option<Instant>,
    reported: Option<Reported>,
    tokens_dispatched: u64,
    requests_dispatched: u64,
}

/// The dispatcher of one embedder, shared by all its calls.
pub(crate) struct Dispatcher {
    clock: TokioClock,
    requests: Option<Limiter>,
    tokens: Option<Limiter>,
    adaptive: bool,
    /// Held by the request whose turn it is, for as long as it waits.
    /// tokio's Mutex is fair: waiters get it in the order they asked.
    queue: Mutex<()>,
    /// What responses report; locked only briefly, never across a wait, so
    /// that responses are never held up by a request waiting its turn.
    state: std::sync::Mutex<State>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("requests_limited", &self.requests.is_some())
            .field("tokens_limited", &self.tokens.is_some())
            .field("adaptive", &self.adaptive)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub(crate) fn new(rpm: Option<NonZeroU32>, tpm: Option<NonZeroU32>, adaptive: bool) -> Self {
        let clock = TokioClock { origin: Instant::now() };
        Self {
            requests: rpm.map(|limit| per_minute(limit, &clock)),
            tokens: tpm.map(|limit| per_minute(limit, &clock)),
            adaptive,
            clock,
            queue: Mutex::new(()),
            state: std::sync::Mutex::new(State {
                pause_until: None,
                reported: None,
                tokens_dispatched: 0,
                requests_dispatched: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a request of `tokens` tokens may go, in FIFO order with
    /// all other requests. Returns its ticket and how long it waited, or
    /// the deadline error when the wait would pass `deadline`.
    pub(crate) async fn turn(
        &self,
        tokens: u32,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(Ticket, Duration), EmbedError> {
        let _turn = self.queue.lock().await;
        let started = Instant::now();
        let sleep = |until: Instant| async move {
            if let Some((at, deadline)) = deadline
                && until > at
            {
                return Err(EmbedError::DeadlineExceeded { deadline });
            }
            tokio::time::sleep_until(until).await;
            Ok(())
        };

        // A pause the provider asked for, or missing headroom; news may
        // arrive while we wait, so look again after every sleep.
        loop {
            let until = {
                let state = self.state();
                let headroom = if self.adaptive {
                    state.reported.as_ref().and_then(|r| state.headroom_wait(r, tokens))
                } else {
                    None
                };
                state.pause_until.max(headroom)
            };
            match until {
                Some(until) if until > Instant::now() => sleep(until).await?,
                _ => break,
            }
        }
        // Tokens first: they are the scarce cells. Cells are taken only once
        // the request is sure to go, right after.
        if let Some(limiter) = &self.tokens {
            let cells = NonZeroU32::new(tokens.max(1)).unwrap_or(NonZeroU32::MIN);
            // Batches are cut to the limit and longer inputs refused before
            // they get here, so the capacity error cannot happen.
            while let Ok(Err(not_until)) = limiter.check_n(cells) {
                sleep(Instant::now() + not_until.wait_time_from(self.clock.now())).await?;
            }
        }
        if let Some(limiter) = &self.requests {
            while let Err(not_until) = limiter.check() {
                sleep(Instant::now() + not_until.wait_time_from(self.clock.now())).await?;
            }
        }
        let mut state = self.state();
        state.tokens_dispatched += u64::from(tokens);
        state.requests_dispatched += 1;
        let ticket = Ticket {
            tokens_through: state.tokens_dispatched,
            requests_through: state.requests_dispatched,
            at: Instant::now(),
        };
        Ok((ticket, started.elapsed()))
    }

    /// Records the headroom a response to `ticket` reported, unless a later
    /// request already reported.
    pub(crate) fn report(&self, ticket: Ticket, headroom: Headroom) {
        let mut state = self.state();
        let newer = state.reported.as_ref().is_none_or(|r| ticket.requests_through > r.ticket.requests_through);
        if newer {
            state.reported = Some(Reported { headroom, ticket });
        }
    }

    /// Holds every request until `until`, as a 429 asks.
    pub(crate) fn pause(&self, until: Instant) {
        let mut state = self.state();
        state.pause_until = Some(state.pause_until.map_or(until, |current| current.max(until)));
    }
}

impl State {
    /// When the reported headroom, less what was sent since, and plus what
    /// refilled since, leaves room for `tokens` more (None: now).
    ///
    /// A report describes the provider's buckets as of the reporting
    /// request's arrival, which follows dispatch order; everything
    /// dispatched after that request is counted against it.
    fn headroom_wait(&self, reported: &Reported, tokens: u32) -> Option<Instant> {
        let since = reported.ticket;
        let sent_tokens = self.tokens_dispatched - since.tokens_through;
        let sent_requests = self.requests_dispatched - since.requests_through;
        let token_ready = ready_at(&reported.headroom.tokens, since.at, sent_tokens + u64::from(tokens));
        let request_ready = ready_at(&reported.headroom.requests, since.at, sent_requests + 1);
        token_ready.max(request_ready)
    }
}

/// When `bucket`, reported at `at`, holds `need` units, assuming it refills
/// linearly to its limit by its reset time. None when it holds them at `at`
/// or the report says nothing about this bucket.
fn ready_at(bucket: &Bucket, at: Instant, need: u64) -> Option<Instant> {
    let remaining = bucket.remaining?;
    if remaining >= need {
        return None;
    }
    let reset = bucket.reset.unwrap_or(Duration::from_secs(60));
    let missing = need - remaining;
    match bucket.limit {
        Some(limit) if limit > remaining => {
            // Refill rate: (limit - remaining) per `reset`.
            let fraction = (missing as f64 / (limit - remaining) as f64).min(1.0);
            Some(at + reset.mul_f64(fraction))
        }
        _ => Some(at + reset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(remaining: u64, limit: u64, reset_ms: u64) -> Bucket {
        Bucket { remaining: Some(remaining), limit: Some(limit), reset: Some(Duration::from_millis(reset_ms)) }
    }

    #[test]
    fn ready_at_follows_the_refill() {
        let at = Instant::now();
        assert_eq!(ready_at(&bucket(500, 1000, 1000), at, 400), None);
        // 500 missing of the 900 that refill in 900 ms.
        assert_eq!(ready_at(&bucket(100, 1000, 900), at, 600), Some(at + Duration::from_millis(500)));
        // More than the limit: wait for the full reset.
        assert_eq!(ready_at(&bucket(0, 1000, 900), at, 5000), Some(at + Duration::from_millis(900)));
        // No limit reported: wait for the reset.
        let unknown = Bucket { remaining: Some(0), limit: None, reset: Some(Duration::from_millis(300)) };
        assert_eq!(ready_at(&unknown, at, 1), Some(at + Duration::from_millis(300)));
        assert_eq!(ready_at(&Bucket::default(), at, 1), None);
    }
}
