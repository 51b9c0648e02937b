//! The files being written: one JSON line per row into a staging directory inside the output
//! (renamed into place only when the export is complete), and the progress lines. The same
//! writer writes a kind's file and its key set (`keys/<stem>.jsonl`).

use super::{io_err, DbExportError};
use crate::source::ExportFile;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

/// Buffer of each output file.
const WRITE_BUFFER: usize = 256 * 1024;
/// Seconds between two progress lines of one kind.
const PROGRESS_EVERY_SECS: f64 = 1.0;
/// The directory of the key sets inside the export.
pub(crate) const KEYS_DIR: &str = "keys";

enum Out {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Out {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Out::Plain(w) => w,
            Out::Gzip(w) => w,
        }
    }

    fn finish(self) -> io::Result<()> {
        let mut inner = match self {
            Out::Plain(w) => w,
            Out::Gzip(w) => w.finish()?,
        };
        inner.flush()?;
        inner.get_ref().sync_all()
    }
}

/// The file of one kind being written, with its count.
pub(crate) struct KindFile {
    /// The kind.
    pub(crate) kind: ExportFile,
    /// The file name in the export (`friends.jsonl`, `friends.jsonl.gz`, `keys/friends.jsonl`).
    pub(crate) name: String,
    /// What progress lines call it (`friends`, `keys/friends`).
    label: String,
    out: Out,
    line: Vec<u8>,
    /// Rows written.
    pub(crate) rows: u64,
    started: Instant,
    last_progress: Instant,
}

impl KindFile {
    /// Creates the file of `kind` in `staging`.
    pub(crate) fn create(
        kind: ExportFile,
        staging: &Path,
        gzip: bool,
    ) -> Result<Self, DbExportError> {
        let name = if gzip {
            format!("{}.gz", kind.file_name())
        } else {
            kind.file_name()
        };
        Self::open(kind, staging, name, kind.stem().to_string(), gzip)
    }

    /// Creates the key set of `kind`, `keys/<stem>.jsonl` in `staging` (never compressed).
    pub(crate) fn create_key_set(kind: ExportFile, staging: &Path) -> Result<Self, DbExportError> {
        let name = format!("{KEYS_DIR}/{}", kind.file_name());
        let label = format!("{KEYS_DIR}/{}", kind.stem());
        Self::open(kind, staging, name, label, false)
    }

    fn open(
        kind: ExportFile,
        staging: &Path,
        name: String,
        label: String,
        gzip: bool,
    ) -> Result<Self, DbExportError> {
        let path = staging.join(&name);
        let file = File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
        let buffered = BufWriter::with_capacity(WRITE_BUFFER, file);
        let out = if gzip {
            Out::Gzip(GzEncoder::new(buffered, Compression::fast()))
        } else {
            Out::Plain(buffered)
        };
        let now = Instant::now();
        Ok(Self {
            kind,
            name,
            label,
            out,
            line: Vec::with_capacity(1024),
            rows: 0,
            started: now,
            last_progress: now,
        })
    }

    /// Writes one record (a JSON object) as a line; returns the line written (with its `\n`).
    pub(crate) fn write(&mut self, record: &impl Serialize) -> io::Result<&[u8]> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.out.writer().write_all(&self.line)?;
        self.rows += 1;
        Ok(&self.line)
    }

    /// Seconds since the first row was asked for.
    pub(crate) fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// A progress line when one is due (`force` for the closing one).
    pub(crate) fn progress(&mut self, to: &mut dyn Write, force: bool) {
        let since_last = self.last_progress.elapsed().as_secs_f64();
        if !force && since_last < PROGRESS_EVERY_SECS {
            return;
        }
        self.last_progress = Instant::now();
        let secs = self.elapsed();
        let rate = if secs > 0.0 {
            self.rows as f64 / secs
        } else {
            0.0
        };
        let end = if force { ", done" } else { "" };
        // Progress is a courtesy: a closed stderr must not stop the export.
        let _ = writeln!(
            to,
            "export {:<19} {:>10} rows {:>10.0} rows/s {:>7.1} s{end}",
            self.label, self.rows, rate, secs
        );
    }

    /// Flushes and closes the file.
    pub(crate) fn finish(self) -> Result<(), DbExportError> {
        let what = format!("writing {}", self.name);
        self.out.finish().map_err(io_err(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn lines_are_written_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = KindFile::create(ExportFile::Friends, dir.path(), true).unwrap();
        let Value::Object(map) = json!({"owner": "a"}) else {
            panic!()
        };
        assert_eq!(f.write(&map).unwrap(), b"{\"owner\":\"a\"}\n");
        f.write(&map).unwrap();
        assert_eq!(f.rows, 2);
        f.finish().unwrap();
        let lines = crate::source::reader::open_lines(&dir.path().join("friends.jsonl.gz"));
        let mut lines = lines.unwrap();
        let mut n = 0;
        while lines.next_line().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
    }
}
