//! An export directory: its manifest (checked first) and which of its files are present.

use super::reader::{read_small, UTF8_BOM};
use crate::model::fields::Fields;
use crate::model::parse::decode_object;
use crate::model::Manifest;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The only format this console reads.
pub(crate) const FORMAT_NAME: &str = "cutover-export";
/// The only version this console reads.
pub(crate) const FORMAT_VERSION: i64 = 1;
/// A manifest larger than this is not a manifest.
const MANIFEST_CAP: u64 = 1024 * 1024;

/// The files of an export, in the order the format lists them (and the validator reads them:
/// every file only refers to files before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportFile {
    /// accounts.jsonl (required)
    Accounts,
    /// profiles.jsonl
    Profiles,
    /// friends.jsonl
    Friends,
    /// c2c_messages.jsonl
    C2cMessages,
    /// groups.jsonl
    Groups,
    /// group_members.jsonl
    GroupMembers,
    /// group_messages.jsonl
    GroupMessages,
}

impl ExportFile {
    /// Every file, in order.
    pub const ALL: [ExportFile; 7] = [
        ExportFile::Accounts,
        ExportFile::Profiles,
        ExportFile::Friends,
        ExportFile::C2cMessages,
        ExportFile::Groups,
        ExportFile::GroupMembers,
        ExportFile::GroupMessages,
    ];

    /// The key fields of its records: what a delta's tombstone and key set hold (none for
    /// profiles, which are never deleted on their own). The parser's own list, with each
    /// field's byte limit, is the record's `ExportRecord::KEY_FIELDS` (a test holds them equal).
    pub(crate) fn key_fields(self) -> &'static [&'static str] {
        match self {
            ExportFile::Friends => &["owner", "friend"],
            ExportFile::GroupMembers => &["group", "member"],
            ExportFile::Profiles => &[],
            ExportFile::Accounts
            | ExportFile::C2cMessages
            | ExportFile::Groups
            | ExportFile::GroupMessages => &["id"],
        }
    }

    /// The file name without its `.jsonl` suffix.
    pub fn stem(self) -> &'static str {
        match self {
            ExportFile::Accounts => "accounts",
            ExportFile::Profiles => "profiles",
            ExportFile::Friends => "friends",
            ExportFile::C2cMessages => "c2c_messages",
            ExportFile::Groups => "groups",
            ExportFile::GroupMembers => "group_members",
            ExportFile::GroupMessages => "group_messages",
        }
    }

    /// The plain file name, `accounts.jsonl`.
    pub fn file_name(self) -> String {
        format!("{}.jsonl", self.stem())
    }
}

impl fmt::Display for ExportFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stem())
    }
}

/// Why an export cannot be read at all.
#[derive(Debug, Error)]
pub enum ExportDirError {
    /// The path is missing or not a directory.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// No manifest.json.
    #[error(
        "{0}: manifest.json is missing; every export starts with one (see docs/export-format.md)"
    )]
    ManifestMissing(PathBuf),
    /// The manifest is not usable.
    #[error("{path}: {reason}")]
    ManifestInvalid {
        /// The manifest's path.
        path: PathBuf,
        /// Everything wrong with it.
        reason: String,
    },
    /// accounts.jsonl is required (but in a delta).
    #[error("{0}: accounts.jsonl (or accounts.jsonl.gz) is missing; it is the one required file (a delta, with \"delta_of\" in its manifest, may leave it out)")]
    AccountsMissing(PathBuf),
    /// Both a plain and a gzip copy of one file.
    #[error("{dir}: both {stem}.jsonl and {stem}.jsonl.gz exist; keep exactly one")]
    Ambiguous {
        /// The export directory.
        dir: PathBuf,
        /// The file stem.
        stem: &'static str,
    },
    /// An export file's name is taken by something that is not a regular file.
    #[error("{0}: not a regular file; an export file must be a file (or absent)")]
    NotAFile(PathBuf),
    /// A file could not be opened or read.
    #[error("{path}: cannot read{}: {source}", line_suffix(*.line))]
    Io {
        /// The file.
        path: PathBuf,
        /// The last line read before the failure, when known.
        line: Option<u64>,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn line_suffix(line: Option<u64>) -> String {
    line.map_or(String::new(), |n| format!(" after line {n}"))
}

/// An export directory whose manifest has been checked.
#[derive(Debug, Clone)]
pub struct ExportDir {
    /// The directory.
    pub(crate) root: PathBuf,
    /// Its manifest.
    pub(crate) manifest: Manifest,
    files: Vec<(ExportFile, PathBuf)>,
    /// Names that differ from the read path's (see [`ExportDir::replace_path`]).
    names: Vec<(ExportFile, String)>,
}

impl ExportDir {
    /// Opens `root`: checks the manifest first, then finds the files.
    pub fn open(root: &Path) -> Result<Self, ExportDirError> {
        if !root.is_dir() {
            return Err(ExportDirError::NotADirectory(root.to_path_buf()));
        }
        let manifest = read_manifest(root)?;
        let mut files = Vec::new();
        for file in ExportFile::ALL {
            let plain = root.join(file.file_name());
            let gz = root.join(format!("{}.jsonl.gz", file.stem()));
            // A directory (or device) under an export file's name must not pass for "absent":
            // that would silently migrate nothing of this kind.
            for path in [&plain, &gz] {
                if path.exists() && !path.is_file() {
                    return Err(ExportDirError::NotAFile(path.clone()));
                }
            }
            match (plain.is_file(), gz.is_file()) {
                (true, true) => {
                    return Err(ExportDirError::Ambiguous {
                        dir: root.to_path_buf(),
                        stem: file.stem(),
                    })
                }
                (true, false) => files.push((file, plain)),
                (false, true) => files.push((file, gz)),
                (false, false) => {}
            }
        }
        // A delta holds only what changed: it may have no new accounts.
        let delta = manifest.delta_of.is_some();
        if !delta && !files.iter().any(|(f, _)| *f == ExportFile::Accounts) {
            return Err(ExportDirError::AccountsMissing(root.to_path_buf()));
        }
        Ok(Self {
            root: root.to_path_buf(),
            manifest,
            files,
            names: Vec::new(),
        })
    }

    /// The path of `file` when the export has it.
    pub(crate) fn path(&self, file: ExportFile) -> Option<&Path> {
        self.files
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, p)| p.as_path())
    }

    /// Reads `file` from `path` from now on (a decompressed copy), keeping the name it is known
    /// by in problems and reports.
    pub(crate) fn replace_path(&mut self, file: ExportFile, path: PathBuf) {
        let name = self.display_name(file);
        if let Some(entry) = self.files.iter_mut().find(|(f, _)| *f == file) {
            entry.1 = path;
        }
        self.names.retain(|(f, _)| *f != file);
        self.names.push((file, name));
    }

    /// The name of `file` as it is on disk (`friends.jsonl.gz`), or its plain name when absent.
    pub(crate) fn display_name(&self, file: ExportFile) -> String {
        if let Some((_, name)) = self.names.iter().find(|(f, _)| *f == file) {
            return name.clone();
        }
        self.path(file)
            .and_then(|p| p.file_name())
            .map_or_else(|| file.file_name(), |n| n.to_string_lossy().into_owned())
    }
}

fn read_manifest(root: &Path) -> Result<Manifest, ExportDirError> {
    let path = root.join("manifest.json");
    if !path.is_file() {
        return Err(ExportDirError::ManifestMissing(root.to_path_buf()));
    }
    let invalid = |reason: String| ExportDirError::ManifestInvalid {
        path: path.clone(),
        reason,
    };
    let bytes = read_small(&path, MANIFEST_CAP).map_err(|source| ExportDirError::Io {
        path: path.clone(),
        line: None,
        source,
    })?;
    let text = bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes);
    let map = decode_object(text).map_err(|p| invalid(p.reason))?;
    // Format and version first: for another format every other complaint would be noise.
    match map.get("format").and_then(|v| v.as_str()) {
        Some(FORMAT_NAME) => {}
        Some(other) => {
            return Err(invalid(format!(
                "format is {other:?}; this console reads {FORMAT_NAME:?} exports"
            )))
        }
        None => {
            return Err(invalid(format!(
                "field format: required, must be {FORMAT_NAME:?}"
            )))
        }
    }
    match map.get("version") {
        Some(v) if v.as_i64() == Some(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(invalid(format!(
                "version {v} is not supported; this console reads version {FORMAT_VERSION}"
            )))
        }
        None => {
            return Err(invalid(format!(
                "field version: required, must be {FORMAT_VERSION}"
            )))
        }
    }
    let mut problems = Vec::new();
    let mut f = Fields::new(map, "", &mut problems);
    let format = f.req_str("format", 1, usize::MAX);
    let version = f.req_int("version");
    let exported_at = f.req_int("exported_at");
    let source = f.opt_str("source", 0, usize::MAX);
    let watermark = f.opt_int("watermark");
    let delta_of = f.opt_int("delta_of");
    drop(f);
    if !problems.is_empty() {
        let reasons: Vec<String> = problems
            .iter()
            .map(|p| format!("field {}: {}", p.field, p.reason))
            .collect();
        return Err(invalid(reasons.join("; ")));
    }
    match (format, version, exported_at) {
        (Some(format), Some(version), Some(exported_at)) => Ok(Manifest {
            format,
            version,
            exported_at,
            source,
            watermark,
            delta_of,
        }),
        _ => Err(invalid("incomplete manifest".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn the_key_fields_are_the_parsers() {
        use crate::model::{
            Account, C2cMessage, ExportRecord, Friend, Group, GroupMember, GroupMessage, Profile,
        };
        fn names(fields: &'static [(&'static str, usize)]) -> Vec<&'static str> {
            fields.iter().map(|(n, _)| *n).collect()
        }
        let parser = [
            names(Account::KEY_FIELDS),
            names(Profile::KEY_FIELDS),
            names(Friend::KEY_FIELDS),
            names(C2cMessage::KEY_FIELDS),
            names(Group::KEY_FIELDS),
            names(GroupMember::KEY_FIELDS),
            names(GroupMessage::KEY_FIELDS),
        ];
        for (file, fields) in ExportFile::ALL.into_iter().zip(parser) {
            assert_eq!(file.key_fields(), fields.as_slice(), "{file:?}");
        }
    }

    fn dir_with(manifest: Option<&str>, files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(m) = manifest {
            fs::write(dir.path().join("manifest.json"), m).unwrap();
        }
        for f in files {
            fs::write(dir.path().join(f), "").unwrap();
        }
        dir
    }

    const GOOD: &str = r#"{"format": "cutover-export", "version": 1, "exported_at": 1732000000}"#;

    #[test]
    fn opens_a_minimal_export() {
        let d = dir_with(Some(GOOD), &["accounts.jsonl", "friends.jsonl.gz"]);
        let e = ExportDir::open(d.path()).unwrap();
        assert_eq!(e.manifest.exported_at, 1_732_000_000);
        assert!(e.path(ExportFile::Profiles).is_none());
        assert_eq!(e.display_name(ExportFile::Friends), "friends.jsonl.gz");
    }

    #[test]
    fn a_manifest_with_a_byte_order_mark_is_read() {
        let d = dir_with(Some(&format!("\u{feff}{GOOD}")), &["accounts.jsonl"]);
        assert!(ExportDir::open(d.path()).is_ok());
    }

    #[test]
    fn refuses_what_cannot_be_read() {
        let d = dir_with(None, &["accounts.jsonl"]);
        assert!(matches!(
            ExportDir::open(d.path()),
            Err(ExportDirError::ManifestMissing(_))
        ));
        let d = dir_with(Some(GOOD), &[]);
        assert!(matches!(
            ExportDir::open(d.path()),
            Err(ExportDirError::AccountsMissing(_))
        ));
        let d = dir_with(Some(GOOD), &["accounts.jsonl", "accounts.jsonl.gz"]);
        assert!(matches!(
            ExportDir::open(d.path()),
            Err(ExportDirError::Ambiguous { .. })
        ));
        let d = dir_with(Some(GOOD), &["accounts.jsonl"]);
        fs::create_dir(d.path().join("friends.jsonl")).unwrap();
        assert!(matches!(
            ExportDir::open(d.path()),
            Err(ExportDirError::NotAFile(_))
        ));
        let missing = d.path().join("nope");
        assert!(matches!(
            ExportDir::open(&missing),
            Err(ExportDirError::NotADirectory(_))
        ));
    }

    #[test]
    fn manifest_format_and_version_are_checked_first() {
        let cases = [
            (
                r#"{"format": "other", "version": 1}"#,
                "format is \"other\"",
            ),
            (
                r#"{"format": "cutover-export", "version": 2}"#,
                "version 2 is not supported",
            ),
            (
                r#"{"format": "cutover-export", "version": 1}"#,
                "field exported_at",
            ),
            ("not json", "not valid JSON"),
        ];
        for (manifest, want) in cases {
            let d = dir_with(Some(manifest), &["accounts.jsonl"]);
            let err = ExportDir::open(d.path()).unwrap_err().to_string();
            assert!(err.contains(want), "{manifest}: {err}");
        }
    }
}
