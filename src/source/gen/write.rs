//! The file writers: one JSON line per record through a large buffer, gzip when asked.

use super::FileStats;
use super::{io_err, GenError};
use crate::model::Manifest;
use crate::source::ExportFile;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Output buffer per file: large, so the writer makes few system calls.
const BUFFER: usize = 1 << 20;

enum Sink {
    Plain(BufWriter<File>),
    Gzip(BufWriter<GzEncoder<File>>),
}

/// Writes the records of one export file, counting them.
pub(crate) struct RecordWriter {
    sink: Sink,
    path: PathBuf,
    name: String,
    /// The line being built, reused for every record.
    line: Vec<u8>,
    records: u64,
    bad: u64,
}

/// The path `file` is written to in `dir`, and the path of its other variant (plain or
/// gzip), which must not be left beside it.
pub(crate) fn file_paths(dir: &Path, file: ExportFile, gzip: bool) -> (PathBuf, PathBuf) {
    let plain = dir.join(file.file_name());
    let gz = dir.join(format!("{}.gz", file.file_name()));
    if gzip {
        (gz, plain)
    } else {
        (plain, gz)
    }
}

impl RecordWriter {
    /// Creates (or truncates) `file` in `dir`, removing its other variant.
    pub(crate) fn create(dir: &Path, file: ExportFile, gzip: bool) -> Result<Self, GenError> {
        let (path, other) = file_paths(dir, file, gzip);
        if other.exists() {
            fs::remove_file(&other).map_err(io_err(format!("removing {}", other.display())))?;
        }
        let f = File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
        let sink = if gzip {
            Sink::Gzip(BufWriter::with_capacity(
                BUFFER,
                GzEncoder::new(f, Compression::fast()),
            ))
        } else {
            Sink::Plain(BufWriter::with_capacity(BUFFER, f))
        };
        let name = path
            .file_name()
            .map_or_else(|| file.file_name(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            sink,
            path,
            name,
            line: Vec::with_capacity(4096),
            records: 0,
            bad: 0,
        })
    }

    fn emit(&mut self) -> Result<(), GenError> {
        self.line.push(b'\n');
        let written = match &mut self.sink {
            Sink::Plain(w) => w.write_all(&self.line),
            Sink::Gzip(w) => w.write_all(&self.line),
        };
        written.map_err(io_err(format!("writing {}", self.path.display())))?;
        self.records += 1;
        Ok(())
    }

    /// Writes one good record.
    pub(crate) fn record<T: Serialize>(&mut self, rec: &T) -> Result<(), GenError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, rec)?;
        self.emit()
    }

    /// Writes one deliberately bad line (without its `\n`).
    pub(crate) fn bad_line(&mut self, bytes: &[u8]) -> Result<(), GenError> {
        self.line.clear();
        self.line.extend_from_slice(bytes);
        self.bad += 1;
        self.emit()
    }

    /// Flushes and closes the file.
    pub(crate) fn finish(self) -> Result<FileStats, GenError> {
        let context = || io_err(format!("finishing {}", self.path.display()));
        match self.sink {
            Sink::Plain(w) => {
                w.into_inner()
                    .map_err(|e| e.into_error())
                    .map_err(context())?;
            }
            Sink::Gzip(w) => {
                let gz = w
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .map_err(context())?;
                gz.finish().map_err(context())?;
            }
        }
        let bytes = fs::metadata(&self.path).map_err(context())?.len();
        Ok(FileStats {
            file: self.name,
            records: self.records,
            bad: self.bad,
            bytes,
        })
    }
}

/// Writes `manifest.json`.
pub(crate) fn manifest(dir: &Path, manifest: &Manifest) -> Result<(), GenError> {
    let path = dir.join("manifest.json");
    let mut bytes = serde_json::to_vec_pretty(manifest)?;
    bytes.push(b'\n');
    fs::write(&path, bytes).map_err(io_err(format!("writing {}", path.display())))
}
