//! Files that hold message content, figures of a run or secrets — the store, logs, the staged
//! cache, the JSON Lines sink, exports and reports — are created readable by their owner only:
//! files `0600`, directories `0700`. Every place that creates one goes through here. A file or
//! directory that exists already keeps its mode (the operator may have chosen it).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of a new file.
pub(crate) const FILE_MODE: u32 = 0o600;
/// The mode of a new directory.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Options that create a missing file with [`FILE_MODE`].
pub(crate) fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(FILE_MODE);
    }
    o
}

/// Creates `dir` and its missing parents with [`DIR_MODE`].
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(DIR_MODE);
    }
    b.create(dir)
}

/// Creates (or truncates) `path` for writing.
pub(crate) fn create(path: &Path) -> io::Result<File> {
    options().write(true).create(true).truncate(true).open(path)
}

/// Opens `path` for appending, creating it when missing.
pub fn append(path: &Path) -> io::Result<File> {
    options().create(true).append(true).open(path)
}

/// Writes `bytes` as the whole of `path`.
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write;
    create(path)?.write_all(bytes.as_ref())
}

/// Makes sure `path` exists, creating it empty with [`FILE_MODE`] when missing (for files a
/// library creates, such as SQLite's database: its journal files take the same mode).
pub(crate) fn touch(path: &Path) -> io::Result<()> {
    options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_and_directories_are_the_owners_only() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a").join("b");
        create_dir_all(&sub).unwrap();
        assert_eq!((mode(&sub), mode(&dir.path().join("a"))), (0o700, 0o700));
        let f = sub.join("f");
        write(&f, "x").unwrap();
        append(&sub.join("g")).unwrap();
        touch(&sub.join("h")).unwrap();
        for name in ["f", "g", "h"] {
            assert_eq!(mode(&sub.join(name)), 0o600, "{name}");
        }
        // An existing file keeps its mode.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&f, "y").unwrap();
        assert_eq!(mode(&f), 0o644);
    }
}
