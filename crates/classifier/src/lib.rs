//! Explainable domain classification of Python modules and code units.
//!
//! `pyatlas-classifier` tells what each module and each class, function or
//! method of a codebase does (talks to a database, serves HTTP, runs work
//! concurrently, ...), with a score in `[0, 1]` and the evidence: what
//! matched, at which line. It reads the facts extracted by
//! [`pyatlas_parser`], resolved through the module's import bindings, so
//! `import numpy as np; np.array(...)` is the call `numpy.array` and
//! `from concurrent.futures import ThreadPoolExecutor as TPE; TPE()` is
//! `concurrent.futures.ThreadPoolExecutor`.
//!
//! The rules are data: [`DEFAULT_RULES`] is a TOML table of domains and
//! patterns shipped with the crate (imports, calls, decorators, base
//! classes, unit names, module names), which a project extends or overrides
//! in `pyatlas.toml` (`[classifier]`) or `pyproject.toml`
//! (`[tool.pyatlas.classifier]`); see [`Rules::for_root`].
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pyatlas_classifier::{Classifier, RuleClassifier};
//! use pyatlas_parser::{SourceFile, SourceParser};
//!
//! let source = b"import numpy as np\n\ndef norm(xs):\n    return np.sqrt(np.sum(xs * xs))\n";
//! let mut parser = SourceParser::new(&Default::default())?;
//! let parsed = parser.parse_bytes(&SourceFile::in_memory("maths.py", "maths", false), source);
//!
//! let classification = RuleClassifier::default().classify(parsed.record());
//! let norm = &classification.units[0][0];
//! assert_eq!(norm.domain, "numeric-data");
//! assert_eq!(norm.evidence[0].text, "import numpy");
//! assert_eq!(norm.evidence[1].text, "call numpy.sqrt (np.sqrt)");
//! # Ok(()) }
//! ```
//!
//! # Scores
//! Each piece of evidence has a weight by kind ([`Weights`]: an import 0.5, a
//! call 0.7, a decorator or a base class 0.8, a unit name 0.4, a module name
//! 0.5, and 0.3 for a call matched only by its last part, such as
//! `*.fetchall`). A domain's score is `1 - Π(1 - w)` over its distinct pieces
//! of evidence; domains below the threshold (0.5) are not reported. A unit's
//! evidence is what its body holds (nested units included) and the module's
//! imports whose names it uses; a module's is everything in the file.

mod classify;
mod rules;

use std::path::{Path, PathBuf};

pub use classify::{Classification, Classifier, CombinedClassifier, DomainScore, Evidence, RuleClassifier};
pub use rules::{ConfigSource, DEFAULT_RULES, Domain, EvidenceKind, Rules, Weights};

/// Why rules could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration or rules file is invalid.
    #[error("{}{}: {message}", path.display(), location(*line, *column))]
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, 0 when unknown.
        line: usize,
        /// 1-based column of the problem, 0 when unknown.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A configuration file exists but cannot be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn location(line: usize, column: usize) -> String {
    if line == 0 { String::new() } else { format!(":{line}:{column}") }
}

impl Error {
    pub(crate) fn config(path: &Path, text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = error.span().map_or((0, 0), |span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        });
        Self::Config { path: path.to_path_buf(), line, column, message: error.message().to_owned() }
    }
}
