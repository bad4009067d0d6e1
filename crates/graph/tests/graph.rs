//! The graph crate on small fixture projects: one test per resolution rule,
//! the queries, the contracts, the cache, the call graph and the exports.

use pyatlas_graph::{CallGraph, ClassHierarchy, GraphConfig, ImportGraph, ModuleKind, UnitRef, Walk};
use pyatlas_parser::{Config, parse_codebase};

/// Creates `files` (path, contents) under a fresh temporary folder.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    dir
}

fn build(files: &[(&str, &str)]) -> ImportGraph {
    let dir = project(files);
    ImportGraph::build(dir.path(), &GraphConfig::default()).expect("build").0
}

fn edges(graph: &ImportGraph) -> Vec<String> {
    let mut edges: Vec<String> = graph.edges().map(|(a, b, e)| format!("{a} -> {b} {:?}", e.lines)).collect();
    edges.sort();
    edges
}

const SHOP: &[(&str, &str)] = &[
    ("shop/__init__.py", "from .api import app\n"),
    ("shop/api.py", "from shop.services import orders\nimport shop.services.pricing as pricing\n"),
    ("shop/services/__init__.py", "from . import orders, pricing\n"),
    (
        "shop/services/orders.py",
        "from ..domain import Order\nfrom ..domain.models import *\nimport requests\nimport json\n",
    ),
    (
        "shop/services/pricing.py",
        "from shop.domain.models import price_of\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from shop.services.orders import Cart\n",
    ),
    ("shop/domain/__init__.py", "from .models import Order\n"),
    ("shop/domain/models.py", "def price_of(x):\n    from shop.api import app\n    return app\n\nclass Order: pass\n"),
];

#[test]
fn imports_resolve_as_grimp_resolves_them() {
    let graph = build(SHOP);
    assert_eq!(
        edges(&graph),
        [
            "shop -> shop.api [1]",
            "shop.api -> shop.services.orders [1]",
            "shop.api -> shop.services.pricing [2]",
            "shop.domain -> shop.domain.models [1]",
            "shop.domain.models -> shop.api [2]",
            "shop.services -> shop.services.orders [1]",
            "shop.services -> shop.services.pricing [1]",
            "shop.services.orders -> json [4]",
            "shop.services.orders -> requests [3]",
            "shop.services.orders -> shop.domain [1]",
            "shop.services.orders -> shop.domain.models [2]",
            "shop.services.pricing -> shop.domain.models [1]",
            "shop.services.pricing -> shop.services.orders [4]",
            "shop.services.pricing -> typing [2]",
        ]
    );
    // `from shop.services import orders`: a module, so the edge goes to it,
    // not to the package (grimp's rule).
    assert!(graph.edge("shop.api", "shop.services.orders").is_some());
    assert!(graph.edge("shop.api", "shop.services").is_none());
    assert_eq!(graph.module("requests").map(|m| m.kind), Some(ModuleKind::External));
    assert_eq!(graph.module("json").map(|m| m.kind), Some(ModuleKind::Stdlib));
    assert_eq!(graph.module("typing").map(|m| m.kind), Some(ModuleKind::Stdlib));
    assert_eq!(graph.module("shop.services.orders").and_then(|m| m.path.as_deref()), Some("shop/services/orders.py"));
    assert!(graph.module("shop.services").is_some_and(|m| m.is_package));
}

#[test]
fn edges_carry_their_flags() {
    let graph = build(SHOP);
    let type_checking = graph.edge("shop.services.pricing", "shop.services.orders").expect("edge");
    assert!(type_checking.type_checking && !type_checking.function_level);
    let in_function = graph.edge("shop.domain.models", "shop.api").expect("edge");
    assert!(in_function.function_level && !in_function.type_checking);
    let plain = graph.edge("shop.api", "shop.services.pricing").expect("edge");
    assert!(!plain.type_checking && !plain.function_level);

    let dir = project(SHOP);
    let (without, _) =
        ImportGraph::build(dir.path(), &GraphConfig::default().include_type_checking(false)).expect("build");
    assert!(without.edge("shop.services.pricing", "shop.services.orders").is_none());
    let (internal, _) = ImportGraph::build(dir.path(), &GraphConfig::default().include_external(false)).expect("build");
    assert!(internal.module("requests").is_none() && internal.modules().all(|m| m.kind == ModuleKind::Internal));
}

#[test]
fn namespace_packages_src_layouts_and_unresolved_imports() {
    let graph = build(&[
        ("src/app/__init__.py", ""),
        (
            "src/app/main.py",
            "from app.plugins import loader\nimport app.gone.away\nfrom ... import too_far\nimport app.gone\n",
        ),
        ("src/app/plugins/loader.py", "from app.plugins import loader\nimport app.plugins.loader.thing\n"),
        ("scripts/run.py", "import app.main\n"),
    ]);
    // `app.plugins` has no __init__.py: a namespace package, and a module.
    assert!(graph.module("app.plugins").is_some_and(|m| m.is_package && m.path.is_none()));
    assert!(graph.edge("app.main", "app.plugins.loader").is_some());
    assert!(graph.edge("scripts.run", "app.main").is_some(), "src/ layout and a folder beside it");
    // `import a.b.c.thing` where only a.b.c exists: the parent, as grimp.
    assert!(graph.edge("app.plugins.loader", "app.plugins.loader").is_none(), "no self edge");
    let unresolved: Vec<_> =
        graph.unresolved().iter().map(|u| (u.importer.as_str(), u.imported.as_str(), u.line)).collect();
    // `import app.gone` falls back to its parent `app` (grimp's rule); two
    // missing levels are an unresolved internal import, reported.
    assert!(graph.edge("app.main", "app").is_some_and(|e| e.lines == [4]));
    assert_eq!(unresolved, [("app.main", "app.gone.away", 2), ("app.main", "...", 3)]);
}

#[test]
fn cycles_closures_chains_and_degrees() {
    let graph = build(SHOP);
    let cycles = graph.cycles(Walk::default());
    assert_eq!(cycles.len(), 1);
    assert!(cycles[0].modules.contains(&"shop.api".to_owned()));
    let example = &cycles[0].example;
    assert_eq!(example.first(), example.last());
    assert_eq!(example[0], cycles[0].modules[0], "the example starts at the component's first module");
    // pricing imports orders under TYPE_CHECKING; without those imports it
    // still reaches orders, but through a function-level import of shop.api.
    let walk = Walk::without_type_checking();
    let direct = graph.shortest_chain("shop.services.pricing", "shop.services.orders", Walk::all()).expect("chain");
    assert_eq!(direct.len(), 1);
    let around = graph.shortest_chain("shop.services.pricing", "shop.services.orders", walk).expect("chain");
    let around: Vec<_> = around.iter().map(|h| h.imported.as_str()).collect();
    assert_eq!(around, ["shop.domain.models", "shop.api", "shop.services.orders"]);
    assert!(graph.upstream("shop.services.pricing", walk).contains("requests"));
    assert!(graph.downstream("shop.domain.models", Walk::default()).contains("shop.api"));
    assert!(
        !graph.upstream("shop.domain", Walk::all()).contains("shop.domain.models"),
        "its own modules are not upstream"
    );

    let chain = graph.shortest_chain("shop.api", "shop.domain", Walk::default()).expect("a chain");
    let hops: Vec<_> = chain.iter().map(|h| (h.importer.as_str(), h.imported.as_str(), h.lines.clone())).collect();
    assert_eq!(hops[0].0, "shop.api");
    assert!(hops.last().is_some_and(|h| h.1.starts_with("shop.domain")));
    assert!(hops.iter().all(|h| !h.2.is_empty()), "every hop has its lines");
    assert!(graph.shortest_chain("json", "shop", walk).is_none());

    let degrees = graph.degrees();
    let orders = degrees.iter().find(|d| d.0 == "shop.services.orders").expect("orders");
    assert_eq!((orders.1, orders.2), (3, 4));
    let ranked = graph.page_rank();
    assert!(ranked.iter().position(|r| r.0 == "shop.domain.models") < ranked.iter().position(|r| r.0 == "shop"));
}

#[test]
fn orphans_and_squashing() {
    let graph = build(&[
        ("pkg/__init__.py", ""),
        ("pkg/a/__init__.py", ""),
        ("pkg/a/one.py", "from pkg.b import two\n"),
        ("pkg/b/__init__.py", ""),
        ("pkg/b/two.py", "import os\n"),
        ("pkg/lonely.py", "import sys\n"),
    ]);
    assert_eq!(graph.orphans(), ["pkg.lonely"]);
    let squashed = graph.squash(2);
    assert_eq!(edges(&squashed), ["pkg.a -> pkg.b [1]", "pkg.b -> os [1]", "pkg.lonely -> sys [1]"]);
}

#[test]
fn the_cache_gives_the_same_graph_and_notices_changes() {
    let dir = project(SHOP);
    let cache = tempfile::tempdir().expect("cache dir");
    let config = GraphConfig::default().cache_dir(cache.path());
    let (cold, stats) = ImportGraph::build(dir.path(), &config).expect("cold");
    assert_eq!((stats.files, stats.cached), (7, 0));
    let (warm, stats) = ImportGraph::build(dir.path(), &config).expect("warm");
    assert_eq!((stats.files, stats.cached, stats.scanned), (7, 7, 0));
    assert_eq!(edges(&cold), edges(&warm));

    // A changed file is scanned again; a rewritten one with the same content is not.
    let api = dir.path().join("shop/api.py");
    std::fs::write(&api, "import shop.domain\n").expect("edit");
    let same = dir.path().join("shop/domain/__init__.py");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&same, "from .models import Order\n").expect("touch");
    let (edited, stats) = ImportGraph::build(dir.path(), &config).expect("edited");
    assert_eq!(stats.cached, 6, "only the edited file is scanned");
    assert!(edited.edge("shop.api", "shop.domain").is_some() && edited.edge("shop.api", "shop.services").is_none());

    // A deleted file leaves; a corrupt cache is rebuilt.
    std::fs::remove_file(dir.path().join("shop/services/pricing.py")).expect("delete");
    std::fs::write(cache.path().join("pyatlas-imports.json"), "{ not json").expect("corrupt");
    let (rebuilt, stats) = ImportGraph::build(dir.path(), &config).expect("rebuilt");
    assert_eq!((stats.files, stats.cached), (6, 0));
    assert!(rebuilt.module("shop.services.pricing").is_none());
}

#[test]
fn the_graph_from_full_parse_records_matches_the_fast_path() {
    let dir = project(SHOP);
    let codebase = parse_codebase(dir.path(), &Config::default()).expect("parse");
    let from_records = ImportGraph::from_records(&codebase.files, &GraphConfig::default());
    let (fast, _) = ImportGraph::build(dir.path(), &GraphConfig::default()).expect("build");
    assert_eq!(edges(&from_records), edges(&fast));
}

const CALLS: &[(&str, &str)] = &[
    ("app/__init__.py", ""),
    (
        "app/base.py",
        "class Repository:\n    def __init__(self, db):\n        self.db = db\n\n    def save(self, item):\n        return self.db.insert(item)\n",
    ),
    (
        "app/orders.py",
        "from app.base import Repository\nfrom app import base as b\nimport json\n\n\nclass Orders(Repository):\n    def add(self, order):\n        self.save(order)\n        return json.dumps(order)\n\n    @classmethod\n    def make(cls, db):\n        return cls(db)\n\n\ndef helper(x):\n    return len(x)\n\n\ndef run(db):\n    def inner():\n        return helper([1])\n    orders = Orders(db)\n    orders.add({})\n    b.Repository(db).save(inner())\n    print(undefined_thing())\n\n\nrun(None)\n",
    ),
];

#[test]
fn calls_resolve_through_bindings_self_and_bases() {
    let dir = project(CALLS);
    let codebase = parse_codebase(dir.path(), &Config::default()).expect("parse");
    let calls = CallGraph::build(&codebase.files);
    let unit = |m: &str, q: &str| UnitRef::new(m, q);
    let callees =
        |m: &str, q: &str| -> Vec<String> { calls.callees(&unit(m, q)).iter().map(|(u, _)| u.to_string()).collect() };

    // self.save() is inherited from Repository in another module.
    assert_eq!(callees("app.orders", "Orders.add"), ["app.base:Repository.save"]);
    // Orders(db) runs the inherited __init__; helper and the nested inner are found.
    assert_eq!(callees("app.orders", "run"), ["app.base:Repository.__init__", "app.orders:run.<locals>.inner"]);
    assert_eq!(callees("app.orders", "run.<locals>.inner"), ["app.orders:helper"]);
    // cls(db) is not followed (cls is a value); module-level code calls run.
    assert_eq!(callees("app.orders", "<module>"), ["app.orders:run"]);
    let stats = calls.stats();
    assert_eq!(stats.calls, 14, "{stats:?}");
    // Unresolved: cls(db), len, orders.add, b.Repository(db).save, print,
    // undefined_thing and self.db.insert: values and builtins, never guessed.
    assert_eq!((stats.resolved, stats.external, stats.unresolved), (6, 1, 7), "{stats:?}");
    assert_eq!(stats.resolved + stats.external + stats.unresolved, stats.calls);
    // Depth-limited reach, for drift rules.
    let reach: Vec<_> =
        calls.reachable(&unit("app.orders", "run"), 2).into_iter().map(|(u, d)| (u.to_string(), d)).collect();
    assert!(reach.contains(&("app.orders:helper".to_owned(), 2)));
    assert_eq!(calls.callers(&unit("app.base", "Repository.save")).len(), 1);

    let hierarchy = ClassHierarchy::build(&codebase.files);
    let orders = unit("app.orders", "Orders");
    assert_eq!(hierarchy.bases(&orders), [unit("app.base", "Repository")]);
    assert_eq!(hierarchy.subclasses(&unit("app.base", "Repository")), std::slice::from_ref(&orders));
    assert_eq!(calls.hierarchy().bases(&orders), hierarchy.bases(&orders));
}

#[test]
fn exports_render() {
    let graph = build(&[
        ("pkg/__init__.py", ""),
        ("pkg/a.py", "from pkg import b\nimport os\n"),
        ("pkg/b.py", "if TYPE_CHECKING:\n    import pkg.a\n"),
    ]);
    insta::assert_snapshot!("dot", graph.to_dot());
    insta::assert_snapshot!("mermaid", graph.to_mermaid());
    insta::assert_snapshot!("json", graph.to_json().expect("json"));
}
