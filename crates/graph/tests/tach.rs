//! tach's rules on a small fixture: each rule and option, and the
//! configuration errors tach refuses to check with.

use std::path::Path;

use pyatlas_graph::{ContractReport, ImportGraph, TachConfig};

/// The fixture's Python files (`tests/fixtures/tach_app`, also used by the
/// workspace's comparison with tach itself); each test writes its tach.toml.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tach_app");

const TACH: &str = r#"
source_roots = ["src"]
layers = ["ui", {name = "domain", closed = true}, "data"]

[[modules]]
path = "app.api"
layer = "ui"
depends_on = ["app.core"]

[[modules]]
path = "app.core"
layer = "domain"
depends_on = []

[[modules]]
path = "app.db"
layer = "data"
depends_on = ["app.core"]

[[modules]]
path = "app.util"
utility = true
depends_on = []
"#;

fn project(tach: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stack = vec![Path::new(FIXTURE).to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("fixture").map(|e| e.expect("entry").path()) {
            let target = dir.path().join(entry.strip_prefix(FIXTURE).expect("inside"));
            if entry.is_dir() {
                std::fs::create_dir_all(&target).expect("mkdir");
                stack.push(entry);
            } else {
                std::fs::copy(&entry, &target).expect("copy");
            }
        }
    }
    std::fs::write(dir.path().join("tach.toml"), tach).expect("write");
    dir
}

fn check(tach: &str) -> Result<ContractReport, String> {
    let dir = project(tach);
    let hide =
        |e: pyatlas_graph::importlinter::ConfigError| e.to_string().replace(&dir.path().display().to_string(), "DIR");
    let config = TachConfig::discover(dir.path()).map_err(hide)?.expect("tach.toml");
    let (graph, _) = ImportGraph::build(dir.path(), &config.graph_config()).expect("build");
    config.check(&graph, dir.path()).map_err(hide)
}

fn pairs(report: &ContractReport) -> Vec<(&str, &str, Option<&str>)> {
    report.violations.iter().map(|v| (v.importer.as_str(), v.imported.as_str(), v.reason.as_deref())).collect()
}

#[test]
fn layers_closed_layers_utilities_and_undeclared_dependencies() {
    let report = check(TACH).expect("checked");
    assert_eq!(
        pairs(&report),
        [
            (
                "app.api",
                "app.db",
                Some(
                    "Layer 'ui' ('app.api') cannot import from layer 'data' ('app.db') because layer 'domain' is a closed layer between them."
                )
            ),
            ("app.db", "app.core", Some("Layer 'data' ('app.db') is lower than layer 'domain' ('app.core').")),
            ("app.util", "app.api", Some("Module 'app.util' cannot depend on 'app.api'.")),
        ],
        "app.db's import of app.api is ignored by its comment; app.core may use the utility"
    );
    let hop = &report.violations[1].chains[0][0];
    assert_eq!((hop.importer.as_str(), hop.lines.as_slice()), ("app.db.models", &[2][..]));
    assert_eq!(
        report.warnings,
        ["src/app/db/models.py:3: Ignore directive is unused."],
        "the directive on `import json` is dropped, as tach drops it"
    );
}

#[test]
fn rules_make_function_level_imports_and_directives_warnings_or_errors() {
    let report = check(&format!("{TACH}\n[rules]\nlocal_imports = \"warn\"\nunused_ignore_directives = \"off\"\nrequire_ignore_directive_reasons = \"error\"\n")).expect("checked");
    assert!(
        report.warnings.contains(&"src/app/util.py:2: Module 'app.util' cannot depend on 'app.api'.".to_owned()),
        "{:?}",
        report.warnings
    );
    let directives: Vec<_> = report
        .violations
        .iter()
        .filter(|v| v.imported == "tach-ignore")
        .map(|v| (v.importer.as_str(), v.chains[0][0].lines[0]))
        .collect();
    assert_eq!(directives, [("app.db", 3)], "the directive without a reason");
}

#[test]
fn cannot_depend_on_unchecked_and_deprecated() {
    let tach = TACH.replace(
        "path = \"app.util\"\nutility = true\ndepends_on = []",
        "path = \"app.util\"\ncannot_depend_on = [\"app.api\"]",
    );
    let report = check(&tach).expect("checked");
    assert!(pairs(&report).contains(&("app.util", "app.api", Some("Module 'app.util' cannot depend on 'app.api'."))));
    let unchecked = TACH.replace("utility = true\n", "utility = true\nunchecked = true\n");
    assert!(!pairs(&check(&unchecked).expect("checked")).iter().any(|(a, ..)| *a == "app.util"));
    let deprecated = TACH.replace(
        "utility = true\ndepends_on = []",
        "utility = true\ndepends_on = [{path = \"app.api\", deprecated = true}]",
    );
    let report = check(&deprecated).expect("checked");
    assert!(
        report.warnings.contains(&"Import of 'app.api' by 'app.util' is deprecated.".to_owned()),
        "{:?}",
        report.warnings
    );
    assert!(!pairs(&report).iter().any(|(a, ..)| *a == "app.util"));
}

#[test]
fn exact_reports_declared_dependencies_never_used() {
    let report = check(&format!(
        "exact = true\n{}",
        TACH.replace(
            "path = \"app.util\"\nutility = true\ndepends_on = []",
            "path = \"app.util\"\nutility = true\ndepends_on = [\"app.api\", \"app.db\"]"
        )
    ))
    .expect("checked");
    let unused: Vec<_> = report
        .violations
        .iter()
        .filter(|v| v.chains.is_empty())
        .map(|v| (v.importer.as_str(), v.imported.as_str()))
        .collect();
    // As tach reports them (checked with tach 0.35.3): an import allowed by the
    // layers alone does not count as a use of a declared dependency.
    assert_eq!(unused, [("app.api", "app.core"), ("app.util", "app.db")]);
}

#[test]
fn configurations_tach_refuses() {
    assert!(
        check(&TACH.replace("utility = true", "utilty = true"))
            .expect_err("unknown key")
            .contains("unknown field `utilty`")
    );
    assert_eq!(
        check(&TACH.replace("layer = \"ui\"", "layer = \"web\"")).expect_err("no such layer"),
        "DIR/tach.toml: contract 'app.api': Layer 'web' is not defined in the project's layers."
    );
    let visibility = TACH.replace(
        "path = \"app.core\"\nlayer = \"domain\"",
        "path = \"app.core\"\nvisibility = [\"app.db\"]\nlayer = \"domain\"",
    );
    assert!(check(&visibility).expect_err("invisible").contains(
        "Module 'app.api' cannot depend on 'app.core' because 'app.api' does not match its visibility: app.db."
    ));
    let circular = format!(
        "forbid_circular_dependencies = true\n{}",
        TACH.replace(
            "path = \"app.core\"\nlayer = \"domain\"\ndepends_on = []",
            "path = \"app.core\"\nlayer = \"domain\"\ndepends_on = [\"app.api\"]"
        )
    );
    assert!(
        check(&circular).expect_err("cycle").ends_with("Circular dependency detected for module(s): app.api, app.core")
    );
    let forbid = format!("root_module = \"forbid\"\n{TACH}\n[[modules]]\npath = \"<root>\"\n");
    assert!(check(&forbid).expect_err("root").contains("The root module ('<root>') is forbidden"));
    let twice = format!("{TACH}\n[[modules]]\npath = \"app.core\"\n");
    assert!(check(&twice).expect_err("twice").contains("defined more than once: app.core"));
}

#[test]
fn domains_and_interfaces() {
    let dir = project(TACH);
    std::fs::write(dir.path().join("src/app/db/tach.domain.toml"), "[root]\nlayer = \"data\"\ndepends_on = [\"//app.core\"]\n\n[[modules]]\npath = \"models\"\ndepends_on = []\n\n[[interfaces]]\nexpose = [\"x\"]\nfrom = [\"models\"]\n").expect("write");
    let tach = TACH.replace("[[modules]]\npath = \"app.db\"\nlayer = \"data\"\ndepends_on = [\"app.core\"]\n", "");
    std::fs::write(dir.path().join("tach.toml"), tach).expect("write");
    let config = TachConfig::discover(dir.path()).expect("valid").expect("tach.toml");
    assert_eq!(config.domains.len(), 1);
    let (graph, _) = ImportGraph::build(dir.path(), &config.graph_config()).expect("build");
    let report = config.check(&graph, dir.path()).expect("checked");
    assert!(pairs(&report).iter().any(|(a, b, _)| *a == "app.db.models" && *b == "app.core"), "{:?}", pairs(&report));
    assert!(
        report.warnings.iter().any(|w| w.starts_with("1 [[interfaces]] entries are not checked")),
        "{:?}",
        report.warnings
    );
    assert!(Path::new(&config.file).ends_with("tach.toml"));
}
