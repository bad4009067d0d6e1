//! What an [`OpenAiEmbedder`](super::OpenAiEmbedder) is doing, for
//! [`EmbedStatus`](crate::EmbedStatus): requests in flight, batches backing
//! off, the last answer, tokens accepted in the last minute.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::Wait;

/// A batch waiting to be sent again.
#[derive(Debug)]
struct Backoff {
    attempt: u32,
    until: Instant,
    error: String,
}

#[derive(Debug, Default)]
struct State {
    /// Send times of the requests in flight, by request number.
    in_flight: BTreeMap<u64, Instant>,
    next_request: u64,
    /// Batches backing off, by batch number.
    backoffs: BTreeMap<u64, Backoff>,
    next_batch: u64,
    /// Calls in progress.
    calls: usize,
    /// The last answer (or the start of the oldest call in progress, when
    /// later).
    last_progress: Option<Instant>,
    /// Provider tokens accepted, and when, over the last minute.
    accepted: VecDeque<(Instant, u64)>,
}

#[derive(Debug, Default)]
pub(crate) struct Monitor {
    state: Mutex<State>,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Monitor {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A call starts; it ends when the guard is dropped.
    pub(crate) fn call(&self) -> CallGuard<'_> {
        let mut state = self.state();
        if state.calls == 0 {
            state.last_progress = Some(Instant::now());
        }
        state.calls += 1;
        CallGuard(self)
    }

    /// A number for a new batch, from 1.
    pub(crate) fn batch(&self) -> u64 {
        let mut state = self.state();
        state.next_batch += 1;
        state.next_batch
    }

    /// A request is sent; it is in flight until the guard is dropped.
    pub(crate) fn sent(&self) -> RequestGuard<'_> {
        let mut state = self.state();
        state.next_request += 1;
        let id = state.next_request;
        state.in_flight.insert(id, Instant::now());
        RequestGuard { monitor: self, id }
    }

    /// A request got an answer (or failed for good): the call moves on.
    pub(crate) fn progress(&self) {
        self.state().last_progress = Some(Instant::now());
    }

    /// The provider accepted `tokens` of its own.
    pub(crate) fn accepted(&self, tokens: u64) {
        let now = Instant::now();
        let mut state = self.state();
        state.accepted.push_back((now, tokens));
        while state.accepted.front().is_some_and(|(at, _)| now.saturating_duration_since(*at) > MINUTE) {
            state.accepted.pop_front();
        }
    }

    /// Batch `batch` backs off until `until` after `attempt` failed with `error`.
    pub(crate) fn backoff(&self, batch: u64, attempt: u32, until: Instant, error: String) -> BackoffGuard<'_> {
        self.state().backoffs.insert(batch, Backoff { attempt, until, error });
        BackoffGuard { monitor: self, batch }
    }

    /// Whether a call is in progress, how long since it last moved on, the
    /// tokens accepted in the last minute, and what it waits for besides
    /// its turn (batches backing off, soonest first; then answers).
    pub(crate) fn snapshot(&self) -> (bool, Option<Duration>, u64, Vec<Wait>) {
        let now = Instant::now();
        let state = self.state();
        let active = state.calls > 0;
        let since = state.last_progress.filter(|_| active).map(|at| now.saturating_duration_since(at));
        let minute: u64 = state
            .accepted
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= MINUTE)
            .map(|(_, tokens)| tokens)
            .sum();
        let mut backoffs: Vec<(&u64, &Backoff)> = state.backoffs.iter().collect();
        backoffs.sort_by_key(|(_, b)| b.until);
        let mut waits: Vec<Wait> = backoffs
            .into_iter()
            .map(|(&batch, b)| Wait::Retry {
                batch,
                attempt: b.attempt,
                left: b.until.saturating_duration_since(now),
                error: b.error.clone(),
            })
            .collect();
        if let Some(oldest) = state.in_flight.values().min() {
            waits.push(Wait::Responses {
                requests: state.in_flight.len(),
                oldest: now.saturating_duration_since(*oldest),
            });
        }
        (active, since, minute, waits)
    }
}

pub(crate) struct CallGuard<'a>(&'a Monitor);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.calls = state.calls.saturating_sub(1);
    }
}

pub(crate) struct RequestGuard<'a> {
    monitor: &'a Monitor,
    id: u64,
}

impl Drop for RequestGuard<'_> {
    fn drop(&mut self) {
        self.monitor.state().in_flight.remove(&self.id);
    }
}

pub(crate) struct BackoffGuard<'a> {
    monitor: &'a Monitor,
    batch: u64,
}

impl Drop for BackoffGuard<'_> {
    fn drop(&mut self) {
        self.monitor.state().backoffs.remove(&self.batch);
    }
}
