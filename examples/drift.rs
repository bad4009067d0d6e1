//! Check a Python codebase's intent tags against its code: the
//! `pyatlas-drift` command (`src/bin/pyatlas-drift.rs`, installed by
//! `cargo install pyatlas` and by pre-commit), run as an example.
//!
//! ```text
//! cargo run --release --example drift -- <ROOT> [--config FILE] [--format text|json|sarif|markdown]
//!     [--baseline FILE] [--write-baseline FILE]
//! ```

#[path = "../src/bin/pyatlas-drift.rs"]
mod command;

fn main() -> std::process::ExitCode {
    command::main()
}
