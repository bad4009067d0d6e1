//! The provider's token count, learned: providers of OpenAI-compatible APIs
//! count with other tokenizers, and some add tokens per input, so the
//! client's own count (tiktoken's) can be far from the count the provider
//! limits by.
//!
//! Every answer that says what a request cost the provider is a sample of
//! (tokens counted here, inputs, provider's tokens): the `usage` of a 200;
//! "Requested N" in a 429's message; and, from a provider that reports no
//! usage, the drop of its `x-ratelimit-remaining-tokens` across a request
//! sent alone since the previous answer (with the refill in between). The model fitted to each kind of
//! sample is
//!
//! ```text
//! provider ≈ per_token * ours + per_input * inputs
//! ```
//!
//! by least squares over the samples, each weighing 0.9 of the one after it
//! (a memory of about ten requests, so that a drifting provider is
//! followed). With too few or too alike samples for two parameters (all
//! batches with the same tokens per input), `per_input` is 0 and
//! `per_token` the ratio of the sums. `per_token` is held within
//! [`PER_TOKEN`], `per_input` within [`PER_INPUT`]: a provider reporting
//! nonsense cannot make the client send a thousand times too much or stop.
//!
//! Usage and charges (the other two) are fitted apart. The usage model is
//! the one used, scaled up when the charges say the provider took more than
//! it predicts (by the ratio of the charges' decayed mean to its prediction
//! there): a provider whose `usage` says less than its limiter charges is
//! paced by the charge. Without usage, the charges' model is used alone.
//!
//! Estimates carry a margin: the largest relative underestimate among the
//! last [`ERRORS`] predictions, checked against what the provider then
//! said, at most [`MAX_MARGIN`]. A provider whose count the model matches
//! (tiktoken itself, or a linear one) gets no margin and its whole budget.

use std::sync::Mutex;

/// How much each older sample weighs relative to the next.
const DECAY: f64 = 0.9;

/// Bounds of the tokens-per-token factor.
pub(crate) const PER_TOKEN: (f64, f64) = (0.25, 8.0);

/// Bounds of the tokens added per input.
pub(crate) const PER_INPUT: (f64, f64) = (0.0, 1024.0);

/// How many recent prediction errors set the margin.
const ERRORS: usize = 16;

/// The largest margin.
pub(crate) const MAX_MARGIN: f64 = 0.25;

/// The learned count, as [`EmbedStatus`](crate::EmbedStatus) shows it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ProviderCount {
    /// The provider's tokens per token counted here.
    pub per_token: f64,
    /// The provider's extra tokens per input.
    pub per_input: f64,
    /// The safety margin added to estimates (0.03: 3%).
    pub margin: f64,
    /// How many answers it was learned from.
    pub samples: u64,
}

impl Default for ProviderCount {
    /// Before any answer: the provider counts as tiktoken does.
    fn default() -> Self {
        Self { per_token: 1.0, per_input: 0.0, margin: 0.0, samples: 0 }
    }
}

impl ProviderCount {
    /// The provider's tokens for a request of `tokens` (counted here) in
    /// `inputs` inputs, margin included, rounded up.
    pub fn estimate(&self, tokens: u64, inputs: u64) -> u64 {
        let raw = self.per_token * tokens as f64 + self.per_input * inputs as f64;
        // Less a hair, so that a fit exact but for rounding is not one over.
        (raw * (1.0 + self.margin) - 1e-6).ceil().max(0.0) as u64
    }
}

/// Where a sample comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The `usage` of an answer.
    Usage,
    /// What its limiter charged: "Requested N" in a refusal, or the drop
    /// of the remaining tokens its headers report.
    Charged,
}

/// Decayed sums of the samples of one source, for the fit.
#[derive(Debug, Default)]
struct Sums {
    xx: f64,
    xn: f64,
    nn: f64,
    xy: f64,
    ny: f64,
    x: f64,
    n: f64,
    y: f64,
}

#[derive(Debug, Default)]
struct State {
    usage: Sums,
    refusals: Sums,
    model: ProviderCount,
    /// Relative underestimates of recent predictions, newest last.
    errors: Vec<f64>,
    /// The provider's tokens-per-minute limit, when it said.
    limit: Option<u64>,
}

/// The learned count of one embedder, shared by all its calls.
#[derive(Debug, Default)]
pub(crate) struct Calibration {
    state: Mutex<State>,
}

impl Calibration {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The model as it stands.
    pub(crate) fn model(&self) -> ProviderCount {
        self.state().model
    }

    /// The provider's tokens for a request, margin included.
    pub(crate) fn estimate(&self, tokens: u64, inputs: u64) -> u64 {
        self.state().model.estimate(tokens, inputs)
    }

    /// The tokens-per-minute limit the provider reported, if it did.
    pub(crate) fn provider_limit(&self) -> Option<u64> {
        self.state().limit
    }

    /// Records the tokens-per-minute limit the provider reported.
    pub(crate) fn set_provider_limit(&self, limit: u64) {
        if limit > 0 {
            self.state().limit = Some(limit);
        }
    }

    /// Learns from one answer: a request of `tokens` counted here in
    /// `inputs` inputs cost the provider `provider` tokens.
    pub(crate) fn observe(&self, source: Source, tokens: u64, inputs: u64, provider: u64) {
        if tokens == 0 || inputs == 0 || provider == 0 {
            return;
        }
        let mut state = self.state();
        // How wrong the model was, before it learns from this answer.
        let unmargined = ProviderCount { margin: 0.0, ..state.model };
        let predicted = unmargined.estimate(tokens, inputs) as f64;
        if state.model.samples > 0 && predicted > 0.0 {
            let error = (provider as f64 / predicted - 1.0).max(0.0);
            state.errors.push(error);
            if state.errors.len() > ERRORS {
                state.errors.remove(0);
            }
        }
        let sums = match source {
            Source::Usage => &mut state.usage,
            Source::Charged => &mut state.refusals,
        };
        sums.add(tokens as f64, inputs as f64, provider as f64);
        let (per_token, per_input) = match (fit(&state.usage), fit(&state.refusals)) {
            (Some((a, b)), None) | (None, Some((a, b))) => (a, b),
            (Some((a, b)), Some(_)) => {
                let r = &state.refusals;
                let predicted = a * r.x + b * r.n;
                let scale = if predicted > 0.0 { (r.y / predicted).max(1.0) } else { 1.0 };
                ((a * scale).min(PER_TOKEN.1), (b * scale).min(PER_INPUT.1))
            }
            (None, None) => (1.0, 0.0),
        };
        let margin = state.errors.iter().copied().fold(0.0, f64::max).min(MAX_MARGIN);
        state.model = ProviderCount { per_token, per_input, margin, samples: state.model.samples + 1 };
    }
}

impl Sums {
    fn add(&mut self, x: f64, n: f64, y: f64) {
        for sum in [
            &mut self.xx,
            &mut self.xn,
            &mut self.nn,
            &mut self.xy,
            &mut self.ny,
            &mut self.x,
            &mut self.n,
            &mut self.y,
        ] {
            *sum *= DECAY;
        }
        self.xx += x * x;
        self.xn += x * n;
        self.nn += n * n;
        self.xy += x * y;
        self.ny += n * y;
        self.x += x;
        self.n += n;
        self.y += y;
    }
}

/// Least squares of `y = a x + b n` over the sums, within bounds; the ratio
/// of the sums when the two columns cannot be told apart. None without
/// samples.
fn fit(s: &Sums) -> Option<(f64, f64)> {
    if s.x <= 0.0 {
        return None;
    }
    let ratio = (s.y / s.x).clamp(PER_TOKEN.0, PER_TOKEN.1);
    let det = s.xx * s.nn - s.xn * s.xn;
    // Relative to the scale of the sums: batches whose tokens per input
    // hardly vary make the system singular in all but rounding.
    if det <= 1e-6 * s.xx * s.nn {
        return Some((ratio, 0.0));
    }
    let a = (s.xy * s.nn - s.xn * s.ny) / det;
    let b = (s.xx * s.ny - s.xn * s.xy) / det;
    if !(a.is_finite() && b.is_finite()) || b < PER_INPUT.0 || a < PER_TOKEN.0 {
        return Some((ratio, 0.0));
    }
    Some((a.min(PER_TOKEN.1), b.min(PER_INPUT.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that counts 1.2x plus 8 per input, and batches of varied
    /// shapes: the model finds it exactly, with no margin left.
    #[test]
    fn a_linear_provider_is_learned_exactly() {
        let calibration = Calibration::default();
        assert_eq!(calibration.estimate(1000, 10), 1000);
        let provider = |tokens: u64, inputs: u64| (tokens as f64 * 1.2) as u64 + 8 * inputs;
        for (tokens, inputs) in [(5000, 40), (12000, 90), (800, 3), (20000, 300), (7000, 12), (3000, 60)] {
            calibration.observe(Source::Usage, tokens, inputs, provider(tokens, inputs));
        }
        let model = calibration.model();
        assert!((model.per_token - 1.2).abs() < 1e-3, "{model:?}");
        assert!((model.per_input - 8.0).abs() < 0.05, "{model:?}");
        assert!(model.margin < 0.001, "{model:?}");
        let estimate = calibration.estimate(10_000, 100);
        assert!(estimate.abs_diff(provider(10_000, 100)) <= 2, "{estimate}");
    }

    /// Usage that says less than the refusals: the refusals pace.
    #[test]
    fn the_larger_of_usage_and_refusals() {
        let calibration = Calibration::default();
        calibration.observe(Source::Usage, 1000, 10, 1000);
        calibration.observe(Source::Charged, 1000, 10, 1300);
        assert!((calibration.model().per_token - 1.3).abs() < 1e-9, "{:?}", calibration.model());
        calibration.observe(Source::Usage, 1000, 10, 1000);
        assert!((calibration.model().per_token - 1.3).abs() < 1e-9, "{:?}", calibration.model());
    }

    /// Batches all alike cannot tell the two apart: the ratio of the sums.
    #[test]
    fn alike_batches_give_a_ratio() {
        let calibration = Calibration::default();
        for _ in 0..5 {
            calibration.observe(Source::Usage, 1000, 10, 1500);
        }
        let model = calibration.model();
        assert_eq!(model.per_input, 0.0);
        assert!((model.per_token - 1.5).abs() < 1e-9, "{model:?}");
        assert_eq!(calibration.estimate(2000, 20), 3000);
    }

    /// A noisy provider leaves a margin of its largest recent miss; absurd
    /// reports stay within bounds.
    #[test]
    fn noise_gives_a_margin_and_nonsense_is_bounded() {
        let calibration = Calibration::default();
        for (i, provider) in [1000, 1100, 950, 1080, 1000].into_iter().enumerate() {
            calibration.observe(Source::Usage, 1000, 10 + i as u64, provider);
        }
        let model = calibration.model();
        assert!(model.margin > 0.0 && model.margin <= MAX_MARGIN, "{model:?}");

        let absurd = Calibration::default();
        absurd.observe(Source::Charged, 10, 1, 1_000_000);
        absurd.observe(Source::Charged, 10, 1, 1_000_000);
        let model = absurd.model();
        assert!(model.per_token <= PER_TOKEN.1 && model.per_input <= PER_INPUT.1, "{model:?}");
        assert_eq!(model.margin, MAX_MARGIN);
        let tiny = Calibration::default();
        tiny.observe(Source::Usage, 1_000_000, 1, 1);
        assert_eq!(tiny.model().per_token, PER_TOKEN.0);
        // Zeros say nothing.
        tiny.observe(Source::Usage, 0, 0, 0);
        assert_eq!(tiny.model().samples, 1);
    }
}
