//! The single FIFO dispatcher: every request waits its turn here for the
//! provider's pause, the headroom its headers show, and the `governor`
//! limiters (tokens as weighted cells), in arrival order, so that a large
//! batch cannot starve behind small ones.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::wire::{Bucket, Headroom};
use crate::{EmbedError, Wait};

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

/// What the request whose turn it is waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holdup {
    Pause,
    Headroom,
    Tokens,
    Requests,
}

#[derive(Debug)]
struct State {
    pause_until: Option<Instant>,
    reported: Option<Reported>,
    tokens_dispatched: u64,
    requests_dispatched: u64,
    /// Whether any request has been answered (or failed).
    answered: bool,
    /// Whether the first request has been let through.
    probing: bool,
    /// What the request whose turn it is waits for, and until when.
    holdup: Option<(Holdup, Option<Instant>)>,
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
    /// Signalled when the first request is settled.
    first_answer: Notify,
    /// Requests waiting for their turn.
    queued: AtomicUsize,
    /// Requests waiting for the first answer.
    gated: AtomicUsize,
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
                answered: false,
                probing: false,
                holdup: None,
            }),
            first_answer: Notify::new(),
            queued: AtomicUsize::new(0),
            gated: AtomicUsize::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets the embedder's first request through at once and holds the
    /// others until it is [settled](Self::settled), so that its answer can
    /// say how the provider counts before the budget is spent (and before
    /// their sizes are estimated). Then lets everyone through.
    pub(crate) async fn admit(&self, deadline: Option<(Instant, Duration)>) -> Result<(), EmbedError> {
        loop {
            let notified = self.first_answer.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state();
                if state.answered {
                    return Ok(());
                }
                if !state.probing {
                    state.probing = true;
                    return Ok(());
                }
            }
            self.gated.fetch_add(1, Ordering::Relaxed);
            let _gated = Queued(&self.gated);
            match deadline {
                Some((at, deadline)) => tokio::time::timeout_at(at, notified)
                    .await
                    .map_err(|_| EmbedError::DeadlineExceeded { deadline })?,
                None => notified.await,
            }
        }
    }

    /// Waits until a request may go, in FIFO order with all other requests.
    /// `size` says what it weighs in the provider's tokens, asked again
    /// after every wait (answers that arrive meanwhile teach the count), or
    /// None when it has become too large to go as it is. Returns its ticket,
    /// how long it waited and the tokens it went with; None when `size`
    /// said so (nothing taken from the limiters); the deadline error when
    /// the wait would pass `deadline`.
    ///
    /// `charge` is false for a request sent again (or a part of one): its
    /// tokens were taken from the limiter when it was first sent, and a
    /// refused request cost the provider nothing, so taking them again
    /// would leave the limiter's model of the provider's budget short. The
    /// provider's pause, the headroom its headers show and the
    /// requests-per-minute limiter hold every request, each one being a
    /// request the provider counts.
    pub(crate) async fn turn(
        &self,
        size: &(dyn Fn() -> Option<u32> + Sync),
        charge: bool,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Option<(Ticket, Duration, u32)>, EmbedError> {
        self.queued.fetch_add(1, Ordering::Relaxed);
        let _queued = Queued(&self.queued);
        // A request already paid for does not queue behind requests waiting
        // for the tokens it does not need.
        let _turn = if charge { Some(self.queue.lock().await) } else { None };
        let started = Instant::now();
        let result = self.wait(size, charge, deadline).await;
        if charge {
            self.state().holdup = None;
        }
        let Some(tokens) = result? else { return Ok(None) };
        let mut state = self.state();
        state.tokens_dispatched += u64::from(tokens);
        state.requests_dispatched += 1;
        let ticket = Ticket {
            tokens_through: state.tokens_dispatched,
            requests_through: state.requests_dispatched,
            at: Instant::now(),
        };
        Ok(Some((ticket, started.elapsed(), tokens)))
    }

    async fn wait(
        &self,
        size: &(dyn Fn() -> Option<u32> + Sync),
        charge: bool,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Option<u32>, EmbedError> {
        let past = |until: Instant| matches!(deadline, Some((at, _)) if until > at);
        let expired = || EmbedError::DeadlineExceeded { deadline: deadline.map_or(Duration::ZERO, |(_, d)| d) };
        let sleep = |holdup: Holdup, until: Instant| async move {
            if past(until) {
                return Err(expired());
            }
            if charge {
                // The first in the queue speaks for it.
                self.state().holdup = Some((holdup, Some(until)));
            }
            tokio::time::sleep_until(until).await;
            Ok(())
        };

        // A pause the provider asked for, or missing headroom; news may
        // arrive while we wait, so look again after every sleep.
        loop {
            let Some(tokens) = size() else { return Ok(None) };
            let until = {
                let state = self.state();
                let headroom = if self.adaptive {
                    state.reported.as_ref().and_then(|r| state.headroom_wait(r, tokens))
                } else {
                    None
                };
                match (state.pause_until, headroom) {
                    (Some(pause), Some(room)) if room > pause => Some((Holdup::Headroom, room)),
                    (Some(pause), _) => Some((Holdup::Pause, pause)),
                    (None, Some(room)) => Some((Holdup::Headroom, room)),
                    (None, None) => None,
                }
            };
            match until {
                Some((holdup, until)) if until > Instant::now() => sleep(holdup, until).await?,
                _ => break,
            }
        }
        // Tokens first: they are the scarce cells. Cells are taken only once
        // the request is sure to go, right after.
        let Some(mut tokens) = size() else { return Ok(None) };
        if charge && let Some(limiter) = &self.tokens {
            // Batches are cut to the limit and longer inputs refused before
            // they get here, so the capacity error cannot happen.
            while let Ok(Err(not_until)) = limiter.check_n(NonZeroU32::new(tokens.max(1)).unwrap_or(NonZeroU32::MIN)) {
                sleep(Holdup::Tokens, Instant::now() + not_until.wait_time_from(self.clock.now())).await?;
                let Some(now) = size() else { return Ok(None) };
                tokens = now;
            }
        }
        if let Some(limiter) = &self.requests {
            while let Err(not_until) = limiter.check() {
                sleep(Holdup::Requests, Instant::now() + not_until.wait_time_from(self.clock.now())).await?;
            }
        }
        Ok(Some(tokens))
    }

    /// Marks a request as settled (answered, failed without an answer, or
    /// given up before it was sent): the first one lets the others go.
    pub(crate) fn settled(&self) {
        let mut state = self.state();
        if !state.answered {
            state.answered = true;
            drop(state);
            self.first_answer.notify_waiters();
        }
    }

    /// Requests waiting for their turn, and what the first of them waits for.
    pub(crate) fn waiting(&self) -> (usize, Vec<Wait>) {
        let queued = self.queued.load(Ordering::Relaxed);
        let now = Instant::now();
        let state = self.state();
        let mut waits = Vec::new();
        if self.gated.load(Ordering::Relaxed) > 0 {
            waits.push(Wait::FirstAnswer);
        }
        // Every request waits for a pause, queued or sent again.
        if let Some(until) = state.pause_until.filter(|&until| until > now) {
            waits.push(Wait::ProviderPause { left: until - now });
        }
        if let Some((holdup, until)) = state.holdup {
            let left = until.map_or(Duration::ZERO, |u| u.saturating_duration_since(now));
            match holdup {
                Holdup::Pause => {}
                Holdup::Headroom => waits.push(Wait::ProviderHeadroom { left }),
                Holdup::Tokens => waits.push(Wait::TokenLimit { left }),
                Holdup::Requests => waits.push(Wait::RequestLimit { left }),
            }
        }
        (queued, waits)
    }

    /// Records the headroom a response to `ticket` reported, unless a later
    /// request already reported (reports steer the waits only when the
    /// dispatcher is adaptive). Returns what the request was charged, when
    /// the headers tell: it is the only request sent since the previous
    /// report, whose remaining tokens, plus the refill since, less this
    /// report's, are its charge (unless the bucket may have been full
    /// meanwhile, when refill was lost).
    pub(crate) fn report(&self, ticket: Ticket, headroom: Headroom) -> Option<u64> {
        let mut state = self.state();
        let previous = state.reported.as_ref().map(|r| (r.ticket, r.headroom.tokens));
        let newer = previous.is_none_or(|(before, _)| ticket.requests_through > before.requests_through);
        if newer {
            state.reported = Some(Reported { headroom, ticket });
        }
        drop(state);
        let (before, bucket) = previous?;
        if ticket.requests_through != before.requests_through + 1 {
            return None;
        }
        let (was, limit, now) = (bucket.remaining?, bucket.limit?, headroom.tokens.remaining?);
        let per_second = match bucket.reset {
            Some(reset) if limit > was && !reset.is_zero() => (limit - was) as f64 / reset.as_secs_f64(),
            _ => limit as f64 / 60.0,
        };
        let refill = per_second * ticket.at.saturating_duration_since(before.at).as_secs_f64();
        if was as f64 + refill >= limit as f64 * 0.95 {
            return None;
        }
        let charged = was as f64 + refill - now as f64;
        (charged >= 1.0).then(|| charged.round() as u64)
    }

    /// Holds every request until `until`, as a 429 asks.
    pub(crate) fn pause(&self, until: Instant) {
        let mut state = self.state();
        state.pause_until = Some(state.pause_until.map_or(until, |current| current.max(until)));
    }
}

/// Counts a request out of a queue however its wait ends.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
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
/// linearly: at 99% of the rate its reset time implies ((limit - remaining) per
/// `reset`), or a limit per minute when it was full. None when it holds
/// them at `at` or the report says nothing about this bucket. `need` can be
/// more than the limit (what was sent since the report counts): it is met
/// as the refill comes in.
fn ready_at(bucket: &Bucket, at: Instant, need: u64) -> Option<Instant> {
    let remaining = bucket.remaining?;
    if remaining >= need {
        return None;
    }
    let missing = (need - remaining) as f64;
    let per_second = match (bucket.limit, bucket.reset) {
        (Some(limit), Some(reset)) if limit > remaining && !reset.is_zero() => {
            (limit - remaining) as f64 / reset.as_secs_f64()
        }
        (Some(limit), _) if limit > 0 => limit as f64 / 60.0,
        // No limit reported: wait for the reset.
        _ => return Some(at + bucket.reset.unwrap_or(Duration::from_secs(60))),
    };
    // Slightly slower than that, as the limiters refill (see REFILL_SHARE).
    Some(at + Duration::from_secs_f64((missing / (per_second * REFILL_SHARE)).min(3600.0)))
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
        let close = |got: Option<Instant>, millis: f64| {
            let want = at + Duration::from_secs_f64(millis / 1000.0 / REFILL_SHARE);
            assert!(got.is_some_and(|g| g.max(want) - g.min(want) < Duration::from_micros(10)), "{got:?} {millis}");
        };
        close(ready_at(&bucket(100, 1000, 900), at, 600), 500.0);
        // More than the limit (what was sent since counts): as it refills.
        close(ready_at(&bucket(0, 1000, 900), at, 5000), 4500.0);
        // Full, so no reset time: a limit per minute.
        close(ready_at(&bucket(1000, 1000, 0), at, 1500), 30_000.0);
        // No limit reported: wait for the reset.
        let unknown = Bucket { remaining: Some(0), limit: None, reset: Some(Duration::from_millis(300)) };
        assert_eq!(ready_at(&unknown, at, 1), Some(at + Duration::from_millis(300)));
        assert_eq!(ready_at(&Bucket::default(), at, 1), None);
    }
}
