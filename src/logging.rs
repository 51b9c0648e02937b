//! File logging: the terminal belongs to the UI (or the progress lines), logs go to a file.

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Sends `tracing` events to `path` (appending) until the guard is dropped. The level comes
/// from `RUST_LOG` (default `info`). A second call in one process keeps the first logger.
pub fn to_file(path: &Path) -> std::io::Result<WorkerGuard> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::private::create_dir_all(dir).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot make {}: {e}", dir.display()))
    })?;
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a file name", path.display()),
        )
    })?;
    // Created here, owner-only, so that the appender (which opens it for appending) keeps
    // that mode: the log names accounts, groups and errors.
    crate::private::append(path).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
    })?;
    let appender = tracing_appender::rolling::never(dir, name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok(guard)
}
