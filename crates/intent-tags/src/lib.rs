//! Intent tags and drift: architectural intent written into Python code,
//! checked against what the code does.
//!
//! Developers tag code in comments and docstrings:
//!
//! ```python
//! """Orders in PostgreSQL.
//!
//! @layer:services
//! """
//!
//! # @intent:parallel @parallel:data -- one request per SKU
//! def warm(skus):
//!     with ThreadPoolExecutor() as pool:
//!         list(pool.map(fetch, skus))
//! ```
//!
//! and [`check`] reports the drift, each finding with a stable rule id, a
//! severity, a message and evidence with locations:
//!
//! | rule | what it finds |
//! |---|---|
//! | D001 | parallel intent, but no concurrency primitive (itself or through its calls) |
//! | D002 | `@parallel:data` that maps nothing over data, `@parallel:task` that only maps |
//! | D003 | concurrency without declared intent (with `require_parallel_intent`) |
//! | D004 | `@domain:X` that the classifier does not find |
//! | D005 | a layer importing from a layer above it, directly or through a chain |
//! | D006 | `@intent:pure` / `@intent:no-io` on code that does I/O |
//! | D007 | parallel code writing shared state without a lock in sight |
//! | D008 | a stale tag, rule or suppression |
//!
//! Findings are suppressed with `# pyatlas: ignore[D001] -- reason` on the
//! line or among a unit's tag lines (an unused suppression is a D008), and a
//! [`Baseline`] accepts existing findings so that only new drift fails.
//! Reports render as text with snippets, JSON, SARIF 2.1.0 and Markdown.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let root = tempfile::tempdir()?;
//! std::fs::write(root.path().join("jobs.py"), "# @intent:parallel\ndef run(items):\n    return [x * 2 for x in items]\n")?;
//! let report = pyatlas_intent_tags::check_codebase(root.path(), &Default::default())?;
//! assert_eq!(report.findings[0].rule, pyatlas_intent_tags::RuleId::D001);
//! assert!(report.fails());
//! # Ok(()) }
//! ```

mod config;
mod drift;
mod facts;
mod report;
mod tags;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pyatlas_classifier::{Classifier, RuleClassifier, Rules};
use pyatlas_graph::InternalRoots;
use pyatlas_parser::{Config, discover, parse_files};

pub use config::{IntentConfig, RuleDomains};
pub use drift::{
    Baseline, CodebaseFacts, CodebaseFactsBuilder, Diagnostic, DriftReport, Evidence, Finding, RuleId, Severity,
    TagRef, check,
};
pub use facts::{FileDomains, FileFacts, FileSummary, KeptDomain, UnitFacts, UnitSummary};
pub use tags::{FileTags, KeySpec, Suppression, Tag, TagDiagnostic, TagSource, Vocabulary, read_tags};

/// An invalid `[intent]` configuration, with its file and what is wrong
/// (the key, and the line where known).
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
#[non_exhaustive]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// What stops a drift check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The classifier's rules are invalid.
    #[error("the classifier's rules")]
    Rules(#[from] pyatlas_classifier::Error),
    /// The codebase cannot be read.
    #[error("cannot read the codebase")]
    Parse(#[from] pyatlas_parser::Error),
}

impl ConfigError {
    pub(crate) fn new(path: &Path, message: String) -> Self {
        Self { path: path.to_path_buf(), message }
    }
}

/// Parses, classifies and checks the codebase at `root`: the whole drift
/// analysis. The classifier's rules come from the project's configuration
/// (`pyatlas.toml` or `pyproject.toml` at `root`).
///
/// # Errors
/// An unreadable root or an invalid classifier configuration.
pub fn check_codebase(root: &Path, config: &IntentConfig) -> Result<DriftReport, Error> {
    let (rules, _) = Rules::for_root(root)?;
    let known: BTreeSet<String> = rules.domains.iter().map(|d| d.name.clone()).collect();
    config.check_domains(&known)?;
    let classifier = RuleClassifier::new(rules);
    let parse_config = Config::default();
    let files = discover(root, &parse_config).map_err(pyatlas_parser::Error::from)?.files;
    let roots = InternalRoots::new(files.iter().map(|f| f.module.as_str()));
    let mut facts = Vec::with_capacity(files.len());
    parse_files(
        &files,
        &parse_config,
        |parsed| FileFacts::gather(&parsed, &classifier.classify(parsed.record()), config, &roots),
        |f| facts.push(f),
    )
    .map_err(pyatlas_parser::Error::from)?;
    Ok(check(&CodebaseFacts::link(facts), config, &known))
}
