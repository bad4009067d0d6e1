//! Check a Python codebase's import-linter contracts, read from its own
//! configuration as lint-imports reads it: the `pyatlas-contracts` command
//! (`src/bin/pyatlas-contracts.rs`, installed by `cargo install pyatlas`
//! and by pre-commit), run as an example.
//!
//! ```text
//! cargo run --release --example contracts -- [ROOT] [--config FILE] [--contract ID]...
//!     [--format text|json|sarif]
//! ```

#[path = "../src/bin/pyatlas-contracts.rs"]
mod command;

fn main() -> std::process::ExitCode {
    command::main()
}
