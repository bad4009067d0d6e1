//! Progress as typed events, for a terminal's progress bar or a server's
//! event stream alike.

use pyatlas_store::RunId;
use serde::{Deserialize, Serialize};

/// A stage of a run, in the order they start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stage {
    /// Walking the tree for Python files.
    Discover,
    /// Parsing, classifying and chunking on the worker pool, while batches
    /// of files and chunks are stored and embedded as they come.
    Files,
    /// Linking the call and import graphs and checking drift.
    Drift,
    /// Storing the graphs' edges and the drift findings.
    Edges,
    /// Completing the run (the vector index is built on its first run).
    Complete,
}

impl Stage {
    /// The name used in JSON and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discover => "discover",
            Self::Files => "files",
            Self::Drift => "drift",
            Self::Edges => "edges",
            Self::Complete => "complete",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts so far, sent after every stored batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Progress {
    /// Files stored.
    pub files_done: u64,
    /// Files found.
    pub files_total: u64,
    /// Chunks stored.
    pub chunks: u64,
    /// Chunks whose vectors were already in the store.
    pub cached: u64,
    /// Chunks embedded by the embedder in this run.
    pub embedded: u64,
    /// Chunks that could not be embedded.
    pub failed: u64,
}

/// What happened in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum IndexEvent {
    /// The run began (or resumed one a dead process left unfinished).
    Started {
        /// The run.
        run: RunId,
        /// It continues an earlier, unfinished run of the same configuration.
        resumed: bool,
        /// Python files found.
        files: u64,
    },
    /// A stage began.
    Stage {
        /// Which.
        stage: Stage,
    },
    /// A batch was stored and embedded.
    Progress(Progress),
    /// Something worth telling that does not stop the run (a cache that
    /// could not be read, rows refused by validation).
    Warning {
        /// What.
        message: String,
    },
}

impl IndexEvent {
    /// The event's name, as its JSON's `event` field gives it: `started`,
    /// `stage`, `progress` or `warning`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::Stage { .. } => "stage",
            Self::Progress(_) => "progress",
            Self::Warning { .. } => "warning",
        }
    }
}

/// Receives a run's events, on the task that drives the run: keep it quick
/// (draw, or hand the event to a channel).
pub trait IndexObserver: Send + Sync {
    /// One event.
    fn event(&self, event: &IndexEvent);
}

impl<F: Fn(&IndexEvent) + Send + Sync> IndexObserver for F {
    fn event(&self, event: &IndexEvent) {
        self(event);
    }
}

/// An observer that ignores everything.
pub(crate) struct Silent;

impl IndexObserver for Silent {
    fn event(&self, _: &IndexEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_json_tag() {
        let events = [
            IndexEvent::Started { run: RunId::new(1), resumed: false, files: 2 },
            IndexEvent::Stage { stage: Stage::Files },
            IndexEvent::Progress(Progress::default()),
            IndexEvent::Warning { message: "m".to_owned() },
        ];
        for event in events {
            let json = serde_json::to_value(&event).expect("an event is JSON");
            assert_eq!(json["event"], event.kind(), "{json}");
        }
    }
}
