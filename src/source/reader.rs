//! Streaming JSON Lines readers for `.jsonl` and `.jsonl.gz` files.
//!
//! Lines are handed out one at a time from a reused buffer, so memory does not grow with the
//! file. A line longer than [`LINE_MAX`] is not kept: the reader skips to its end and says how
//! long it was, so one broken line cannot exhaust memory or hide the lines after it.

use crate::model::limits::LINE_MAX;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// The UTF-8 byte-order mark.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Read buffer size: large enough that a syscall fetches many lines.
const READ_BUFFER: usize = 256 * 1024;

/// One line of a file, without its line ending.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// The line's bytes (not checked for UTF-8 or JSON).
    Text(&'a [u8]),
    /// A line over the limit; its length in bytes.
    TooLong(u64),
}

/// Reads lines from a byte stream, counting them from 1.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_no: u64,
    max_line: usize,
    /// Bytes consumed so far (of the decompressed stream).
    consumed: u64,
    /// Where the line last returned starts.
    line_start: u64,
}

/// Opens an export file, decompressing it when its name ends in `.gz`.
pub(crate) fn open_lines(path: &Path) -> io::Result<LineReader<Box<dyn BufRead + Send>>> {
    let file = File::open(path)?;
    let is_gz = path.extension().is_some_and(|e| e == "gz");
    let inner: Box<dyn BufRead + Send> = if is_gz {
        Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(BufReader::with_capacity(READ_BUFFER, file))
    };
    Ok(LineReader::new(inner))
}

impl<R: BufRead> LineReader<R> {
    /// A reader over `inner` with the standard line limit.
    pub(crate) fn new(inner: R) -> Self {
        Self::with_limit(inner, LINE_MAX)
    }

    /// A reader over `inner` that refuses lines longer than `max_line` bytes.
    pub(crate) fn with_limit(inner: R, max_line: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            line_no: 0,
            max_line,
            consumed: 0,
            line_start: 0,
        }
    }

    /// The number of the line last returned (1-based); 0 before the first.
    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The byte offset (in the decompressed stream) where the text of the line last returned
    /// starts: reading its length from there gives the line back.
    pub(crate) fn line_offset(&self) -> u64 {
        self.line_start
    }

    /// The next line and its number, or `None` at the end of the stream.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        self.line_start = self.consumed;
        let mut len: u64 = 0;
        let mut saw_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (chunk, consumed, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            len += chunk.len() as u64;
            if len <= self.max_line as u64 {
                self.buf.extend_from_slice(chunk);
            }
            self.inner.consume(consumed);
            self.consumed += consumed as u64;
            if done {
                break;
            }
        }
        self.line_no += 1;
        if len > self.max_line as u64 {
            return Ok(Some((self.line_no, Line::TooLong(len))));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        // Some Windows tools start UTF-8 files with a byte-order mark; it is not data.
        if self.line_no == 1 && self.buf.starts_with(UTF8_BOM) {
            self.line_start += UTF8_BOM.len() as u64;
            return Ok(Some((
                self.line_no,
                Line::Text(&self.buf[UTF8_BOM.len()..]),
            )));
        }
        Ok(Some((self.line_no, Line::Text(&self.buf))))
    }
}

/// True when a line holds only whitespace (blank lines are ignored by the format).
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Reads a whole small file (the manifest) with a size cap.
pub(crate) fn read_small(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    File::open(path)?.take(cap).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn collect(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut r = LineReader::with_limit(Cursor::new(input.to_vec()), max);
        let mut out = Vec::new();
        while let Some((n, line)) = r.next_line().unwrap() {
            let text = match line {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong(len) => format!("<too long: {len}>"),
            };
            out.push((n, text));
        }
        out
    }

    #[test]
    fn splits_lines_strips_cr_and_keeps_last_line_without_newline() {
        let got = collect(b"a\r\n\nbb\nccc", 100);
        let want = [(1, "a"), (2, ""), (3, "bb"), (4, "ccc")];
        let want: Vec<(u64, String)> = want.iter().map(|(n, s)| (*n, s.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn offsets_point_at_each_line_text() {
        let input = b"\xEF\xBB\xBFab\r\n\ncd\nlast";
        let mut r = LineReader::new(Cursor::new(input.to_vec()));
        let mut got = Vec::new();
        while let Some((_, Line::Text(t))) = r.next_line().unwrap() {
            let len = t.len();
            got.push((r.line_offset() as usize, len));
        }
        for &(offset, len) in &got {
            let text = &input[offset..offset + len];
            assert!(!text.contains(&b'\n') && !text.starts_with(UTF8_BOM));
        }
        assert_eq!(got, vec![(3, 2), (7, 0), (8, 2), (11, 4)]);
    }

    #[test]
    fn overlong_lines_are_skipped_whole_and_reported() {
        let got = collect(b"ok\n0123456789\nnext\n", 5);
        assert_eq!(got[1], (2, "<too long: 10>".to_string()));
        assert_eq!(got[2], (3, "next".to_string()));
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped() {
        let got = collect(b"\xEF\xBB\xBF{}\n\xEF\xBB\xBF{}\n", 100);
        assert_eq!(got[0], (1, "{}".to_string()));
        assert_ne!(
            got[1],
            (2, "{}".to_string()),
            "only the file's first line may carry one"
        );
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(collect(b"", 10).is_empty());
    }

    #[test]
    fn reads_gzip_by_suffix() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl.gz");
        let mut enc = GzEncoder::new(File::create(&path).unwrap(), Compression::fast());
        enc.write_all(b"{\"id\":\"u1\"}\n{\"id\":\"u2\"}\n")
            .unwrap();
        enc.finish().unwrap();
        let mut r = open_lines(&path).unwrap();
        let mut n = 0;
        while r.next_line().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }
}
