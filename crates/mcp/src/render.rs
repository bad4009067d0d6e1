//! Answers as text an agent reads: compact Markdown, paths with lines.

use std::fmt::Write as _;

use pyatlas_graph::{ContractsReport, Hop};
use pyatlas_query::{FileView, ModuleGraph, SearchHit, Symbol, UnitContext};
use pyatlas_store::FindingRow;

fn lines(lines: &[u32]) -> String {
    let shown: Vec<String> = lines.iter().map(u32::to_string).collect();
    if shown.is_empty() { String::new() } else { format!(" (l.{})", shown.join(", ")) }
}

pub(crate) fn hits(query: &str, hits: &[SearchHit]) -> String {
    if hits.is_empty() {
        return format!("No code matches {query:?}.\n");
    }
    let mut out = String::new();
    for hit in hits {
        let names = if hit.qualnames.is_empty() { String::new() } else { format!(" {}", hit.qualnames.join(", ")) };
        let _ = writeln!(out, "## {}:{}-{}{names} ({})", hit.path, hit.start_line, hit.end_line, hit.kind.as_str());
        let _ = writeln!(out, "```python\n{}\n```", hit.text.trim_end());
    }
    out
}

pub(crate) fn symbols(symbols: &[Symbol]) -> String {
    let mut out = String::new();
    for s in symbols {
        let _ = writeln!(out, "- `{}` ({}) {}:{}-{}", s.id, s.kind, s.path, s.start_line, s.end_line);
        let _ = writeln!(out, "  `{}`", s.signature);
        if let Some(doc) = &s.doc {
            let _ = writeln!(out, "  {doc}");
        }
    }
    out
}

pub(crate) fn context(unit: &UnitContext, file: &FileView) -> String {
    let s = &unit.symbol;
    let mut out = format!("# `{}` ({}) {}:{}-{}\n", s.id, s.kind, s.path, s.start_line, s.end_line);
    if let Some(doc) = &s.doc {
        let _ = writeln!(out, "{doc}");
    }
    let within = |line: u32| (s.start_line..=s.end_line).contains(&line);
    let _ = writeln!(out, "\n```python\n{}\n```", unit.source.trim_end());
    let list = |out: &mut String, title: &str, items: Vec<String>| {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for item in items {
                let _ = writeln!(out, "- {item}");
            }
        }
    };
    list(&mut out, "Callers", unit.callers.iter().map(|c| format!("`{}`{}", c.unit, lines(&c.lines))).collect());
    list(&mut out, "Callees", unit.callees.iter().map(|c| format!("`{}`{}", c.unit, lines(&c.lines))).collect());
    list(&mut out, "Bases", unit.bases.iter().map(|b| format!("`{b}`")).collect());
    list(&mut out, "Subclasses", unit.subclasses.iter().map(|b| format!("`{b}`")).collect());
    list(
        &mut out,
        "Its module imports",
        unit.imports.iter().map(|h| format!("`{}`{}", h.imported, lines(&h.lines))).collect(),
    );
    list(&mut out, "Domains of its file", file.domains.iter().map(|d| format!("`{d}`")).collect());
    list(
        &mut out,
        "Intent tags",
        file.tags.iter().filter(|t| within(t.line)).map(|t| format!("l.{} `@{}:{}`", t.line, t.key, t.value)).collect(),
    );
    list(
        &mut out,
        "Drift findings",
        file.findings
            .iter()
            .filter(|f| within(f.line))
            .map(|f| format!("l.{} {} {}: {}", f.line, f.rule, f.severity, f.message))
            .collect(),
    );
    out
}

pub(crate) fn graph(graph: &ModuleGraph) -> String {
    let mut out = format!("# Imports around `{}` (depth {})\n\n", graph.module, graph.depth);
    for hop in &graph.imports {
        let _ = writeln!(out, "- `{}` → `{}`{}", hop.importer, hop.imported, lines(&hop.lines));
    }
    if graph.imports.is_empty() {
        out.push_str("No imports to or from it.\n");
    }
    out
}

pub(crate) fn chain(from: &str, to: &str, chain: Option<&[Hop]>) -> String {
    let Some(chain) = chain else { return format!("`{from}` does not import `{to}`, directly or not.\n") };
    let mut out = format!("# `{from}` reaches `{to}` in {} import(s)\n\n", chain.len());
    for hop in chain {
        let _ = writeln!(out, "- `{}` → `{}`{}", hop.importer, hop.imported, lines(&hop.lines));
    }
    out
}

pub(crate) fn architecture(findings: &[FindingRow], contracts: Option<&ContractsReport>) -> String {
    let mut out = String::from("# Contracts\n\n");
    match contracts {
        None => out.push_str("The project declares no import-linter or tach contracts.\n"),
        Some(report) => {
            let kept = report.contracts.iter().filter(|c| c.kept).count();
            let _ = writeln!(out, "{kept} kept, {} broken.\n", report.contracts.len() - kept);
            for contract in &report.contracts {
                let verdict = if contract.kept { "KEPT" } else { "BROKEN" };
                let _ = writeln!(out, "- {verdict} {} ({})", contract.name, contract.contract_type.as_str());
                for violation in &contract.violations {
                    let _ = writeln!(out, "  - `{}` must not import `{}`", violation.importer, violation.imported);
                    for chain in &violation.chains {
                        let hops: Vec<String> = chain
                            .iter()
                            .map(|h| format!("{} → {}{}", h.importer, h.imported, lines(&h.lines)))
                            .collect();
                        let _ = writeln!(out, "    - {}", hops.join("; "));
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "\n# Drift findings\n");
    if findings.is_empty() {
        out.push_str("None.\n");
    }
    for f in findings {
        let _ = writeln!(out, "- {}:{} {} {}: {}", f.path, f.line, f.rule, f.severity, f.message);
    }
    out
}
