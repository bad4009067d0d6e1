//! The machine's Python standard library: real code nobody here wrote.

use std::path::PathBuf;

/// The standard library of the machine's `python3`, canonical.
pub(crate) fn stdlib() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3 runs");
    std::fs::canonicalize(String::from_utf8_lossy(&out.stdout).trim()).expect("the standard library")
}
