//! The contracts example against lint-imports 2.17 (installed by
//! scripts/test), on code nobody here wrote: sqlfluff's and import-linter's
//! own configurations on their sdists, each also with planted imports that
//! break every contract, and a configuration with every contract type on
//! Django. What must agree: the verdict per contract and the set of
//! violations (importer, imported); for acyclic_siblings, whose cycle
//! breakers are a heuristic, the verdict alone.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::example;

/// Per contract name: kept, the violating pairs, and the undeclared modules.
type Verdicts = BTreeMap<String, (bool, BTreeSet<(String, String)>, BTreeSet<String>)>;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An unpacked sdist, prepared by scripts/test.
fn sdist(name: &str) -> PathBuf {
    let dir = workspace().join("target/sdists").join(name);
    assert!(dir.is_dir(), "{} is missing: scripts/test downloads and unpacks it", dir.display());
    dir
}

/// A copy of `from` in a fresh temporary folder.
fn copy(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status =
        Command::new("cp").arg("-r").arg(format!("{}/.", from.display())).arg(dir.path()).status().expect("cp");
    assert!(status.success());
    dir
}

fn append(root: &Path, file: &str, line: &str) {
    let path = root.join(file);
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str(line);
    text.push('\n');
    std::fs::write(path, text).expect("plant");
}

/// lint-imports' verdicts, parsed from its text output (the only one it has).
fn lint_imports(cwd: &Path, python_path: &Path, config: Option<&Path>) -> Verdicts {
    let mut command = Command::new("lint-imports");
    command.args(["--no-cache", "--no-logo"]).current_dir(cwd).env("PYTHONPATH", python_path).env("COLUMNS", "100000");
    if let Some(config) = config {
        command.arg(config);
    }
    let out = command.output().expect("lint-imports is installed by scripts/test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Contracts: "), "lint-imports failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    let mut verdicts = Verdicts::new();
    let lines: Vec<&str> = text.lines().collect();
    let summary = lines.iter().position(|l| l.starts_with("Contracts: ")).expect("summary");
    for line in &lines[..summary] {
        let line = line.split(" (").next().unwrap_or(line);
        for (suffix, kept) in [(" KEPT", true), (" BROKEN", false)] {
            if let Some(name) = line.strip_suffix(suffix) {
                verdicts.insert(name.to_owned(), (kept, BTreeSet::new(), BTreeSet::new()));
            }
        }
    }
    let (mut current, mut protected, mut undeclared) = (None::<String>, false, false);
    for pair in lines[summary..].windows(2) {
        let (line, next) = (pair[0], pair[1]);
        if !next.is_empty() && next.chars().all(|c| c == '-') && verdicts.contains_key(line) {
            (current, protected, undeclared) = (Some(line.to_owned()), false, false);
            continue;
        }
        let Some(entry) = current.as_ref().and_then(|c| verdicts.get_mut(c)) else { continue };
        if let Some((a, b)) = line.strip_suffix(':').and_then(|l| l.split_once(" is not allowed to import ")) {
            entry.1.insert((a.to_owned(), b.to_owned()));
        } else if line.starts_with("Illegal imports of protected package") {
            protected = true;
        } else if line.starts_with("The following modules are not listed as layers") {
            undeclared = true;
        } else if line.starts_with("(Since") {
            undeclared = false;
        } else if let Some(item) = line.strip_prefix("- ") {
            if protected {
                let (a, rest) = item.split_once(" -> ").expect("an import");
                entry.1.insert((a.to_owned(), rest.split(" (").next().unwrap_or(rest).to_owned()));
            } else if undeclared {
                entry.2.insert(item.trim().to_owned());
            }
        }
    }
    verdicts
}

/// The example's verdicts, from its JSON output, and its exit status.
fn pyatlas(root: &Path, config: Option<&Path>) -> (Verdicts, i32, serde_json::Value) {
    let mut command = example("contracts");
    command.arg(root).args(["--format", "json"]);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let out = command.output().expect("contracts");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let mut verdicts = Verdicts::new();
    for c in json["contracts"].as_array().expect("contracts") {
        let pairs = c["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .map(|v| {
                (
                    v["importer"].as_str().expect("importer").to_owned(),
                    v["imported"].as_str().expect("imported").to_owned(),
                )
            })
            .collect();
        let undeclared = c["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter_map(|w| {
                w.as_str()?.strip_suffix(" is not listed as a layer (the contract is exhaustive).").map(str::to_owned)
            })
            .collect();
        verdicts.insert(
            c["name"].as_str().expect("name").to_owned(),
            (c["kept"].as_bool().expect("kept"), pairs, undeclared),
        );
    }
    (verdicts, out.status.code().expect("exit code"), json)
}

/// Compares, leaving out the violations of acyclic_siblings contracts.
fn assert_agree(theirs: &Verdicts, ours: &Verdicts, acyclic: &[&str]) {
    assert_eq!(theirs.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>(), "the same contracts");
    for (name, (kept, pairs, undeclared)) in theirs {
        let (our_kept, our_pairs, our_undeclared) = &ours[name];
        assert_eq!(kept, our_kept, "verdict of {name}");
        if !acyclic.contains(&name.as_str()) {
            assert_eq!(pairs, our_pairs, "violations of {name}");
            assert_eq!(undeclared, our_undeclared, "undeclared modules of {name}");
        }
    }
}

#[test]
fn sqlfluff_contracts_agree_with_lint_imports() {
    let root = sdist("sqlfluff-4.5.0");
    let theirs = lint_imports(&root, &root.join("src"), None);
    let (ours, code, json) = pyatlas(&root, None);
    assert_eq!(theirs.len(), 4);
    assert!(theirs.values().all(|(kept, ..)| *kept), "{theirs:?}");
    assert_agree(&theirs, &ours, &[]);
    assert_eq!(code, 0);
    assert_eq!((json["files"].as_u64(), json["dependencies"].as_u64()), (Some(269), Some(997)), "lint-imports' counts");
}

#[test]
fn sqlfluff_with_planted_imports_breaks_every_contract_as_lint_imports_says() {
    let copy = copy(&sdist("sqlfluff-4.5.0"));
    let src = copy.path().join("src/sqlfluff");
    append(&src, "core/config/__init__.py", "import sqlfluff.cli.commands");
    append(&src, "api/simple.py", "from sqlfluff.cli import formatters");
    append(&src, "core/helpers/string.py", "from sqlfluff.core.helpers import dict as _d");
    append(&src, "core/helpers/file.py", "import sqlfluff.core.linter.linter");
    let theirs = lint_imports(copy.path(), &copy.path().join("src"), None);
    let (ours, code, _) = pyatlas(copy.path(), None);
    assert!(theirs.values().all(|(kept, ..)| !kept), "{theirs:?}");
    assert!(theirs.values().map(|(_, pairs, _)| pairs.len()).sum::<usize>() >= 8, "{theirs:?}");
    assert_agree(&theirs, &ours, &[]);
    assert_eq!(code, 1);
}

#[test]
fn import_linter_contracts_agree_with_lint_imports() {
    let root = sdist("import_linter-2.17");
    let theirs = lint_imports(&root, &root.join("src"), None);
    let (ours, code, _) = pyatlas(&root, None);
    assert_eq!(theirs.len(), 2);
    assert_agree(&theirs, &ours, &["All packages are acyclic"]);
    assert_eq!(code, 0);

    // A lower layer importing a higher one, an undeclared child, a cycle.
    let copy = copy(&root);
    let src = copy.path().join("src/importlinter");
    append(&src, "domain/helpers.py", "import importlinter.cli");
    std::fs::write(src.join("extra.py"), "").expect("write");
    append(&src, "contracts/_common.py", "from importlinter.contracts import layers");
    let theirs = lint_imports(copy.path(), &copy.path().join("src"), None);
    let (ours, code, _) = pyatlas(copy.path(), None);
    assert!(theirs.values().all(|(kept, ..)| !kept), "{theirs:?}");
    assert!(theirs["Layered architecture"].2.contains("importlinter.extra"), "{theirs:?}");
    assert_agree(&theirs, &ours, &["All packages are acyclic"]);
    assert_eq!(code, 1);
}

#[test]
fn every_contract_type_on_django_agrees_with_lint_imports() {
    let config = workspace().join("tests/contracts/django.ini");
    let site = std::fs::read_dir(workspace().join("target/test-venv/lib"))
        .expect("the test venv")
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.join("django").is_dir())
        .expect("Django in the test venv");
    let cwd = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&config, cwd.path().join(".importlinter")).expect("copy");
    let theirs = lint_imports(cwd.path(), &site, None);
    let (ours, code, json) = pyatlas(&site, Some(&config));
    assert_eq!(theirs.len(), 12);
    assert_agree(&theirs, &ours, &["The ORM is acyclic", "Dispatch is acyclic"]);
    assert_eq!(code, 1);
    assert_eq!(json["contracts"][0]["warnings"].as_array().map(Vec::len), Some(2), "two unmatched ignored imports");
    assert!(theirs.values().map(|(_, pairs, _)| pairs.len()).sum::<usize>() > 100, "{theirs:?}");
    assert!(!theirs["Only the ORM imports the backends"].1.is_empty(), "protected imports were parsed");
    assert_eq!(
        (json["files"].as_u64(), json["dependencies"].as_u64()),
        (Some(1012), Some(4178)),
        "lint-imports' counts"
    );
}

const APP: &[(&str, &str)] = &[
    ("app/__init__.py", ""),
    ("app/api.py", "from app import services\n"),
    ("app/services.py", "from app import domain\n"),
    ("app/domain.py", "import os\n\nfrom app import api\n"),
    (
        ".importlinter",
        "[importlinter]\nroot_package = app\n\n[importlinter:contract:layers]\nname = Layers\ntype = layers\nbroken_contract_guidance = Ask the architects.\nlayers =\n    app.api\n    app.services\n    app.domain\n\n[importlinter:contract:pure]\nname = Pure API\ntype = forbidden\nsource_modules = app.api\nforbidden_modules = app.services\nallow_indirect_imports = true\nignore_imports = app.api -> app.services\n",
    ),
];

fn app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in APP {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn run(command: &mut Command) -> (i32, String, String) {
    let out = command.output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn text_output_and_exit_codes_are_lint_imports_own() {
    let dir = app();
    let (code, text, _) = run(example("contracts").arg(dir.path()));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Layers BROKEN\nPure API KEPT (1 ignored import)\n\nContracts: 1 kept, 1 broken."), "{text}");
    assert!(
        text.contains(
            "app.domain is not allowed to import app.api:\n\n- app.domain -> app.api (l.3)\n\nAsk the architects.\n"
        ),
        "{text}"
    );

    let (code, text, _) = run(example("contracts").arg(dir.path()).args(["--contract", "pure"]));
    assert_eq!((code, text.contains("Layers")), (0, false), "{text}");
    let (code, _, err) = run(example("contracts").arg(dir.path()).args(["--contract", "nope"]));
    assert_eq!(code, 1);
    assert!(err.contains("Could not find contract 'nope'"), "{err}");
    let (code, _, err) = run(example("contracts").arg(dir.path().join("nowhere")));
    assert_eq!(code, 1);
    assert!(err.contains("is not a folder"), "{err}");

    std::fs::write(
        dir.path().join("bad.ini"),
        "[importlinter]\nroot_package = app\n[importlinter:contract:x]\nname = X\ntype = layers\nlayers = a | b : c\n",
    )
    .expect("write");
    let (code, _, err) = run(example("contracts").arg(dir.path()).args(["--config"]).arg(dir.path().join("bad.ini")));
    assert_eq!(code, 1);
    assert!(err.contains("bad.ini:6: contract 'X': layers: Layer cannot have a mixture"), "{err}");
}

#[test]
fn sarif_points_at_the_importing_line() {
    let dir = app();
    let (code, text, _) =
        run(Command::new(env!("CARGO_BIN_EXE_pyatlas-contracts")).arg(dir.path()).args(["--format", "sarif"]));
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["ruleId"], "layers");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        (location["artifactLocation"]["uri"].as_str(), location["region"]["startLine"].as_u64()),
        (Some("app/domain.py"), Some(3))
    );
}

#[test]
fn the_pre_commit_hooks_run_installable_commands() {
    let hooks = std::fs::read_to_string(workspace().join(".pre-commit-hooks.yaml")).expect("hooks file");
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).expect("manifest");
    let entries: Vec<&str> = hooks.lines().filter_map(|l| l.trim().strip_prefix("entry: ")).collect();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        let command = entry.split_whitespace().next().expect("a command");
        assert!(manifest.contains(&format!("[[bin]]\nname = \"{command}\"")), "{command} is a binary of the package");
    }
    assert_eq!(hooks.lines().filter(|l| l.trim() == "language: rust").count(), 2);
}

/// Broken rules (usage module, definition module, line), lines of
/// ignore-directive errors, unused dependencies, and the exit status.
type TachErrors = (BTreeSet<(String, String, u64)>, BTreeSet<u64>, BTreeSet<(String, String)>, i32);

/// `tach check`'s errors: (usage module, definition module, line) of each
/// broken dependency or layer rule and (file, line) of each ignore-directive
/// error (JSON output), and the unused dependencies it prints in text mode
/// (its JSON output leaves them out).
fn tach_check(root: &Path) -> TachErrors {
    let out = Command::new("tach")
        .args(["check", "--dependencies", "--output", "json"])
        .current_dir(root)
        .output()
        .expect("tach is installed by scripts/test");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let (mut rules, mut directives) = (BTreeSet::new(), BTreeSet::new());
    for diagnostic in json.as_array().expect("diagnostics") {
        let Some(located) = diagnostic.get("Located").filter(|l| l["severity"] == "Error") else { continue };
        let line = located["line_number"].as_u64().expect("line");
        let code = located["details"]["Code"].as_object().expect("a code diagnostic");
        let (kind, details) = code.iter().next().expect("one kind");
        if kind.contains("IgnoreDirective") {
            directives.insert(line);
        } else {
            let field = |f: &str| details[f].as_str().expect(f).to_owned();
            rules.insert((field("usage_module"), field("definition_module"), line));
        }
    }
    let text =
        Command::new("tach").args(["check", "--dependencies", "--exact"]).current_dir(root).output().expect("tach");
    let text = String::from_utf8_lossy(&text.stdout).into_owned() + &String::from_utf8_lossy(&text.stderr);
    let unused = text
        .lines()
        .filter_map(|l| l.split_once("' does not depend on: ["))
        .flat_map(|(module, list)| {
            let module = module.rsplit('\'').next().expect("module").to_owned();
            list.trim_end_matches(']')
                .split(", ")
                .map(move |d| (module.clone(), d.trim_matches('\'').to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    (rules, directives, unused, out.status.code().expect("exit code"))
}

/// The same from the example's JSON.
fn pyatlas_tach(root: &Path) -> TachErrors {
    let (_, code, json) = pyatlas(root, None);
    let tach = json["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .find(|c| c["type"] == "tach")
        .expect("a tach contract")
        .clone();
    let (mut rules, mut directives, mut unused) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for v in tach["violations"].as_array().expect("violations") {
        let (importer, imported) =
            (v["importer"].as_str().expect("importer"), v["imported"].as_str().expect("imported"));
        let chains = v["chains"].as_array().expect("chains");
        if chains.is_empty() {
            unused.insert((importer.to_owned(), imported.to_owned()));
        }
        for chain in chains {
            for line in chain[0]["lines"].as_array().expect("lines") {
                let line = line.as_u64().expect("line");
                if imported == "tach-ignore" {
                    directives.insert(line);
                } else {
                    rules.insert((importer.to_owned(), imported.to_owned(), line));
                }
            }
        }
    }
    (rules, directives, unused, code)
}

#[test]
fn tach_check_agrees_on_tachs_own_configuration() {
    let root = sdist("tach-0.35.3");
    let (theirs, ours) = (tach_check(&root), pyatlas_tach(&root));
    assert_eq!(theirs, (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), 0), "tach keeps its own rules");
    assert_eq!(theirs, ours);

    // A layer broken, an undeclared dependency (one inside a tach.domain.toml),
    // an unused one, a deprecated one, ignore directives with and without a reason.
    let copy = copy(&root);
    let src = copy.path().join("python/tach");
    append(&src, "cache/__init__.py", "from tach.cli import main as _m");
    append(&src, "logging/__init__.py", "import tach.filesystem");
    append(
        &src,
        "hooks/__init__.py",
        "import tach.report  # tach-ignore(testing) tach.report\n# tach-ignore\nimport tach.show",
    );
    append(&src, "filesystem/git_ops.py", "from tach.filesystem import service");
    let config = copy.path().join("tach.toml");
    let text = std::fs::read_to_string(&config).expect("tach.toml");
    let text = text
        .replace(
            "depends_on = [\"tach.show\", \"tach.mod\"]",
            "depends_on = [\"tach.show\", \"tach.mod\", \"tach.cache\"]",
        )
        .replace(
            "depends_on = [\n    \"tach.cli\",\n]",
            "depends_on = [\n    {path = \"tach.cli\", deprecated = true},\n]",
        );
    std::fs::write(&config, text).expect("write");
    let (theirs, ours) = (tach_check(copy.path()), pyatlas_tach(copy.path()));
    assert_eq!(theirs.0.len(), 3, "{theirs:?}");
    assert_eq!((theirs.1.len(), theirs.2.len()), (1, 1), "{theirs:?}");
    assert_eq!(theirs.3, 1);
    assert_eq!(theirs, ours);
}

#[test]
fn tach_check_agrees_on_closed_layers_utilities_directives_and_exact() {
    let dir = copy(&workspace().join("crates/graph/tests/fixtures/tach_app"));
    std::fs::write(
        dir.path().join("tach.toml"),
        "exact = true\nsource_roots = [\"src\"]\nlayers = [\"ui\", {name = \"domain\", closed = true}, \"data\"]\n\n[[modules]]\npath = \"app.api\"\nlayer = \"ui\"\ndepends_on = [\"app.core\"]\n\n[[modules]]\npath = \"app.core\"\nlayer = \"domain\"\ndepends_on = []\n\n[[modules]]\npath = \"app.db\"\nlayer = \"data\"\ndepends_on = [\"app.core\"]\n\n[[modules]]\npath = \"app.util\"\nutility = true\ndepends_on = [\"app.api\", \"app.db\"]\n\n[rules]\nrequire_ignore_directive_reasons = \"error\"\n",
    )
    .expect("write");
    let (theirs, ours) = (tach_check(dir.path()), pyatlas_tach(dir.path()));
    assert_eq!((theirs.0.len(), theirs.1.len(), theirs.2.len(), theirs.3), (2, 1, 2, 1), "{theirs:?}");
    assert_eq!(theirs, ours);
}
