//! Finding files and naming modules: ignore rules, virtual environments,
//! globs, `src/` layouts, packages and namespace packages.

use std::path::Path;

use pyatlas_parser::{Config, discover, parse_codebase};

/// Creates `files` (path, contents) under a fresh temporary folder.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    dir
}

/// `(rel_path, module, is_package)` of every file found.
fn found(root: &Path, config: &Config) -> Vec<(String, String, bool)> {
    discover(root, config)
        .expect("walk")
        .files
        .into_iter()
        .map(|f| (f.rel_path, f.module.as_str().to_owned(), f.is_package))
        .collect()
}

fn owned(expected: &[(&str, &str, bool)]) -> Vec<(String, String, bool)> {
    expected.iter().map(|(p, m, i)| ((*p).to_owned(), (*m).to_owned(), *i)).collect()
}

#[test]
fn modules_are_named_from_the_root_with_packages_and_namespace_packages() {
    let dir = tree(&[
        ("pkg/__init__.py", ""),
        ("pkg/sub/mod.py", ""),
        ("pkg/sub/__init__.py", ""),
        ("nspkg/inner/leaf.py", ""),
        ("script.py", ""),
        ("notes.txt", ""),
    ]);
    assert_eq!(
        found(dir.path(), &Config::default()),
        owned(&[
            ("nspkg/inner/leaf.py", "nspkg.inner.leaf", false),
            ("pkg/__init__.py", "pkg", true),
            ("pkg/sub/__init__.py", "pkg.sub", true),
            ("pkg/sub/mod.py", "pkg.sub.mod", false),
            ("script.py", "script", false),
        ])
    );
}

#[test]
fn a_src_layout_is_detected() {
    let dir = tree(&[("src/app/__init__.py", ""), ("src/app/core.py", ""), ("tests/test_core.py", "")]);
    assert_eq!(
        found(dir.path(), &Config::default()),
        owned(&[
            ("src/app/__init__.py", "app", true),
            ("src/app/core.py", "app.core", false),
            ("tests/test_core.py", "tests.test_core", false),
        ])
    );
}

#[test]
fn explicit_source_roots_win() {
    let dir = tree(&[("lib/python/app/core.py", ""), ("tools/run.py", "")]);
    let config = Config::default().source_roots(["lib/python"]);
    assert_eq!(
        found(dir.path(), &config),
        owned(&[("lib/python/app/core.py", "app.core", false), ("tools/run.py", "tools.run", false)])
    );
}

#[test]
fn a_root_that_is_a_package_is_named_from_its_parent() {
    let dir = tree(&[("outer/__init__.py", ""), ("outer/inner/__init__.py", ""), ("outer/inner/mod.py", "")]);
    assert_eq!(
        found(&dir.path().join("outer/inner"), &Config::default()),
        owned(&[("__init__.py", "outer.inner", true), ("mod.py", "outer.inner.mod", false)])
    );
}

#[test]
fn a_single_file_root_is_parsed() {
    let dir = tree(&[("pkg/__init__.py", ""), ("pkg/mod.py", "def f(): pass\n")]);
    let codebase = parse_codebase(dir.path().join("pkg/mod.py"), &Config::default()).expect("parse");
    assert_eq!(codebase.files.len(), 1);
    assert_eq!(codebase.files[0].module.as_str(), "pkg.mod");
    assert_eq!(codebase.files[0].path, "mod.py");
}

#[test]
fn gitignore_hidden_folders_and_virtual_environments_are_skipped() {
    let dir = tree(&[
        (".gitignore", "generated/\n*_pb2.py\n"),
        ("app.py", ""),
        ("generated/out.py", ""),
        ("api_pb2.py", ""),
        (".hidden/secret.py", ""),
        ("env/pyvenv.cfg", "home = /usr/bin\n"),
        ("env/lib/python3.11/site-packages/dep.py", ""),
        ("conda/conda-meta/history", ""),
        ("conda/lib/x.py", ""),
        ("lib/site-packages/dep.py", ""),
        ("pkg/__pycache__/cached.py", ""),
        ("venv_tools/tool.py", ""),
    ]);
    let paths: Vec<_> = found(dir.path(), &Config::default()).into_iter().map(|(p, ..)| p).collect();
    assert_eq!(paths, ["app.py", "venv_tools/tool.py"]);

    let everything = Config::default().respect_gitignore(false).skip_hidden(false).skip_virtualenvs(false);
    assert_eq!(found(dir.path(), &everything).len(), 9);
}

#[test]
fn include_and_exclude_globs_and_stubs() {
    let dir =
        tree(&[("app/core.py", ""), ("app/core.pyi", ""), ("app/tests/test_core.py", ""), ("scripts/run.py", "")]);
    let paths = |config: &Config| found(dir.path(), config).into_iter().map(|(p, ..)| p).collect::<Vec<_>>();
    assert_eq!(paths(&Config::default()), ["app/core.py", "app/tests/test_core.py", "scripts/run.py"]);
    assert_eq!(
        paths(&Config::default().include_stubs(true)),
        ["app/core.py", "app/core.pyi", "app/tests/test_core.py", "scripts/run.py"]
    );
    assert_eq!(paths(&Config::default().exclude(["**/tests", "scripts"])), ["app/core.py"]);
    assert_eq!(paths(&Config::default().include(["app/**"])), ["app/core.py", "app/tests/test_core.py"]);
    assert!(discover(dir.path(), &Config::default().exclude(["[unclosed"])).is_err());
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let files: Vec<(String, String)> = (0..40)
        .map(|i| (format!("pkg{}/m{i}.py", i % 3), format!("import os\n\ndef f{i}():\n    return os.sep * {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let dir = tree(&refs);
    let one = parse_codebase(dir.path(), &Config::default().threads(1)).expect("parse");
    let four = parse_codebase(dir.path(), &Config::default().threads(4)).expect("parse");
    assert_eq!(one.files, four.files);
    assert_eq!(one.files.len(), 40);
    let mut sorted: Vec<_> = one.files.iter().map(|f| f.path.clone()).collect();
    sorted.sort();
    assert_eq!(one.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>(), sorted);
    assert_eq!((one.stats.units, one.stats.imports), (40, 40));
}
