//! The import graph against grimp's, on real packages nobody here wrote:
//! Django (installed by scripts/test from PyPI) and packages of the machine's
//! standard library. The modules and the internal edges, with their lines,
//! must agree; every difference must be one of the deliberate choices
//! documented in the crate docs, checked here case by case.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use pyatlas_graph::{GraphConfig, ImportGraph, ModuleKind};

#[derive(serde::Deserialize)]
struct Grimp {
    package: String,
    path: String,
    modules: Vec<String>,
    edges: Vec<(String, String, Vec<u32>)>,
}

fn grimp(packages: &[&str]) -> Vec<Grimp> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grimp_edges.py");
    let output = Command::new("python3").arg(script).args(packages).output().expect("python3");
    assert!(
        output.status.success(),
        "grimp_edges.py failed (scripts/test installs grimp and Django): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json")).collect()
}

#[test]
fn edges_agree_with_grimp_on_django_and_standard_library_packages() {
    let packages = ["django", "email", "asyncio", "concurrent", "importlib", "json", "logging", "unittest", "xml"];
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for reference in grimp(&packages) {
        let config = GraphConfig::default().include_external(false);
        let (graph, _) = ImportGraph::build(&reference.path, &config).expect("build");

        let ours_modules: BTreeSet<String> =
            graph.modules().filter(|m| m.kind == ModuleKind::Internal).map(|m| m.name.clone()).collect();
        let theirs_modules: BTreeSet<String> = reference.modules.iter().cloned().collect();
        for missing in theirs_modules.difference(&ours_modules) {
            failures.push(format!("{}: grimp has module {missing}, we do not", reference.package));
        }
        for extra in ours_modules.difference(&theirs_modules) {
            failures.push(format!("{}: we have module {extra}, grimp does not", reference.package));
        }

        let ours: BTreeMap<(String, String), Vec<u32>> =
            graph.edges().map(|(a, b, e)| ((a.to_owned(), b.to_owned()), e.lines.clone())).collect();
        let theirs: BTreeMap<(String, String), Vec<u32>> =
            reference.edges.iter().map(|(a, b, l)| ((a.clone(), b.clone()), l.clone())).collect();
        let mut explained = 0;
        for (edge, lines) in &theirs {
            match ours.get(edge) {
                Some(ours_lines) if ours_lines == lines => {}
                Some(ours_lines) => failures.push(format!(
                    "{}: {} -> {}: lines {ours_lines:?} vs grimp {lines:?}",
                    reference.package, edge.0, edge.1
                )),
                // grimp keeps an edge for `import pkg` inside pkg itself; we do not (documented).
                None if edge.0 == edge.1 => explained += 1,
                None => failures
                    .push(format!("{}: grimp has {} -> {} {lines:?}, we do not", reference.package, edge.0, edge.1)),
            }
        }
        for edge in ours.keys().filter(|e| !theirs.contains_key(*e)) {
            failures.push(format!("{}: we have {} -> {}, grimp does not", reference.package, edge.0, edge.1));
        }
        report.push(format!(
            "{}: {} modules, {} edges (grimp {}), {} differences explained by documented choices, {} unresolved internal imports reported",
            reference.package,
            ours_modules.len(),
            ours.len(),
            theirs.len(),
            explained,
            graph.unresolved().len()
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{} differences from grimp:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}
