//! The files being written: one JSON line per row into a staging directory inside the output
//! (renamed into place only when the export is complete), a side file of source row keys per
//! kind (to name the source row of a problem), and the progress lines.

use super::{io_err, ExportError};
use crate::source::ExportFile;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Buffer of each output file.
const WRITE_BUFFER: usize = 256 * 1024;
/// Seconds between two progress lines of one kind.
const PROGRESS_EVERY_SECS: f64 = 1.0;

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

/// The file of one kind being written, with its key side file and its count.
pub struct KindFile {
    /// The kind.
    pub kind: ExportFile,
    /// The file name (`friends.jsonl` or `friends.jsonl.gz`).
    pub name: String,
    out: Out,
    keys: BufWriter<File>,
    line: Vec<u8>,
    /// Rows written.
    pub rows: u64,
    started: Instant,
    last_progress: Instant,
}

impl KindFile {
    /// Creates the file of `kind` in `staging`, its key file in `keys_dir`.
    pub fn create(
        kind: ExportFile,
        staging: &Path,
        keys_dir: &Path,
        gzip: bool,
    ) -> Result<Self, ExportError> {
        let name = if gzip {
            format!("{}.gz", kind.file_name())
        } else {
            kind.file_name()
        };
        let path = staging.join(&name);
        let file = File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
        let buffered = BufWriter::with_capacity(WRITE_BUFFER, file);
        let out = if gzip {
            Out::Gzip(GzEncoder::new(buffered, Compression::fast()))
        } else {
            Out::Plain(buffered)
        };
        let keys_path = key_path(keys_dir, kind);
        let keys = File::create(&keys_path)
            .map_err(io_err(format!("creating {}", keys_path.display())))?;
        let now = Instant::now();
        Ok(Self {
            kind,
            name,
            out,
            keys: BufWriter::new(keys),
            line: Vec::with_capacity(1024),
            rows: 0,
            started: now,
            last_progress: now,
        })
    }

    /// Writes one record as a line, and its source key (empty when the row had none).
    pub fn write(&mut self, record: &Map<String, Value>, key: Option<&str>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.out.writer().write_all(&self.line)?;
        // One JSON string per line, so a key with a line break stays one line.
        serde_json::to_writer(&mut self.keys, &key.unwrap_or(""))?;
        self.keys.write_all(b"\n")?;
        self.rows += 1;
        Ok(())
    }

    /// Seconds since the first row was asked for.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// A progress line when one is due (`force` for the closing one).
    pub fn progress(&mut self, to: &mut dyn Write, force: bool) {
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
            "export {:<15} {:>10} rows {:>10.0} rows/s {:>7.1} s{end}",
            self.kind.stem(),
            self.rows,
            rate,
            secs
        );
    }

    /// Flushes and closes the file and its key file.
    pub fn finish(self) -> Result<(), ExportError> {
        let what = format!("writing {}", self.name);
        self.out.finish().map_err(io_err(what.clone()))?;
        let mut keys = self.keys;
        keys.flush().map_err(io_err(what))
    }
}

/// Where the source keys of `kind` are kept while the export is checked.
pub fn key_path(keys_dir: &Path, kind: ExportFile) -> PathBuf {
    keys_dir.join(format!("{}.keys", kind.stem()))
}

/// Reads a key file forward to find the key of a line (problems come in line order).
pub struct KeyLookup {
    reader: Option<BufReader<File>>,
    line: u64,
    current: String,
}

impl KeyLookup {
    /// Opens the key file of `kind`; a missing one answers no key.
    pub fn open(keys_dir: &Path, kind: ExportFile) -> Self {
        let reader = File::open(key_path(keys_dir, kind))
            .ok()
            .map(BufReader::new);
        Self {
            reader,
            line: 0,
            current: String::new(),
        }
    }

    /// The source key of line `line` (1-based), if the row had one.
    pub fn key(&mut self, line: u64) -> Option<String> {
        let reader = self.reader.as_mut()?;
        while self.line < line {
            self.current.clear();
            match reader.read_line(&mut self.current) {
                Ok(0) | Err(_) => return None,
                Ok(_) => self.line += 1,
            }
        }
        if self.line != line {
            return None;
        }
        let key: String = serde_json::from_str(self.current.trim_end()).ok()?;
        (!key.is_empty()).then_some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_found_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = KindFile::create(ExportFile::Friends, dir.path(), dir.path(), false).unwrap();
        let rec = json!({"owner": "a"});
        let Value::Object(map) = rec else { panic!() };
        f.write(&map, Some("7\n8")).unwrap();
        f.write(&map, None).unwrap();
        f.write(&map, Some("9")).unwrap();
        f.finish().unwrap();
        let mut k = KeyLookup::open(dir.path(), ExportFile::Friends);
        assert_eq!(k.key(1).as_deref(), Some("7\n8"));
        assert_eq!(k.key(2), None);
        assert_eq!(k.key(3).as_deref(), Some("9"));
        assert_eq!(k.key(4), None);
        let text = std::fs::read_to_string(dir.path().join("friends.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 3);
    }
}
