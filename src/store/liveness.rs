//! Whether a process runs a store now, asked of the operating system rather than of a
//! heartbeat: the store's lock (`<store>.lock`) is held by a live process of this host that has
//! the lock file open, in every step (staging, import, verification, sync). When none does,
//! since when (the store's last write) and the command that carries the run on
//! (`<store>.last-run`, written by `cutover run` when it starts).

use super::lock::{lock_path, process_alive, read_holder, this_host, Holder};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Who runs a store now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// A live process of this host holds the store's lock.
    Running(Holder),
    /// The lock's holder is on another host: this host cannot tell whether it still runs.
    Elsewhere(Holder),
    /// Nothing runs it.
    Idle,
}

/// Who runs the store at `store` now.
pub fn liveness(store: &Path) -> Liveness {
    let path = lock_path(store);
    let Ok(mut file) = std::fs::File::open(&path) else {
        return Liveness::Idle;
    };
    let Some(holder) = read_holder(&mut file) else {
        return Liveness::Idle;
    };
    if holder.host != this_host() {
        return Liveness::Elsewhere(holder);
    }
    let pid = i64::from(holder.pid);
    if process_alive(pid) && has_open(pid, &path) {
        Liveness::Running(holder)
    } else {
        Liveness::Idle
    }
}

/// Whether process `pid` has `file` open — so a pid reused by another program after the
/// holder died does not count. Where `/proc/<pid>/fd` cannot be read, the live pid counts.
fn has_open(pid: i64, file: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return true;
    };
    let want = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    entries
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .any(|target| target == want)
}

/// The last write to the store (its file, its write-ahead log, its lock), unix seconds.
pub fn last_activity(store: &Path) -> Option<i64> {
    let mut wal = store.as_os_str().to_owned();
    wal.push("-wal");
    [store.to_path_buf(), PathBuf::from(wal), lock_path(store)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok()?.modified().ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .max()
}

/// How the last `cutover run` of a store was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// Its arguments after the program name.
    pub args: Vec<String>,
    /// The directory it ran in (relative paths are relative to it).
    pub cwd: PathBuf,
    /// When it started (unix seconds).
    pub started_at: i64,
}

impl LastRun {
    /// The command that carries the run on, as a person would type it.
    pub fn command(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|a| quoted(a)).collect();
        format!("cutover {}", args.join(" "))
    }
}

/// `a` as a shell reads it back.
fn quoted(a: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    if !a.is_empty() && a.chars().all(plain) {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

fn last_run_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".last-run");
    PathBuf::from(p)
}

/// Records how this `cutover run` was started (its arguments hold no secret: the key comes
/// only from the environment).
pub fn record_last_run(store: &Path, args: Vec<String>) -> std::io::Result<()> {
    let run = LastRun {
        args,
        cwd: std::env::current_dir()?,
        started_at: crate::timefmt::now_secs(),
    };
    let text = serde_json::to_vec_pretty(&run).map_err(std::io::Error::other)?;
    let mut file = crate::private::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(last_run_path(store))?;
    std::io::Write::write_all(&mut file, &text)
}

/// How the last `cutover run` of the store was started, if one recorded it.
pub fn last_run(store: &Path) -> Option<LastRun> {
    let text = std::fs::read(last_run_path(store)).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_of_this_process_is_running_and_a_released_or_dead_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        assert_eq!(liveness(&store), Liveness::Idle);
        let lock = super::super::lock::acquire(&store, "run").unwrap();
        match liveness(&store) {
            Liveness::Running(h) => assert_eq!(h.pid, std::process::id()),
            other => panic!("{other:?}"),
        }
        drop(lock);
        assert_eq!(liveness(&store), Liveness::Idle);
        // Details left by a process that died (a pid that no process has).
        let dead = Holder {
            pid: u32::MAX - 1,
            host: this_host(),
            command: "run".into(),
            since: 1,
        };
        std::fs::write(lock_path(&store), serde_json::to_vec(&dead).unwrap()).unwrap();
        assert_eq!(liveness(&store), Liveness::Idle);
        let elsewhere = Holder {
            host: "another-host".into(),
            ..dead
        };
        std::fs::write(lock_path(&store), serde_json::to_vec(&elsewhere).unwrap()).unwrap();
        assert!(matches!(liveness(&store), Liveness::Elsewhere(_)));
    }

    #[test]
    fn a_live_pid_without_the_lock_file_open_is_not_running_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        // A process of ours that runs but has nothing of the store open: a pid reused.
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let other = Holder {
            pid: child.id(),
            host: this_host(),
            command: "run".into(),
            since: 1,
        };
        std::fs::write(lock_path(&store), serde_json::to_vec(&other).unwrap()).unwrap();
        let seen = liveness(&store);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(seen, Liveness::Idle);
    }

    #[test]
    fn the_last_run_reads_back_as_a_command_to_type() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        assert!(last_run(&store).is_none());
        let args = ["run", "--config", "my runbook.toml", "--phase", "window"];
        record_last_run(&store, args.iter().map(|s| s.to_string()).collect()).unwrap();
        let run = last_run(&store).unwrap();
        assert_eq!(
            run.command(),
            "cutover run --config 'my runbook.toml' --phase window"
        );
    }
}
