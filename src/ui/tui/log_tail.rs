//! The last lines of the log file for the Log screen, read from its end: a bounded number of
//! bytes whatever the file's size.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// At most this many bytes are read from the end of the file.
pub(crate) const TAIL_BYTES: u64 = 64 * 1024;

/// The last `n` lines of the file at `path`, read from at most its last `max_bytes` bytes
/// (fewer lines when they are long); empty when it cannot be read.
pub(crate) fn tail(path: &Path, n: usize, max_bytes: u64) -> Vec<String> {
    let Ok(mut file) = File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(max_bytes);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.take(max_bytes).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        // Reading began inside a line: its start is not here.
        lines.remove(0);
    }
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log_of(lines: usize) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for i in 0..lines {
            writeln!(f, "line {i:04}").unwrap();
        }
        f
    }

    #[test]
    fn the_last_lines_of_a_small_file() {
        let f = log_of(5);
        assert_eq!(tail(f.path(), 2, TAIL_BYTES), ["line 0003", "line 0004"]);
        assert_eq!(tail(f.path(), 10, TAIL_BYTES).len(), 5);
    }

    #[test]
    fn a_large_file_is_read_from_its_end_without_a_cut_line() {
        // 10 bytes a line: the last 35 bytes hold 3 whole lines and the end of a fourth.
        let f = log_of(1000);
        assert_eq!(
            tail(f.path(), 10, 35),
            ["line 0997", "line 0998", "line 0999"]
        );
        assert_eq!(tail(f.path(), 2, 35), ["line 0998", "line 0999"]);
    }

    #[test]
    fn a_missing_file_has_no_lines() {
        assert!(tail(Path::new("/nonexistent/cutover.log"), 3, TAIL_BYTES).is_empty());
    }
}
