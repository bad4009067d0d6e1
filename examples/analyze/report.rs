//! The text summary and the JSON form of `analyze`.

use std::collections::BTreeMap;
use std::io::Write;

use pyatlas::classifier::{Classification, DomainScore};
use pyatlas::intent::{DriftReport, FileFacts, Severity as DriftSeverity};
use pyatlas::parser::{FileRecord, Severity, Stats, WalkProblem};
use serde_json::Value;

/// Errors listed by the text summary; the rest are counted.
const SHOWN_ERRORS: usize = 25;
/// Modules listed per domain in the text summary.
const SHOWN_MODULES: usize = 3;

/// A file's domains (all of them, with evidence) and its drift facts.
pub(crate) struct Intent {
    pub(crate) classification: Classification,
    pub(crate) facts: FileFacts,
}

/// One file's record as JSON, with `"domains"` on the file and on each
/// unit, and the file's intent `"tags"`.
pub(crate) fn file_json(record: &FileRecord, intent: Option<&Intent>) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(record)?;
    if let Some(Intent { classification, facts }) = intent {
        value["domains"] = serde_json::to_value(&classification.module)?;
        if let Some(units) = value["units"].as_array_mut() {
            for (unit, domains) in units.iter_mut().zip(&classification.units) {
                unit["domains"] = serde_json::to_value(domains)?;
            }
        }
        let tags: Vec<Value> = facts
            .tags
            .tags
            .iter()
            .map(|t| {
                let unit = t.unit.and_then(|u| record.units.get(u as usize)).map(|u| u.qualname.as_str());
                serde_json::json!({"key": t.key, "values": t.values, "note": t.note, "line": t.line, "unit": unit})
            })
            .collect();
        value["tags"] = Value::Array(tags);
    }
    Ok(value)
}

/// A module among the strongest of a domain: score, module, first evidence.
type Strongest = (f64, String, String);

/// What the text summary keeps while files stream by: bounded, whatever the
/// size of the tree.
#[derive(Default)]
pub(crate) struct Summary {
    pub(crate) files_written: usize,
    errors: Vec<String>,
    hidden_errors: usize,
    /// Per domain: number of modules, and the strongest few.
    domains: BTreeMap<String, (usize, Vec<Strongest>)>,
}

impl Summary {
    pub(crate) fn add(&mut self, record: &FileRecord, intent: Option<&Intent>) {
        for d in record.diagnostics.iter().filter(|d| d.severity == Severity::Error) {
            if self.errors.len() < SHOWN_ERRORS {
                self.errors.push(format!("{}:{d}", record.path));
            } else {
                self.hidden_errors += 1;
            }
        }
        for DomainScore { domain, score, evidence, .. } in intent.map_or(&[][..], |i| &i.classification.module) {
            let (count, top) = self.domains.entry(domain.clone()).or_default();
            *count += 1;
            let strongest =
                evidence.first().map(|e| format!("{}:{} {}", record.path, e.line, e.text)).unwrap_or_default();
            top.push((*score, record.module.to_string(), strongest));
            top.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            top.truncate(SHOWN_MODULES);
        }
    }

    pub(crate) fn write(
        &self,
        out: &mut impl Write,
        root: &str,
        stats: &Stats,
        problems: &[WalkProblem],
        drift: Option<&DriftReport>,
        threads: usize,
    ) -> std::io::Result<()> {
        let mb = stats.bytes as f64 / 1e6;
        writeln!(out, "pyatlas analyze {root}")?;
        writeln!(out, "  files     {:>10}", stats.files)?;
        writeln!(out, "  lines     {:>10}", stats.lines)?;
        writeln!(out, "  units     {:>10}", stats.units)?;
        writeln!(out, "  imports   {:>10}", stats.imports)?;
        writeln!(out, "  files with errors: {}", stats.files_with_errors)?;
        for line in &self.errors {
            writeln!(out, "    {line}")?;
        }
        if self.hidden_errors > 0 {
            writeln!(out, "    ... and {} more errors (see --format json)", self.hidden_errors)?;
        }
        for problem in problems {
            writeln!(out, "  walk: {}: {}", problem.path.as_deref().unwrap_or(root), problem.message)?;
        }
        if !self.domains.is_empty() {
            writeln!(out, "  domains (modules; the strongest, with their first evidence):")?;
            for (domain, (count, top)) in &self.domains {
                writeln!(out, "    {domain:<22} {count:>6}")?;
                for (score, module, evidence) in top {
                    writeln!(out, "      {score:.2} {module}: {evidence}")?;
                }
            }
        }
        if let Some(drift) = drift {
            let errors = drift.findings.iter().filter(|f| f.severity == DriftSeverity::Error).count();
            let warnings = drift.findings.len() - errors;
            writeln!(
                out,
                "  intent: {} tag(s), {errors} drift error(s), {warnings} warning(s), {} tag problem(s) (details: the drift example)",
                drift.tags.len(),
                drift.diagnostics.len()
            )?;
        }
        let rate = if stats.seconds > 0.0 { mb / stats.seconds } else { 0.0 };
        let threads = threads.min(stats.files.max(1) as usize);
        writeln!(out, "  {mb:.1} MB in {:.2} s ({rate:.1} MB/s) on {threads} thread(s)", stats.seconds)
    }
}
