//! Helpers shared by the tests of the example binaries.

use std::path::PathBuf;
use std::process::Command;

/// A command running example `name`, built by `cargo test` next to the test
/// binaries, from the workspace root.
pub(crate) fn example(name: &str) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile dir");
    let bin: PathBuf = dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is missing: cargo test builds examples first", bin.display());
    let mut command = Command::new(bin);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}
