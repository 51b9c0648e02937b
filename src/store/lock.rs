//! One writer per store: the commands that change a store (`run`, `verify`, `sync`, `retry`,
//! `skip`, `rollback`) hold an exclusive lock on `<store>.lock` while they run.
//!
//! The lock is the operating system's (`flock` through [`File::try_lock`]), so it is released
//! the moment its process ends, however it ends. The file also holds who took it (pid, host,
//! command, since) as JSON, for the message that refuses a second writer; a clean release
//! empties it, so holder details found in a file nobody locks were left by a process that died
//! (a stale lock): it is taken over, and the caller says so.

use serde::{Deserialize, Serialize};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Who holds (or last held) a store's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// The host it runs on.
    pub(crate) host: String,
    /// The cutover command (`run`, `verify`…).
    pub command: String,
    /// When it took the lock (unix seconds).
    pub(crate) since: i64,
}

impl Holder {
    /// `cutover run, pid 42 on host h1 since 2026-12-01 22:00:00 UTC`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "cutover {}, pid {} on host {} since {}",
            self.command,
            self.pid,
            self.host,
            crate::timefmt::utc(self.since)
        )
    }

    /// True when the holder is a process on this host that still runs.
    pub(crate) fn alive_here(&self) -> bool {
        self.host == this_host() && process_alive(i64::from(self.pid))
    }
}

/// Why a store's lock was not taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    /// Another process holds it.
    #[error("store {} is in use by {}", .store.display(), .holder.as_ref().map_or_else(|| "another cutover process (it has not written its details yet)".to_string(), Holder::describe))]
    Held {
        /// The store.
        store: PathBuf,
        /// Who holds it, when it has said.
        holder: Option<Holder>,
    },
    /// The lock file could not be opened, locked or written.
    #[error("store lock {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The held lock of one store; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct StoreLock {
    file: File,
    path: PathBuf,
    /// A stale holder whose lock this one took over (a process that died holding it).
    pub(crate) took_over: Option<Holder>,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Emptied before the lock goes, so the next taker finds no stale holder. A failure
        // only makes the next taker report a stale lock it then takes over.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

impl StoreLock {
    /// The lock file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The warning to give when this lock took over a stale one, if it did.
    pub(crate) fn stale_warning(&self) -> Option<String> {
        self.took_over.as_ref().map(|h| {
            format!(
                "warning: took over the stale lock of {} (that process is gone)",
                h.describe()
            )
        })
    }
}

/// The lock file of the store at `store`: `<store>.lock`.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the store's lock for `command`, or says who holds it.
pub(crate) fn acquire(store: &Path, command: &str) -> Result<StoreLock, LockError> {
    let path = lock_path(store);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = crate::private::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                store: store.to_path_buf(),
                holder: read_holder(&mut file),
            })
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Details left in a file nobody locked: their process ended without releasing it.
    let took_over = read_holder(&mut file);
    let me = Holder {
        pid: std::process::id(),
        host: this_host(),
        command: command.to_string(),
        since: crate::timefmt::now_secs(),
    };
    let text = serde_json::to_vec(&me).map_err(|e| io(e.into()))?;
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(&text).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(StoreLock {
        file,
        path,
        took_over,
    })
}

/// Takes the store's lock, waiting up to `patience` for the holder to let go (after it was
/// asked to stop).
pub(crate) fn acquire_within(
    store: &Path,
    command: &str,
    patience: Duration,
) -> Result<StoreLock, LockError> {
    let start = Instant::now();
    loop {
        match acquire(store, command) {
            Err(LockError::Held { .. }) if start.elapsed() < patience => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

pub(crate) fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// This machine's host name.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether process `pid` on this host still runs (a zombie, exited and waiting for its parent,
/// does not).
pub(crate) fn process_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_with_the_holders_details() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        let first = acquire(&store, "run").unwrap();
        assert!(first.took_over.is_none());
        let err = acquire(&store, "verify").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("is in use by cutover run, pid")
                && text.contains(&format!("pid {}", std::process::id()))
                && text.contains(&this_host()),
            "{text}"
        );
        match acquire(&store, "skip") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.map(|h| h.command), Some("run".into()))
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        let again = acquire(&store, "verify").unwrap();
        assert!(
            again.took_over.is_none(),
            "a clean release leaves no stale holder"
        );
    }

    #[test]
    fn a_dead_holders_lock_is_taken_over_and_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        // What a process killed while holding the lock leaves: its details, and no lock.
        let dead = Holder {
            pid: 999_999_999,
            host: this_host(),
            command: "run".into(),
            since: 1_700_000_000,
        };
        std::fs::write(lock_path(&store), serde_json::to_vec(&dead).unwrap()).unwrap();
        assert!(!dead.alive_here());
        let lock = acquire(&store, "run").unwrap();
        assert_eq!(lock.took_over.as_ref(), Some(&dead));
        let warning = lock.stale_warning().unwrap();
        assert!(warning.contains("pid 999999999"), "{warning}");
    }
}
