//! What the benches share.

use std::path::PathBuf;
use std::process::Command;

/// The corpus: `$PYATLAS_BENCH_CORPUS`, or the standard library of the
/// machine's `python3`.
pub(crate) fn corpus_root() -> PathBuf {
    if let Ok(root) = std::env::var("PYATLAS_BENCH_CORPUS") {
        return root.into();
    }
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3 for the default corpus, or set PYATLAS_BENCH_CORPUS");
    String::from_utf8(out.stdout).expect("utf-8 path").trim().into()
}
