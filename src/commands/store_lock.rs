//! The store lock as the commands that write a store take it: refused with who holds it, or
//! taken (over a stale one, which is said on stderr and in the log).

use crate::store::lock::{self, StoreLock};
use std::io::Write;
use std::path::Path;

/// Takes the lock of `store` for `cutover <command>` for as long as the returned lock lives.
pub(crate) fn take(store: &Path, command: &str) -> anyhow::Result<StoreLock> {
    let lock = lock::acquire(store, command)?;
    say_stale(&lock);
    Ok(lock)
}

/// Says (stderr and log) that `lock` took over a stale lock, if it did.
pub(crate) fn say_stale(lock: &StoreLock) {
    if let Some(warning) = lock.stale_warning() {
        tracing::warn!(lock = %lock.path().display(), "{warning}");
        // Stderr, so a `--json` stdout stays one document per line.
        let _ = writeln!(std::io::stderr(), "{warning}");
    }
}
