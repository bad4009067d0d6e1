//! Every contract type and option on a small fixture, and every
//! configuration error with its message (import-linter's words, with the
//! file, the contract and the option).

use std::path::Path;

use pyatlas_graph::importlinter::Config;
use pyatlas_graph::{
    Alerting, Contract, ContractError, ContractKind, ContractReport, GraphConfig, ImportGraph, Layer, ModuleExpression,
    Scope,
};

const APP: &[(&str, &str)] = &[
    ("app/__init__.py", ""),
    ("app/api/__init__.py", ""),
    ("app/api/views.py", "from app.services import orders\n"),
    ("app/api/admin.py", "from app.domain import models\n"),
    ("app/services/__init__.py", ""),
    ("app/services/orders.py", "from app.domain import models\nimport requests\n"),
    ("app/services/pricing.py", "from app.services import orders\n"),
    ("app/domain/__init__.py", ""),
    ("app/domain/models.py", "\nfrom app.api import views\n"),
    ("app/utils.py", "from app.domain import models\n"),
];

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn graph() -> ImportGraph {
    let dir = project(APP);
    ImportGraph::build(dir.path(), &GraphConfig::default()).expect("build").0
}

fn exprs(names: &[&str]) -> Vec<ModuleExpression> {
    names.iter().map(|n| n.parse().expect("expression")).collect()
}

fn layers(layers: Vec<Layer>, exhaustive: bool, ignores: &[&str]) -> ContractKind {
    ContractKind::Layers {
        layers,
        containers: exprs(&["app"]),
        exhaustive,
        exhaustive_ignores: ignores.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn check(kind: ContractKind) -> ContractReport {
    graph().check(&Contract::new("c", kind), &Scope::new(["app"]).include_external_packages(true)).expect("checked")
}

fn pairs(report: &ContractReport) -> Vec<(&str, &str)> {
    report.violations.iter().map(|v| (v.importer.as_str(), v.imported.as_str())).collect()
}

fn three() -> Vec<Layer> {
    vec![Layer::new(["api"]), Layer::new(["services"]), Layer::new(["domain"])]
}

#[test]
fn layer_chains_may_not_pass_through_other_layers() {
    let report = check(layers(three(), false, &[]));
    // services -> domain -> api goes through the domain layer: only domain's own import counts.
    assert_eq!(pairs(&report), [("app.domain", "app.api")]);
    let chain = &report.violations[0].chains[0];
    assert_eq!(
        (chain[0].importer.as_str(), chain[0].imported.as_str(), chain[0].lines.as_slice()),
        ("app.domain.models", "app.api.views", &[2][..])
    );
    assert!(!report.kept);
}

#[test]
fn siblings_are_independent_with_a_bar_and_not_with_a_colon() {
    let siblings = |independent: bool| {
        let mut layer = Layer::new(["orders", "pricing"]);
        layer.independent = independent;
        let kind = ContractKind::Layers {
            layers: vec![layer],
            containers: exprs(&["app.services"]),
            exhaustive: false,
            exhaustive_ignores: vec![],
        };
        check(kind)
    };
    assert_eq!(pairs(&siblings(true)), [("app.services.pricing", "app.services.orders")]);
    assert!(siblings(false).kept);
}

#[test]
fn optional_layers_may_be_missing_and_required_ones_may_not() {
    let mut with_optional = three();
    let mut optional = Layer::new(["missing"]);
    optional.modules[0].optional = true;
    with_optional.push(optional);
    assert_eq!(pairs(&check(layers(with_optional, false, &[]))), [("app.domain", "app.api")]);
    let mut with_required = three();
    with_required.push(Layer::new(["missing"]));
    let error = graph()
        .check(&Contract::new("c", layers(with_required, false, &[])), &Scope::new(["app"]))
        .expect_err("missing");
    assert_eq!(error.to_string(), "c: Missing layer in container 'app': module app.missing does not exist.");
}

#[test]
fn exhaustive_contracts_list_undeclared_children() {
    let report = check(layers(three(), true, &[]));
    assert_eq!(report.undeclared_modules, ["app.utils"]);
    assert_eq!(check(layers(three(), true, &["utils"])).undeclared_modules, Vec::<String>::new());
}

#[test]
fn a_closed_layer_may_not_be_bypassed() {
    let mut closed = three();
    closed[1].closed = true;
    let report = check(layers(closed, false, &[]));
    assert_eq!(pairs(&report), [("app.api", "app.domain"), ("app.domain", "app.api")]);
}

#[test]
fn forbidden_modules_with_every_option() {
    let forbidden = |forbidden: &[&str], indirect: bool, as_packages: bool| ContractKind::Forbidden {
        source_modules: exprs(&["app.api"]),
        forbidden_modules: exprs(forbidden),
        allow_indirect_imports: indirect,
        as_packages,
    };
    let report = check(forbidden(&["requests"], false, true));
    assert_eq!(pairs(&report), [("app.api", "requests")]);
    let hops: Vec<&str> = report.violations[0].chains[0].iter().map(|h| h.imported.as_str()).collect();
    assert_eq!(hops, ["app.services.orders", "requests"]);
    assert!(check(forbidden(&["requests"], true, true)).kept, "no direct import");
    assert_eq!(pairs(&check(forbidden(&["app.services.orders"], true, true))), [("app.api", "app.services.orders")]);
    assert!(check(forbidden(&["requests"], false, false)).kept, "app.api's own module imports nothing");
    assert!(check(forbidden(&["app.api.views"], false, true)).kept, "overlapping modules are skipped");

    let graph = graph();
    let contract = Contract::new("c", forbidden(&["requests"], false, true));
    let error = graph.check(&contract, &Scope::new(["app"])).expect_err("externals not included");
    assert!(error.to_string().contains("must have include_external_packages=True"), "{error}");
    let contract = Contract::new("c", forbidden(&["requests.adapters"], false, true));
    let error = graph.check(&contract, &Scope::new(["app"]).include_external_packages(true)).expect_err("subpackage");
    assert_eq!(
        error.to_string(),
        "c: Invalid forbidden module requests.adapters: subpackages of external packages are not valid."
    );
    let contract = Contract::new("c", forbidden(&["app.nothing"], false, true));
    let error = graph.check(&contract, &Scope::new(["app"])).expect_err("missing");
    assert_eq!(error, ContractError::NoSuchModule { contract: "c".into(), module: "app.nothing".into() });
    assert_eq!(error.to_string(), "c: Module 'app.nothing' does not exist.");
}

#[test]
fn independence_with_wildcards() {
    let report = check(ContractKind::Independence { modules: exprs(&["app.services.*"]) });
    assert_eq!(pairs(&report), [("app.services.pricing", "app.services.orders")]);
}

#[test]
fn protected_modules_name_each_illegal_direct_import() {
    let protected = |allowed: &[&str], as_packages: bool| ContractKind::Protected {
        protected_modules: exprs(&["app.domain"]),
        allowed_importers: exprs(allowed),
        as_packages,
    };
    let report = check(protected(&["app.services"], true));
    assert_eq!(pairs(&report), [("app.api.admin", "app.domain.models"), ("app.utils", "app.domain.models")]);
    assert!(check(protected(&["app.services", "app.api", "app.utils"], true)).kept);
    assert!(check(protected(&[], false)).kept, "nothing imports the package module app.domain itself");
}

#[test]
fn acyclic_siblings_with_depth_skip_and_ignored_imports() {
    let acyclic = |ancestors: &[&str], depth: usize, skip: &[&str]| ContractKind::AcyclicSiblings {
        ancestors: exprs(ancestors),
        depth,
        skip_descendants: exprs(skip),
    };
    let report = check(acyclic(&["app"], 10, &[]));
    assert!(!report.kept);
    assert!(pairs(&report).contains(&("app.domain", "app.api")), "{report:?}");
    assert!(!pairs(&report).iter().any(|(a, _)| *a == "app.utils"), "utils is on no cycle");
    assert!(check(acyclic(&["app.services"], 0, &[])).kept);
    let contract = Contract::new("c", acyclic(&["app"], 10, &[]))
        .ignore_imports(["app.*.models -> app.api.**".parse().expect("valid")]);
    let report = graph().check(&contract, &Scope::new(["app"])).expect("checked");
    assert!(report.kept, "{report:?}");
    assert_eq!(report.ignored_imports, 1);
    let contract = Contract::new("c", acyclic(&["app.*"], 1, &["app.*"]));
    let error = graph().check(&contract, &Scope::new(["app"])).expect_err("skip an ancestor");
    assert_eq!(
        error.to_string(),
        "c: skip_descendants: Cannot skip descendant 'app.*' as the same expression is in ancestors."
    );
    let contract = Contract::new("c", acyclic(&["app.gone.*"], 1, &[]));
    let error = graph().check(&contract, &Scope::new(["app"])).expect_err("no match");
    assert_eq!(error.to_string(), "c: The expression 'app.gone.*' did not match any modules.");
}

#[test]
fn unmatched_ignored_imports_are_an_error_a_warning_or_nothing() {
    let contract = |alerting| {
        Contract::new("c", layers(three(), false, &[]))
            .ignore_imports(["app.x -> app.y".parse().expect("valid")])
            .unmatched_ignore_imports(alerting)
    };
    let graph = graph();
    let scope = Scope::new(["app"]);
    let error = graph.check(&contract(Alerting::Error), &scope).expect_err("unmatched");
    assert_eq!(error.to_string(), "c: No matches for ignored import app.x -> app.y.");
    assert_eq!(
        graph.check(&contract(Alerting::Warn), &scope).expect("warns").warnings,
        ["No matches for ignored import app.x -> app.y."]
    );
    assert!(graph.check(&contract(Alerting::None), &scope).expect("silent").warnings.is_empty());
    // `**` is any depth below, `*` exactly one name.
    let ignoring = |expression: &str| {
        let contract = Contract::new("c", layers(three(), false, &[]))
            .ignore_imports([expression.parse().expect("valid")])
            .unmatched_ignore_imports(Alerting::None);
        graph.check(&contract, &scope).expect("checked").kept
    };
    assert!(ignoring("app.** -> app.api.views"));
    assert!(ignoring("app.*.models -> app.*.views"));
    assert!(!ignoring("app.domain -> app.api.views") && !ignoring("app.domain.models -> app.api"));
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const INI: &str = "[importlinter]
root_packages =
    app
include_external_packages = True

[importlinter:contract:layers]
name = Layers
type = layers
containers = app
layers =
    api
    # services and friends
    services | (extra)
    domain
ignore_imports =
    app.domain.models -> app.api.views
unmatched_ignore_imports_alerting = warn

[importlinter:contract:acyclic]
name = Acyclic
type = acyclic_siblings
ancestors = app
depth = 3
";

const TOML: &str = r#"
[tool.importlinter]
root_packages = ["app"]
include_external_packages = true

[[tool.importlinter.contracts]]
id = "layers"
name = "Layers"
type = "layers"
containers = ["app"]
layers = ["api", "services | (extra)", "domain"]
ignore_imports = ["app.domain.models -> app.api.views"]
unmatched_ignore_imports_alerting = "warn"

[[tool.importlinter.contracts]]
id = "acyclic"
name = "Acyclic"
type = "acyclic_siblings"
ancestors = ["app"]
depth = 3
"#;

#[test]
fn ini_and_toml_configurations_read_the_same() {
    let dir = project(APP);
    write(dir.path(), ".importlinter", INI);
    let ini = Config::discover(dir.path()).expect("valid");
    std::fs::remove_file(dir.path().join(".importlinter")).expect("rm");
    write(dir.path(), "pyproject.toml", TOML);
    let toml = Config::discover(dir.path()).expect("valid");
    assert_eq!(ini.contracts, toml.contracts);
    assert_eq!((ini.root_packages.clone(), ini.include_external_packages), (vec!["app".to_owned()], true));
    assert_eq!(ini.contracts[0].id.as_deref(), Some("layers"));
    let ContractKind::Layers { layers, .. } = &ini.contracts[0].kind else { panic!("layers") };
    assert_eq!(layers.len(), 3, "the comment line inside the list is not a layer");
    assert!(layers[1].modules[1].optional && layers[1].independent);
    assert_eq!(ini.contracts[0].unmatched_ignore_imports, Alerting::Warn);

    let (graph, _) = ImportGraph::build(dir.path(), &ini.graph_config(dir.path()).expect("found")).expect("build");
    let report = pyatlas_graph::ContractsReport::check(&graph, &ini.scope(), &ini.contracts).expect("checked");
    assert!(report.contracts[0].kept, "the domain's import of api is ignored");
    assert!(!report.contracts[1].kept, "api -> services -> domain -> api is a cycle");
    assert!(report.to_text().contains("Layers KEPT (1 ignored import)\nAcyclic BROKEN"), "{}", report.to_text());
}

/// The error of reading `text` as `name`, as displayed.
fn error(name: &str, text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), name, text);
    Config::from_file(&path).expect_err("invalid").to_string().replace(&dir.path().display().to_string(), "DIR")
}

const HEAD: &str = "[importlinter]\nroot_package = app\n\n[importlinter:contract:one]\nname = One\n";

#[test]
fn every_configuration_error_names_the_file_the_contract_and_the_option() {
    let ini = |rest: &str| error("setup.cfg", &format!("{HEAD}{rest}"));
    assert_eq!(
        ini("type = forbidden\nsource_modules = app.serv*\nforbidden_modules = app.db\n"),
        "DIR/setup.cfg:7: contract 'One': source_modules: A wildcard can only replace a whole module."
    );
    assert_eq!(
        ini("type = layers\nlayers =\n    a | b : c\n"),
        "DIR/setup.cfg:7: contract 'One': layers: Layer cannot have a mixture of independent and non-independent elements."
    );
    assert_eq!(
        ini("type = layers\nlayers = a\nexhaustiv = true\n"),
        "DIR/setup.cfg:8: contract 'One': exhaustiv: Unrecognized option. Did you mean 'exhaustive'?"
    );
    assert_eq!(
        ini("type = layers\nlayers =\n    a\n    a.b\n"),
        "DIR/setup.cfg:7: contract 'One': layers: Layers cannot contain other layers: 'a' contains 'a.b'."
    );
    assert_eq!(
        ini("type = layers\nlayers =\n    a\n    b | a\n"),
        "DIR/setup.cfg:7: contract 'One': layers: Modules cannot be in more than one layer: 'a'."
    );
    assert_eq!(
        ini("type = layers\nlayers = a\nexhaustive = true\n"),
        "DIR/setup.cfg:8: contract 'One': exhaustive: The exhaustive option is not supported for contracts without containers."
    );
    assert_eq!(ini("type = independence\n"), "DIR/setup.cfg:4: contract 'One': modules: This is a required field.");
    assert_eq!(
        ini("type = forbidden\nsource_modules = a\nforbidden_modules = b\nas_packages = maybe\n"),
        "DIR/setup.cfg:9: contract 'One': as_packages: Could not parse a boolean from 'maybe'."
    );
    assert_eq!(
        ini("type = independence\nmodules = a\nunmatched_ignore_imports_alerting = loud\n"),
        "DIR/setup.cfg:8: contract 'One': unmatched_ignore_imports_alerting: Invalid value 'loud': expected 'none', 'warn' or 'error'."
    );
    assert_eq!(
        ini("type = acyclic_siblings\nancestors = a\ndepth = -1\n"),
        "DIR/setup.cfg:8: contract 'One': depth: Must be >= 0."
    );
    assert_eq!(ini("type = layered\n"), "DIR/setup.cfg:6: contract 'One': type: No such contract type: 'layered'.");
    assert_eq!(
        ini("type = independence\nmodules = a\nignore_imports = a.b\n"),
        "DIR/setup.cfg:8: contract 'One': ignore_imports: Must be in the form \"package.importer -> package.imported\"."
    );
    let custom = error(
        ".importlinter",
        "[importlinter]\nroot_package = app\ncontract_types =\n    mine: shop.contracts.Mine\n\n[importlinter:contract:one]\nname = One\ntype = mine\n",
    );
    assert!(
        custom.starts_with(
            "DIR/.importlinter:8: contract 'One': type: 'mine' is a custom contract type (shop.contracts.Mine"
        ),
        "{custom}"
    );
    assert!(custom.contains("cannot run here"), "{custom}");
    assert!(error("setup.cfg", "[importlinter]\nroot_package = app\n").contains("No contracts found"));
    assert_eq!(
        error("setup.cfg", "[importlinter]\nroot_package = app\n[importlinter]\n"),
        "DIR/setup.cfg:3: section 'importlinter' already exists"
    );
    assert_eq!(
        error(
            "pyproject.toml",
            "[tool.importlinter]\nroot_package = \"app\"\n[[tool.importlinter.contracts]]\nname = \"T\"\ntype = \"forbidden\"\nsource_modules = [\"a\"]\nforbidden_modules = \"b.*x\"\n"
        ),
        "DIR/pyproject.toml: contract 'T': forbidden_modules: A wildcard can only replace a whole module."
    );
    assert!(error("setup.cfg", "[metadata]\nname = x\n").contains("Could not read any configuration from"));
}

#[test]
fn root_packages_are_found_at_the_root_or_in_src() {
    let dir = project(&[
        ("src/app/__init__.py", ""),
        ("src/app/a.py", "import app.b\n"),
        ("src/app/b.py", ""),
        ("tests/test_a.py", "import app.a\n"),
    ]);
    let path = write(
        dir.path(),
        ".importlinter",
        "[importlinter]\nroot_package = app\n[importlinter:contract:x]\nname = X\ntype = independence\nmodules = app.a\n",
    );
    let config = Config::from_file(&path).expect("valid");
    let (graph, _) = ImportGraph::build(dir.path(), &config.graph_config(dir.path()).expect("found")).expect("build");
    let modules: Vec<&str> = graph.modules().map(|m| m.name.as_str()).collect();
    assert_eq!(modules, ["app", "app.a", "app.b"], "only the root package, from src/");
    let mut missing = config.clone();
    missing.root_packages = vec!["nothere".into()];
    let error = missing.graph_config(dir.path()).expect_err("missing").to_string();
    assert!(error.contains("Could not find root package 'nothere'"), "{error}");
}

#[test]
fn a_namespace_portion_is_a_root_package() {
    let dir = project(&[
        ("ns/portion/__init__.py", ""),
        ("ns/portion/a.py", "from ns.portion import b\nimport ns.other.c\n"),
        ("ns/portion/b.py", ""),
        ("ns/other/c.py", ""),
    ]);
    let path = write(
        dir.path(),
        ".importlinter",
        "[importlinter]\nroot_packages =\n    ns.portion\n[importlinter:contract:x]\nname = X\ntype = forbidden\nsource_modules = ns.portion.a\nforbidden_modules = ns.portion.b\n",
    );
    let config = Config::from_file(&path).expect("valid");
    let (graph, _) = ImportGraph::build(dir.path(), &config.graph_config(dir.path()).expect("found")).expect("build");
    let report = pyatlas_graph::ContractsReport::check(&graph, &config.scope(), &config.contracts).expect("checked");
    assert!(!report.kept());
    assert_eq!(report.contracts[0].violations[0].imported, "ns.portion.b");
    assert_eq!(report.files, 3, "ns.portion, its two modules; not the namespace above it nor its sibling portion");
}
