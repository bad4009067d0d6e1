//! Helpers shared by the tests of the example binaries.

use std::path::PathBuf;
use std::process::Command;

/// A command running example `name`, built by `cargo test` next to the test
/// binaries, from the workspace root.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub(crate) fn example(name: &str) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile dir");
    let bin: PathBuf = dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is missing: cargo test builds examples first", bin.display());
    let mut command = Command::new(bin);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// The folder of the standard library package `name` of the machine's `python3`.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub(crate) fn stdlib_package(name: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    format!("{}/{name}", String::from_utf8_lossy(&out.stdout).trim())
}
