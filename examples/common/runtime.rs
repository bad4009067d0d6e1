//! The async examples' `main`: a tokio runtime and the exit statuses.

use std::future::Future;
use std::process::ExitCode;

/// Runs `run` to completion on a tokio runtime (multi-threaded when
/// `multi_thread`) and maps its outcome to the exit status: 0 when it
/// returns `true`, 1 when it returns `false` (it ran, some inputs failed),
/// 2 with the error on stderr.
pub(crate) fn exit_status(multi_thread: bool, run: impl Future<Output = anyhow::Result<bool>>) -> ExitCode {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
