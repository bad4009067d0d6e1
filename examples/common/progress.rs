//! Progress for `embed` and `index` where nobody watches a terminal, and a
//! stall watchdog everywhere.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use pyatlas::embed::Embedder;

/// How much to say while running.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ProgressArgs {
    /// Print nothing while running: no progress lines, no stall warnings.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Seconds between progress lines on stderr when it is not a terminal
    /// (a log file, CI, a service); a terminal gets a progress bar instead.
    #[arg(long, default_value_t = 10)]
    pub(crate) progress_every: u64,
    /// Say why, when no embedding batch has finished for this many seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) stall_after: u64,
}

/// Prints, until dropped: every `progress_every` seconds when stderr is not
/// a terminal, `<name>: <bar's position>/<length> <unit>, <bar's message>;
/// <embedder status>`; and, terminal or not, a warning when the embedder
/// has made no progress for `stall_after` seconds, saying what it waits for.
pub(crate) struct Reporter(Option<tokio::task::JoinHandle<()>>);

impl Reporter {
    pub(crate) fn start(
        args: &ProgressArgs,
        name: &'static str,
        unit: &'static str,
        bar: ProgressBar,
        embedder: Arc<dyn Embedder>,
    ) -> Self {
        if args.quiet {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            return Self(None);
        }
        let lines = (!std::io::stderr().is_terminal()).then(|| Duration::from_secs(args.progress_every.max(1)));
        let stall = Duration::from_secs(args.stall_after.max(1));
        let started = Instant::now();
        Self(Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let (mut last_line, mut last_warning) = (Instant::now(), None::<Instant>);
            loop {
                tick.tick().await;
                let status = embedder.status();
                if let Some(every) = lines
                    && last_line.elapsed() >= every
                {
                    last_line = Instant::now();
                    let mut line = format!(
                        "{name}: {}/{} {unit}, {:.0} s",
                        bar.position(),
                        bar.length().unwrap_or(0),
                        started.elapsed().as_secs_f64()
                    );
                    if !bar.message().is_empty() {
                        line.push_str(&format!(", {}", bar.message()));
                    }
                    if let Some(status) = &status {
                        line.push_str(&format!("; {status}"));
                    }
                    eprintln!("{line}");
                }
                let stalled = status.as_ref().and_then(|s| s.since_progress).filter(|since| *since >= stall);
                if let (Some(since), Some(status)) = (stalled, &status)
                    && last_warning.is_none_or(|at| at.elapsed() >= stall)
                {
                    last_warning = Some(Instant::now());
                    bar.suspend(|| {
                        eprintln!(
                            "{name}: stalled: no embedding batch has finished for {:.0} s; {status}",
                            since.as_secs_f64()
                        );
                    });
                }
            }
        })))
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}
