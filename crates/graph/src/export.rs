//! The import graph as JSON (the `graph` example's contract), DOT and Mermaid.

use std::fmt::Write as _;

use serde::Serialize;

use crate::imports::{ImportGraph, ModuleKind, ModuleNode};
use crate::query::{Cycle, Walk};

#[derive(Serialize)]
struct JsonEdge<'a> {
    from: &'a str,
    to: &'a str,
    lines: &'a [u32],
    type_checking: bool,
    function_level: bool,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    modules: Vec<&'a ModuleNode>,
    edges: Vec<JsonEdge<'a>>,
    cycles: Vec<Vec<String>>,
    cycle_examples: Vec<Vec<String>>,
    unresolved: &'a [crate::UnresolvedImport],
}

impl ImportGraph {
    /// `{"modules": [...], "edges": [...], "cycles": [[str]], ...}`: the
    /// contract of the `graph` example, modules and edges sorted by name.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let mut modules: Vec<&ModuleNode> = self.modules().collect();
        modules.sort_by(|a, b| a.name.cmp(&b.name));
        let mut edges: Vec<JsonEdge<'_>> = self
            .edges()
            .map(|(from, to, e)| JsonEdge {
                from,
                to,
                lines: &e.lines,
                type_checking: e.type_checking,
                function_level: e.function_level,
            })
            .collect();
        edges.sort_by(|a, b| (a.from, a.to).cmp(&(b.from, b.to)));
        let cycles: Vec<Cycle> = self.cycles(Walk::default());
        let json = JsonGraph {
            modules,
            edges,
            cycle_examples: cycles.iter().map(|c| c.example.clone()).collect(),
            cycles: cycles.into_iter().map(|c| c.modules).collect(),
            unresolved: self.unresolved(),
        };
        serde_json::to_string_pretty(&json)
    }

    /// Graphviz DOT: internal modules as boxes, external packages as
    /// ellipses, the standard library grey, `TYPE_CHECKING`-only imports dashed.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph imports {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
        let mut modules: Vec<&ModuleNode> = self.modules().collect();
        modules.sort_by(|a, b| a.name.cmp(&b.name));
        for m in modules {
            let style = match m.kind {
                ModuleKind::Internal => "shape=box",
                ModuleKind::External => "shape=ellipse",
                ModuleKind::Stdlib => "shape=ellipse, color=grey, fontcolor=grey",
            };
            let _ = writeln!(out, "  {} [{style}];", quote(&m.name));
        }
        let mut edges: Vec<_> = self.edges().collect();
        edges.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (from, to, edge) in edges {
            let style = if edge.type_checking { " [style=dashed]" } else { "" };
            let _ = writeln!(out, "  {} -> {}{style};", quote(from), quote(to));
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart (renders in GitHub Markdown and the Mermaid live editor).
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let mut modules: Vec<&ModuleNode> = self.modules().collect();
        modules.sort_by(|a, b| a.name.cmp(&b.name));
        let ids: std::collections::HashMap<&str, String> =
            modules.iter().enumerate().map(|(i, m)| (m.name.as_str(), format!("m{i}"))).collect();
        for m in &modules {
            let label = m.name.replace('"', "'");
            let shape = match m.kind {
                ModuleKind::Internal => format!("[\"{label}\"]"),
                _ => format!("([\"{label}\"])"),
            };
            let _ = writeln!(out, "  {}{shape}", ids[m.name.as_str()]);
        }
        let mut edges: Vec<_> = self.edges().collect();
        edges.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (from, to, edge) in edges {
            let arrow = if edge.type_checking { "-.->" } else { "-->" };
            let _ = writeln!(out, "  {} {arrow} {}", ids[from], ids[to]);
        }
        out
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}
