//! A drift report as text with source snippets (rustc's style, through
//! codespan-reporting), JSON, SARIF 2.1.0 and Markdown documentation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity as Level};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use serde_json::{Value, json};

use crate::drift::{DriftReport, RuleId, Severity};

impl DriftReport {
    /// The JSON contract of the `drift` example.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }

    /// Text in the style of rustc's diagnostics, with source snippets read
    /// from the files under `root` (a finding whose file cannot be read is
    /// printed without its snippet).
    pub fn to_text(&self, root: &Path) -> String {
        // Every file a snippet is needed from, loaded once.
        let mut files = SimpleFiles::new();
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let paths = self
            .findings
            .iter()
            .flat_map(|f| std::iter::once(f.path.as_str()).chain(f.evidence.iter().map(|e| e.path.as_str())))
            .chain(self.diagnostics.iter().map(|d| d.path.as_str()));
        for path in paths {
            if ids.contains_key(path) {
                continue;
            }
            if let Ok(source) = std::fs::read(root.join(path)) {
                ids.insert(path, files.add(path.to_owned(), String::from_utf8_lossy(&source).into_owned()));
            }
        }
        let file_id = |path: &str| ids.get(path).copied();
        let mut diagnostics = Vec::new();
        for finding in &self.findings {
            let level = match finding.severity {
                Severity::Error => Level::Error,
                Severity::Warning => Level::Warning,
            };
            let mut diagnostic =
                Diagnostic::new(level).with_code(finding.rule.to_string()).with_message(&finding.message);
            let mut labels = Vec::new();
            if let Some(id) = file_id(&finding.path) {
                if let Some(range) = line_range(&files, id, finding.line) {
                    labels.push(Label::primary(id, range).with_message(finding.rule.description()));
                }
            } else {
                diagnostic = diagnostic.with_notes(vec![format!("at {}:{}", finding.path, finding.line)]);
            }
            for evidence in &finding.evidence {
                if let Some(id) = file_id(&evidence.path)
                    && let Some(range) = line_range(&files, id, evidence.line)
                {
                    labels.push(Label::secondary(id, range).with_message(&evidence.text));
                }
            }
            if finding.baselined {
                diagnostic = diagnostic.with_notes(vec!["accepted in the baseline".to_owned()]);
            }
            diagnostics.push(diagnostic.with_labels(labels));
        }
        for d in &self.diagnostics {
            let mut diagnostic = Diagnostic::warning().with_code("tag").with_message(&d.message);
            if let Some(id) = file_id(&d.path)
                && let Some(range) = line_range(&files, id, d.line)
            {
                diagnostic = diagnostic.with_labels(vec![Label::primary(id, range)]);
            }
            diagnostics.push(diagnostic);
        }
        let mut out = String::new();
        let config = Config::default();
        for diagnostic in &diagnostics {
            let mut buffer = String::new();
            let _ = term::emit_to_string(&mut buffer, &config, &files, diagnostic);
            out.push_str(&buffer);
        }
        let errors = self.findings.iter().filter(|f| f.severity == Severity::Error && !f.baselined).count();
        let warnings = self.findings.len() - errors;
        let _ = writeln!(
            out,
            "{} tag(s), {errors} error(s), {warnings} warning(s), {} tag problem(s)",
            self.tags.len(),
            self.diagnostics.len()
        );
        out
    }

    /// SARIF 2.1.0, for GitHub code scanning: one run, the rules D001-D008
    /// and tag problems, results with locations and related locations.
    pub fn to_sarif(&self) -> serde_json::Result<String> {
        let mut rules: Vec<Value> = RuleId::ALL
            .iter()
            .map(|r| {
                json!({
                    "id": r.to_string(),
                    "shortDescription": {"text": r.description()},
                    "defaultConfiguration": {"level": level(r.default_severity())},
                })
            })
            .collect();
        rules.push(json!({"id": "tag", "shortDescription": {"text": "a malformed, unknown or unattached tag"}, "defaultConfiguration": {"level": "warning"}}));
        let location = |path: &str, line: u32| json!({"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line.max(1)}}});
        let mut results: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let related: Vec<Value> = f
                    .evidence
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let mut l = location(&e.path, e.line);
                        l["id"] = json!(i);
                        l["message"] = json!({"text": e.text});
                        l
                    })
                    .collect();
                let mut result = json!({
                    "ruleId": f.rule.to_string(),
                    "level": level(f.severity),
                    "message": {"text": f.message},
                    "locations": [location(&f.path, f.line)],
                    "relatedLocations": related,
                    "partialFingerprints": {"pyatlasFingerprint/v1": f.fingerprint()},
                });
                if f.baselined {
                    result["baselineState"] = json!("unchanged");
                }
                result
            })
            .collect();
        results.extend(self.diagnostics.iter().map(|d| {
            json!({"ruleId": "tag", "level": "warning", "message": {"text": d.message}, "locations": [location(&d.path, d.line)]})
        }));
        serde_json::to_string_pretty(&json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "pyatlas-drift",
                    "informationUri": "https://github.com/pyatlas/pyatlas",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "results": results,
            }],
        }))
    }

    /// Markdown documentation of the declared intent: every tag, where it
    /// is, and whether the code matches it.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Declared intent\n\n");
        let _ = writeln!(
            out,
            "{} tag(s), {} finding(s), {} tag problem(s).\n",
            self.tags.len(),
            self.findings.len(),
            self.diagnostics.len()
        );
        let mut by_key: BTreeMap<String, Vec<&crate::drift::TagRef>> = BTreeMap::new();
        for tag in &self.tags {
            let name = match &tag.value {
                Some(v) => format!("@{}:{v}", tag.key),
                None => format!("@{}", tag.key),
            };
            by_key.entry(name).or_default().push(tag);
        }
        for (name, tags) in by_key {
            let _ = writeln!(out, "## `{name}`\n\n| where | unit | matches the code |\n|---|---|---|");
            for tag in tags {
                let findings: Vec<String> = self
                    .findings
                    .iter()
                    .filter(|f| f.path == tag.path && f.line == tag.line)
                    .map(|f| format!("{} {}", f.rule, f.message.replace('|', "\\|")))
                    .collect();
                let status =
                    if findings.is_empty() { "yes".to_owned() } else { format!("**no**: {}", findings.join("; ")) };
                let unit = tag.unit.as_deref().map_or_else(|| "(module)".to_owned(), |u| format!("`{u}`"));
                let _ = writeln!(out, "| `{}:{}` | {unit} | {status} |", tag.path, tag.line);
            }
            out.push('\n');
        }
        let other: Vec<_> =
            self.findings.iter().filter(|f| !self.tags.iter().any(|t| t.path == f.path && t.line == f.line)).collect();
        if !other.is_empty() {
            out.push_str("## Other findings\n\n");
            for f in other {
                let _ = writeln!(out, "- {} `{}:{}`: {}", f.rule, f.path, f.line, f.message);
            }
            out.push('\n');
        }
        if !self.diagnostics.is_empty() {
            out.push_str("## Tag problems\n\n");
            for d in &self.diagnostics {
                let _ = writeln!(out, "- `{}:{}`: {}", d.path, d.line, d.message);
            }
        }
        out
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn line_range(files: &SimpleFiles<String, String>, id: usize, line: u32) -> Option<std::ops::Range<usize>> {
    use codespan_reporting::files::Files;
    let index = (line as usize).checked_sub(1)?;
    let range = files.line_range(id, index).ok()?;
    let source = files.source(id).ok()?;
    let text = source.get(range.clone())?;
    // Underline the line's content, not its indentation or newline.
    let start = range.start + (text.len() - text.trim_start().len());
    let end = range.start + text.trim_end().len();
    Some(start..end.max(start))
}
