//! The parser, the classifier and the graph resolve names as one: relative
//! imports through `Import::absolute_module`, free names through Python's
//! scopes (a class body is not an enclosing scope of its methods). Checked
//! on the machine's standard library, and on a fixture for the scoping rule.

use std::collections::{BTreeSet, HashSet};

use pyatlas_classifier::{Classifier, RuleClassifier, Rules};
use pyatlas_graph::{CallGraph, GraphConfig, ImportGraph, ModuleKind, UnitRef};
use pyatlas_parser::{Config, DiagnosticKind, ImportKind, parse_codebase};

fn stdlib() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn relative_imports_resolve_alike_in_the_parser_the_graph_and_the_classifier_on_the_standard_library() {
    let codebase = parse_codebase(stdlib(), &Config::default()).expect("parse the standard library");
    let graph = ImportGraph::from_records(&codebase.files, &GraphConfig::default());
    let internal = |m: &str| graph.module(m).is_some_and(|n| n.kind == ModuleKind::Internal);
    let unresolved: HashSet<(&str, &str, u32)> =
        graph.unresolved().iter().map(|u| (u.importer.as_str(), u.imported.as_str(), u.line)).collect();
    // The classifier, with one domain for every top-level package: its
    // import evidence names what it resolved each import to.
    let roots: BTreeSet<&str> = codebase.files.iter().filter_map(|f| f.module.components().next()).collect();
    let patterns: Vec<String> = roots.iter().map(|r| format!("{r:?}")).collect();
    let toml = format!("[domains.internal]\ndescription = \"The codebase.\"\nimports = [{}]\n", patterns.join(", "));
    let rules = Rules::from_toml(&toml, std::path::Path::new("probe.toml")).expect("rules");
    let classifier = RuleClassifier::new(rules);

    let (mut relative, mut above_top) = (0, 0);
    for file in &codebase.files {
        let importer = file.module.as_str();
        let mut resolved_names = BTreeSet::new();
        for import in &file.imports {
            let Some(base) = import.absolute_module(importer, file.is_package) else {
                above_top += 1;
                assert!(unresolved.contains(&(importer, import.written_module().as_str(), import.line)));
                assert!(file.diagnostics.iter().any(|d| d.kind == DiagnosticKind::Import && d.line == import.line));
                assert!(
                    file.bindings.iter().all(|b| b.line != import.line),
                    "no binding from {importer}:{}",
                    import.line
                );
                continue;
            };
            if base.is_empty() {
                continue;
            }
            resolved_names.insert(base.clone());
            if import.kind == ImportKind::Import {
                continue;
            }
            for name in import.names.iter().filter(|n| n.name != "*") {
                let full = format!("{base}.{}", name.name);
                if import.level == 0 {
                    continue;
                }
                relative += 1;
                // The parser's binding.
                let local = name.alias.as_deref().unwrap_or(&name.name);
                assert!(
                    file.bindings.iter().any(|b| b.line == import.line && b.name == local && b.target == full),
                    "{importer}:{}: no binding {local} -> {full}",
                    import.line
                );
                // The graph's edge (grimp's rule: the name if a module, else its package).
                let Some(target) = [full.as_str(), base.as_str()].into_iter().find(|m| internal(m)) else {
                    assert!(unresolved.contains(&(importer, full.as_str(), import.line)), "{importer} -> {full}");
                    continue;
                };
                if target != importer {
                    let edge = graph.edge(importer, target).unwrap_or_else(|| panic!("no edge {importer} -> {target}"));
                    assert!(edge.lines.contains(&import.line), "{importer} -> {target}: {:?}", edge.lines);
                }
            }
        }
        // The classifier's evidence names the same absolute modules (one
        // piece per import statement: the module it reads from).
        let classification = classifier.classify(file);
        let evidence: BTreeSet<String> = classification
            .module
            .iter()
            .filter(|d| d.domain == "internal")
            .flat_map(|d| d.evidence.iter().filter_map(|e| e.text.strip_prefix("import ").map(str::to_owned)))
            .collect();
        let expected: BTreeSet<String> =
            resolved_names.into_iter().filter(|n| roots.contains(n.split('.').next().unwrap_or(n))).collect();
        assert_eq!(evidence, expected, "{importer}");
    }
    assert!(relative > 500, "{relative} relative imports checked");
    eprintln!("{relative} relative imports agree; {above_top} climb above their top package");
}

#[test]
fn a_relative_import_above_the_top_package_resolves_to_nothing_anywhere() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::create_dir(dir.path().join("pkg")).expect("pkg");
    std::fs::write(dir.path().join("pkg/__init__.py"), "").expect("init");
    std::fs::write(
        dir.path().join("pkg/mod.py"),
        "from ...sqlite3 import connect

connect()
",
    )
    .expect("mod");
    std::fs::write(
        dir.path().join("top.py"),
        "from . import sqlite3
",
    )
    .expect("top");
    let codebase = parse_codebase(dir.path(), &Config::default()).expect("parse");
    let graph = ImportGraph::from_records(&codebase.files, &GraphConfig::default());
    let classifier = RuleClassifier::default();
    for file in &codebase.files {
        let Some(import) = file.imports.first() else { continue };
        assert_eq!(import.absolute_module(file.module.as_str(), file.is_package), None, "{}", file.path);
        // The parser: a diagnostic, and no binding.
        assert!(file.diagnostics.iter().any(|d| d.kind == DiagnosticKind::Import), "{:?}", file.diagnostics);
        assert!(file.bindings.is_empty(), "{:?}", file.bindings);
        // The graph: unresolved, as written; no edge.
        let written = import.written_module();
        assert!(graph.unresolved().iter().any(|u| u.importer == file.module.as_str() && u.imported == written));
        assert_eq!(graph.edges().filter(|(from, ..)| *from == file.module.as_str()).count(), 0);
        // The classifier: no database evidence from a name that is not `sqlite3`.
        let classification = classifier.classify(file);
        assert!(classification.module.iter().all(|d| d.domain != "database"), "{:?}", classification.module);
    }
}

#[test]
fn a_class_body_is_not_an_enclosing_scope_of_its_methods_for_the_classifier_and_the_call_graph() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::create_dir(dir.path().join("pkg")).expect("pkg");
    std::fs::write(dir.path().join("pkg/__init__.py"), "").expect("init");
    std::fs::write(dir.path().join("pkg/tools.py"), "def spawn():\n    return 1\n").expect("tools");
    std::fs::write(
        dir.path().join("pkg/runner.py"),
        "from pkg.tools import spawn\n\n\nclass Runner:\n    from subprocess import run as spawn\n\n    spawn(['true'])\n\n    def go(self):\n        return spawn()\n",
    )
    .expect("runner");
    let codebase = parse_codebase(dir.path(), &Config::default()).expect("parse");
    let runner = codebase.files.iter().find(|f| f.module.as_str() == "pkg.runner").expect("runner");
    let go = runner.units.iter().position(|u| u.qualname.as_str() == "Runner.go").expect("go");
    let class = runner.units.iter().position(|u| u.qualname.as_str() == "Runner").expect("class");

    // In `go`, `spawn` is the module's (pkg.tools.spawn), not the class attribute.
    let classification = RuleClassifier::default().classify(runner);
    let domains = |u: usize| classification.units[u].iter().map(|d| d.domain.clone()).collect::<Vec<_>>();
    assert!(!domains(go).contains(&"subprocess-os".to_owned()), "{:?}", domains(go));
    // In the class body itself, `spawn` is subprocess.run.
    assert!(domains(class).contains(&"subprocess-os".to_owned()), "{:?}", domains(class));

    let calls = CallGraph::build(&codebase.files);
    let callees: Vec<String> =
        calls.callees(&UnitRef::new("pkg.runner", "Runner.go")).iter().map(|(u, _)| u.to_string()).collect();
    assert_eq!(callees, ["pkg.tools:spawn"]);
}
