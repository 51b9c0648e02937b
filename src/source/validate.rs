//! Validation of a whole export: every line of every file, every rule, one pass per file.

use super::crossref::CrossRef;
use super::export_dir::{ExportDir, ExportDirError, ExportFile};
use super::media_inventory::MediaInventory;
use super::memory::{CrossMemory, InMemory};
use super::pipeline::{parse_in_order, Loc, ReadFailure};
use super::reader::{open_lines, LineReader};
use crate::model::console::KeyInventory;
use crate::model::{Account, C2cMessage, Friend, Group, GroupMember, GroupMessage, Profile};
use crate::model::{ExportRecord, Manifest, Parsed, Rule, Tombstone};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::BufRead;
use std::path::PathBuf;

/// One problem in an export, located by file and line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file name as it is on disk.
    pub file: String,
    /// The 1-based line number.
    pub line: u64,
    /// The record's id (or `owner→friend`, `group/member`), `-` when unreadable.
    pub(crate) record: String,
    /// The field, as a path; empty when the whole line is the problem.
    pub(crate) field: String,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong.
    pub(crate) reason: String,
}

impl fmt::Display for Problem {
    /// `FILE:LINE: RECORD FIELD: REASON [rule]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.record)?;
        if !self.field.is_empty() {
            write!(f, " {}", self.field)?;
        }
        write!(f, ": {} [{}]", self.reason, self.rule)
    }
}

/// The tally of one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileSummary {
    /// The file name as on disk (or the plain name when absent).
    pub file: String,
    /// Whether the export has this file.
    pub present: bool,
    /// Records read (non-blank lines).
    pub records: u64,
    /// Records with no problem.
    pub valid: u64,
    /// Records with at least one problem: they will be skipped.
    pub invalid: u64,
    /// Valid tombstones among the valid records (a delta's deletions).
    #[serde(default)]
    pub(crate) tombstones: u64,
    /// Problems per rule (a record may have several).
    pub(crate) problems_by_rule: BTreeMap<Rule, u64>,
    /// Fields the format does not know, ignored (a note, not an error).
    pub(crate) unknown_fields: BTreeSet<String>,
}

/// The outcome of validating an export.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The export directory.
    pub(crate) export: PathBuf,
    /// Its manifest.
    pub(crate) manifest: Manifest,
    /// One summary per file of the format, in order.
    pub files: Vec<FileSummary>,
    /// The custom keys the valid records use, with how many records use each (JSON gets them
    /// as rows from the command, with their status).
    #[serde(skip)]
    pub custom_keys: KeyInventory,
    /// The media URLs the valid messages reference, per host (shown by the commands).
    #[serde(skip)]
    pub(crate) media: MediaInventory,
}

impl ValidationReport {
    /// Records read over all files.
    pub fn records(&self) -> u64 {
        self.files.iter().map(|f| f.records).sum()
    }

    /// Invalid records over all files.
    pub fn invalid(&self) -> u64 {
        self.files.iter().map(|f| f.invalid).sum()
    }

    /// Problems over all files.
    pub fn problems(&self) -> u64 {
        self.files
            .iter()
            .flat_map(|f| f.problems_by_rule.values())
            .sum()
    }

    /// True when nothing is wrong.
    pub(crate) fn is_clean(&self) -> bool {
        self.invalid() == 0
    }
}

/// Parser threads: one per core (the reader and the checker are light).
fn parse_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Unknown field names kept per file; past this, a note says there were more.
const UNKNOWN_FIELDS_KEPT: usize = 32;

/// A record that passed every rule, as handed to a visitor (the staging loader).
#[derive(Debug, Clone, Copy)]
pub enum Valid<'a> {
    /// A line of accounts.jsonl.
    Account(&'a Account),
    /// A line of profiles.jsonl.
    Profile(&'a Profile),
    /// A line of friends.jsonl.
    Friend(&'a Friend),
    /// A line of c2c_messages.jsonl.
    C2cMessage(&'a C2cMessage),
    /// A line of groups.jsonl.
    Group(&'a Group),
    /// A line of group_members.jsonl.
    GroupMember(&'a GroupMember),
    /// A line of group_messages.jsonl.
    GroupMessage(&'a GroupMessage),
    /// A tombstone of a delta: a record of the file deleted in the old system.
    Deleted(ExportFile, &'a Tombstone),
}

/// A record type that can be handed to a visitor.
pub(crate) trait AsValid {
    /// This record as a [`Valid`].
    fn as_valid(&self) -> Valid<'_>;
}

macro_rules! as_valid {
    ($($t:ident),*) => {$(
        impl AsValid for $t {
            fn as_valid(&self) -> Valid<'_> {
                Valid::$t(self)
            }
        }
    )*};
}
as_valid!(
    Account,
    Profile,
    Friend,
    C2cMessage,
    Group,
    GroupMember,
    GroupMessage
);

/// Validates every file of `export`, handing each problem to `sink` in file and line order.
pub fn validate_export(
    export: &ExportDir,
    sink: &mut dyn FnMut(Problem),
) -> Result<ValidationReport, ExportDirError> {
    validate_export_with(export, sink, &mut |_, _| {})
}

/// What earlier exports staged into the same store, which a delta's records may refer to.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Account ids.
    pub(crate) accounts: Vec<String>,
    /// Group ids with their creation times.
    pub(crate) groups: Vec<(String, i64)>,
}

/// Like [`validate_export`], and also hands every valid record, with its location, to `visit`
/// (in file and line order; files in the order of [`ExportFile::ALL`]).
pub fn validate_export_with(
    export: &ExportDir,
    sink: &mut dyn FnMut(Problem),
    visit: &mut dyn FnMut(Loc, Valid<'_>),
) -> Result<ValidationReport, ExportDirError> {
    validate_delta_with(export, &Known::default(), sink, visit)
}

/// [`validate_export_with`] for a delta: its records may refer to the `known` accounts and
/// groups of earlier exports, and restate them (a changed record is not a duplicate).
pub fn validate_delta_with(
    export: &ExportDir,
    known: &Known,
    sink: &mut dyn FnMut(Problem),
    visit: &mut dyn FnMut(Loc, Valid<'_>),
) -> Result<ValidationReport, ExportDirError> {
    let memory = Box::new(InMemory::default());
    validate_with_memory(export, memory, known, sink, visit)
}

/// [`validate_delta_with`], remembering what the cross-file rules need in `memory` (which may
/// know earlier exports' accounts and groups already).
pub fn validate_with_memory(
    export: &ExportDir,
    memory: Box<dyn CrossMemory + Send>,
    known: &Known,
    sink: &mut dyn FnMut(Problem),
    visit: &mut dyn FnMut(Loc, Valid<'_>),
) -> Result<ValidationReport, ExportDirError> {
    let mut cross = CrossRef::with_memory(export.manifest.exported_at, memory);
    cross.set_delta(export.manifest.delta_of.is_some());
    for id in &known.accounts {
        cross.know_account(id);
    }
    for (id, created_at) in &known.groups {
        cross.know_group(id, *created_at);
    }
    let mut files = Vec::new();
    let mut keys = KeyInventory::default();
    let mut media = MediaInventory::default();
    let visit = &mut |loc: Loc, record: Valid<'_>| {
        count_keys(&mut keys, record);
        count_media(&mut media, record);
        visit(loc, record);
    };
    for file in ExportFile::ALL {
        let name = export.display_name(file);
        let summary = match export.path(file) {
            None => FileSummary {
                file: name,
                ..FileSummary::default()
            },
            Some(path) => {
                let io_error = |line, source| ExportDirError::Io {
                    path: path.to_path_buf(),
                    line,
                    source,
                };
                let lines = open_lines(path).map_err(|e| io_error(None, e))?;
                scan_kind(&mut cross, file, name, lines, sink, visit)
                    .map_err(|(last, e)| io_error(Some(last), e))?
            }
        };
        cross.next_file();
        files.push(summary);
    }
    Ok(ValidationReport {
        export: export.root.clone(),
        manifest: export.manifest.clone(),
        files,
        custom_keys: keys,
        media,
    })
}

/// Counts the custom keys of a valid record: a match, and a map look-up per key only for the
/// few records that have custom fields.
fn count_keys(keys: &mut KeyInventory, record: Valid<'_>) {
    match record {
        Valid::Profile(p) if !p.custom.is_empty() => keys.profile(p),
        Valid::Friend(f) if !f.custom.is_empty() => keys.friend(f),
        Valid::Group(g) if !g.custom.is_empty() => keys.group(g),
        _ => {}
    }
}

/// Counts the media URLs of a valid message (none for the other records, and no allocation for
/// a message without media).
fn count_media(media: &mut MediaInventory, record: Valid<'_>) {
    match record {
        Valid::C2cMessage(m) => media.add(&m.media()),
        Valid::GroupMessage(m) => media.add(&m.media()),
        _ => {}
    }
}

/// Validates the lines of one file of kind `file`, named `name`, with the cross-file state of
/// the files before it.
fn scan_kind<R: BufRead + Send>(
    cross: &mut CrossRef,
    file: ExportFile,
    name: String,
    lines: LineReader<R>,
    sink: &mut dyn FnMut(Problem),
    visit: &mut dyn FnMut(Loc, Valid<'_>),
) -> Result<FileSummary, ReadFailure> {
    let (s, v) = (sink, visit);
    match file {
        ExportFile::Accounts => {
            scan::<Account, _>(cross, file, name, lines, s, v, CrossRef::account)
        }
        ExportFile::Profiles => {
            scan::<Profile, _>(cross, file, name, lines, s, v, CrossRef::profile)
        }
        ExportFile::Friends => scan::<Friend, _>(cross, file, name, lines, s, v, CrossRef::friend),
        ExportFile::C2cMessages => {
            scan::<C2cMessage, _>(cross, file, name, lines, s, v, CrossRef::c2c_message)
        }
        ExportFile::Groups => scan::<Group, _>(cross, file, name, lines, s, v, CrossRef::group),
        ExportFile::GroupMembers => {
            scan::<GroupMember, _>(cross, file, name, lines, s, v, CrossRef::group_member)
        }
        ExportFile::GroupMessages => {
            scan::<GroupMessage, _>(cross, file, name, lines, s, v, CrossRef::group_message)
        }
    }
}

/// Reads one file's lines, parsing each as `T`, applying `check` (or the tombstone rules) for
/// the cross-file rules.
fn scan<T: ExportRecord + AsValid + Send, R: BufRead + Send>(
    cross: &mut CrossRef,
    file: ExportFile,
    name: String,
    lines: LineReader<R>,
    sink: &mut dyn FnMut(Problem),
    visit: &mut dyn FnMut(Loc, Valid<'_>),
    check: fn(&mut CrossRef, u64, &mut Parsed<T>),
) -> Result<FileSummary, ReadFailure> {
    let mut summary = FileSummary {
        file: name,
        present: true,
        ..FileSummary::default()
    };
    parse_in_order::<T, _>(lines, parse_workers(), |loc, mut parsed| {
        if parsed.tombstone.is_some() {
            cross.tombstone(file, loc.line, &mut parsed);
        } else {
            check(cross, loc.line, &mut parsed);
        }
        if parsed.problems.is_empty() {
            if let Some(record) = &parsed.record {
                visit(loc, record.as_valid());
            } else if let Some(tombstone) = &parsed.tombstone {
                visit(loc, Valid::Deleted(file, tombstone));
            }
        }
        tally(&mut summary, loc.line, parsed, sink);
    })?;
    Ok(summary)
}

/// Validates an export file by file while its files are being produced (`cutover export`
/// feeds each one as it writes it): the rules and the order of [`validate_delta_with`].
pub struct StreamValidator {
    cross: CrossRef,
    files: Vec<FileSummary>,
    keys: KeyInventory,
    media: MediaInventory,
}

impl StreamValidator {
    /// A validator for an export taken at `exported_at`, whose records may refer to `known`;
    /// a `delta` may carry tombstones.
    pub(crate) fn new(exported_at: i64, known: &Known, delta: bool) -> Self {
        let mut cross = CrossRef::new(exported_at);
        cross.set_delta(delta);
        for id in &known.accounts {
            cross.know_account(id);
        }
        for (id, created_at) in &known.groups {
            cross.know_group(id, *created_at);
        }
        Self {
            cross,
            files: Vec::new(),
            keys: KeyInventory::default(),
            media: MediaInventory::default(),
        }
    }

    /// Validates the file of kind `file`, named `name`, from `lines`. Files must come in the
    /// order of [`ExportFile::ALL`]; an absent one is skipped.
    pub(crate) fn file<R: BufRead + Send>(
        &mut self,
        file: ExportFile,
        name: String,
        lines: LineReader<R>,
        sink: &mut dyn FnMut(Problem),
        visit: &mut dyn FnMut(Loc, Valid<'_>),
    ) -> Result<(), ReadFailure> {
        let (keys, media) = (&mut self.keys, &mut self.media);
        let visit = &mut |loc: Loc, record: Valid<'_>| {
            count_keys(keys, record);
            count_media(media, record);
            visit(loc, record);
        };
        let summary = scan_kind(&mut self.cross, file, name, lines, sink, visit)?;
        self.cross.next_file();
        self.files.push(summary);
        Ok(())
    }

    /// One summary per file of the format, in order (absent ones included), the custom keys
    /// the valid records use and the media their messages reference.
    pub(crate) fn finish_with_inventories(
        mut self,
    ) -> (Vec<FileSummary>, KeyInventory, MediaInventory) {
        let keys = std::mem::take(&mut self.keys);
        let media = std::mem::take(&mut self.media);
        (self.finish(), keys, media)
    }

    /// One summary per file of the format, in order (absent ones included).
    pub(crate) fn finish(self) -> Vec<FileSummary> {
        let mut seen = self.files.into_iter().peekable();
        let mut out = Vec::new();
        for file in ExportFile::ALL {
            match seen.peek() {
                Some(s) if s.file.starts_with(&file.file_name()) => {
                    out.extend(seen.next());
                }
                _ => out.push(FileSummary {
                    file: file.file_name(),
                    ..FileSummary::default()
                }),
            }
        }
        out
    }
}

fn tally<T>(
    summary: &mut FileSummary,
    line: u64,
    parsed: Parsed<T>,
    sink: &mut dyn FnMut(Problem),
) {
    summary.records += 1;
    for field in parsed.unknown_fields {
        if summary.unknown_fields.len() < UNKNOWN_FIELDS_KEPT {
            summary.unknown_fields.insert(field);
        }
    }
    if parsed.problems.is_empty() {
        summary.valid += 1;
        summary.tombstones += u64::from(parsed.tombstone.is_some());
        return;
    }
    summary.invalid += 1;
    for p in parsed.problems {
        *summary.problems_by_rule.entry(p.rule).or_default() += 1;
        sink(Problem {
            file: summary.file.clone(),
            line,
            record: parsed.label.clone(),
            field: p.field,
            rule: p.rule,
            reason: p.reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Fed file by file, the stream validator finds what the directory validator finds.
    #[test]
    fn the_stream_validator_agrees_with_validate_export() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
        let export = ExportDir::open(&root).unwrap();
        let mut expected = Vec::new();
        let report = validate_export(&export, &mut |p| expected.push(p)).unwrap();
        assert!(!expected.is_empty(), "the sample has bad records");

        let mut v = StreamValidator::new(export.manifest.exported_at, &Known::default(), false);
        let mut got = Vec::new();
        for file in ExportFile::ALL {
            let Some(path) = export.path(file) else {
                continue;
            };
            let lines = open_lines(path).unwrap();
            let name = export.display_name(file);
            v.file(file, name, lines, &mut |p| got.push(p), &mut |_, _| {})
                .unwrap();
        }
        assert_eq!(got, expected);
        let files = v.finish();
        let tally = |f: &[FileSummary]| -> Vec<(String, bool, u64, u64)> {
            f.iter()
                .map(|s| (s.file.clone(), s.present, s.records, s.invalid))
                .collect()
        };
        assert_eq!(tally(&files), tally(&report.files));
    }
}
