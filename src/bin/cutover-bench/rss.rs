//! Peak resident memory of this process (Linux `/proc`; unavailable elsewhere).

use std::fs;

/// The peak resident set size so far, in MiB, when the system tells it.
pub(crate) fn peak_mib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Resets the peak to the current size, so a phase can be measured on its own; false when
/// the system does not allow it.
pub(crate) fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}
