//! The deterministic synthetic export generator (`cutover gen`).
//!
//! It writes a complete export (export-format.md) of any size with realistic shapes: skewed
//! friend counts, group sizes and conversation lengths, mostly mutual friendships, messages
//! in Chinese, English and emoji with every element type. The same [`GenConfig`] gives
//! byte-identical files on every run: every file draws from its own ChaCha8 stream of the
//! seed, and values that several files must agree on (an account's creation time, a group's
//! members) are derived from the seed, not shared as state. Memory stays flat: records are
//! streamed, and only a few numbers per account or group are held.

mod bad;
mod chats;
mod content;
mod elements;
mod groups;
mod people;
mod shapes;
mod write;

#[cfg(test)]
mod tests;

use crate::model::{GroupType, Manifest};
use crate::source::export_dir::{FORMAT_NAME, FORMAT_VERSION};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use shapes::{mix, pick_in};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why an export could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The settings cannot make an export.
    #[error("{0}")]
    Settings(String),
    /// A file could not be written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A record could not be encoded.
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
    /// A generator thread panicked.
    #[error("a generator thread panicked")]
    Panicked,
}

/// Names what was being done when an I/O error struck.
pub(crate) fn io_err(what: String) -> impl FnOnce(std::io::Error) -> GenError {
    move |source| GenError::Io { what, source }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// The seed: the same config and seed give byte-identical files.
    pub seed: u64,
    /// Accounts (`u0000001`, …).
    pub accounts: u32,
    /// Mean one-way friend entries per account (about 90% of friendships are mutual).
    pub friends_per_account: f64,
    /// One-to-one messages, exactly.
    pub c2c_messages: u64,
    /// Groups (`g000001`, …).
    pub groups: u32,
    /// Mean members per group.
    pub members_per_group: f64,
    /// Group messages, exactly.
    pub group_messages: u64,
    /// The probability that a record is made to break one rule of the format (0 = clean).
    pub bad_ratio: f64,
    /// Write `*.jsonl.gz` instead of `*.jsonl`.
    pub gzip: bool,
    /// Write into a directory that already holds an export (its files are replaced).
    pub force: bool,
    /// When the export was "taken" (unix seconds); every time in it is earlier.
    pub exported_at: i64,
    /// Write custom keys: profile tags `Hobby` and `Vip`, friend tags `Close` and `Tag`, the
    /// group field `Category` (see [`CUSTOM_KEYS_APP`]). A fresh Tencent app has none, so
    /// `cutover gen` writes them only when asked; the library's default keeps them, for the
    /// tests and benchmarks that exercise them. The random draws are the same either way.
    pub custom_keys: bool,
}

/// The `[app]` lines that declare the custom keys the generator writes (for a runbook, and
/// for `cutover sim --config`).
pub const CUSTOM_KEYS_APP: &str = "[app]\nprofile_custom_tags = [\"Hobby\", \"Vip\"]\n\
friend_custom_tags = [\"Close\", \"Tag\"]\n[app.group_custom_fields]\nPrivate = [\"Category\"]\n\
Public = [\"Category\"]\nChatRoom = [\"Category\"]\nCommunity = [\"Category\"]\n";

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            accounts: 1000,
            friends_per_account: 10.0,
            c2c_messages: 5000,
            groups: 100,
            members_per_group: 20.0,
            group_messages: 5000,
            bad_ratio: 0.0,
            gzip: false,
            force: false,
            exported_at: 1_732_000_000,
            custom_keys: true,
        }
    }
}

/// The earliest `exported_at` accepted (2000-01-01): every generated time stays positive.
pub(crate) const EXPORTED_AT_MIN: i64 = 946_684_800;
/// The latest `exported_at` accepted (2100-01-01).
pub(crate) const EXPORTED_AT_MAX: i64 = 4_102_444_800;

impl GenConfig {
    /// Checks that the numbers make sense together.
    pub(crate) fn check(&self) -> Result<(), GenError> {
        if self.accounts == 0 {
            return Err(GenError::Settings(
                "--accounts must be at least 1 (accounts.jsonl is required)".into(),
            ));
        }
        for (name, v) in [
            ("--friends-per-account", self.friends_per_account),
            ("--members-per-group", self.members_per_group),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(GenError::Settings(format!(
                    "{name} must be a number ≥ 0, got {v}"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.bad_ratio) {
            return Err(GenError::Settings(format!(
                "--bad-ratio must be within 0..=1, got {}",
                self.bad_ratio
            )));
        }
        if self.c2c_messages > 0 && self.accounts < 2 {
            return Err(GenError::Settings(
                "one-to-one messages need at least 2 accounts".into(),
            ));
        }
        if self.group_messages > 0 && self.groups == 0 {
            return Err(GenError::Settings(
                "group messages need at least 1 group".into(),
            ));
        }
        if !(EXPORTED_AT_MIN..=EXPORTED_AT_MAX).contains(&self.exported_at) {
            return Err(GenError::Settings(format!(
                "--exported-at must be within {EXPORTED_AT_MIN}..={EXPORTED_AT_MAX}, got {}",
                self.exported_at
            )));
        }
        Ok(())
    }
}

/// What was written to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStats {
    /// The file name (`friends.jsonl.gz`).
    pub(crate) file: String,
    /// Lines written.
    pub(crate) records: u64,
    /// Of those, lines that deliberately break a rule.
    pub(crate) bad: u64,
    /// The file's size on disk.
    pub(crate) bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct GenStats {
    /// The export directory.
    pub(crate) dir: PathBuf,
    /// One entry per record file, in the order of [`crate::source::ExportFile::ALL`].
    pub(crate) files: Vec<FileStats>,
    /// Wall time of the whole generation.
    pub(crate) elapsed: Duration,
}

impl GenStats {
    /// Lines written over all files.
    pub fn records(&self) -> u64 {
        self.files.iter().map(|f| f.records).sum()
    }

    /// Deliberately bad lines over all files.
    pub fn bad(&self) -> u64 {
        self.files.iter().map(|f| f.bad).sum()
    }

    /// Bytes written over all files.
    pub(crate) fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Records per second of wall time.
    pub(crate) fn records_per_sec(&self) -> f64 {
        self.records() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Random streams: one per file, so files do not depend on each other (or on the order they
/// are written in), and one more per file for the bad-record decisions.
#[derive(Clone, Copy)]
enum Stream {
    Plan = 1,
    Accounts,
    Profiles,
    Friends,
    C2c,
    Groups,
    Members,
    GroupMessages,
}

/// Offset of the bad-record stream of a file.
const BAD_STREAM: u64 = 100;

/// Domains of the derived values.
const DOMAIN_ACCOUNT_CREATED: u64 = 1;
const DOMAIN_JOINED: u64 = 2;

const DAY: i64 = 86_400;

/// The shape of one group, fixed up front so that members and messages agree.
#[derive(Debug, Clone, Copy)]
struct GroupPlan {
    /// The owner (member 0); member `k` is `(start + k * stride) mod n`.
    start: u32,
    /// Chosen so that `size * stride ≤ n`: the members are distinct.
    stride: u32,
    size: u32,
    created_at: i64,
}

/// Everything the file writers share: the config and the group plan.
struct World {
    cfg: GenConfig,
    n: u32,
    account_width: usize,
    group_width: usize,
    groups: Vec<GroupPlan>,
}

impl World {
    fn new(cfg: &GenConfig) -> Self {
        let mut world = Self {
            cfg: cfg.clone(),
            n: cfg.accounts,
            account_width: shapes::digits(u64::from(cfg.accounts)).max(7),
            group_width: shapes::digits(u64::from(cfg.groups)).max(6),
            groups: Vec::new(),
        };
        world.groups = groups::plan(&world, &mut world.rng(Stream::Plan));
        world
    }

    fn rng(&self, stream: Stream) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.cfg.seed);
        rng.set_stream(stream as u64);
        rng
    }

    fn spoiler(&self, stream: Stream, target: bad::Target) -> bad::Spoiler {
        let mut rng = ChaCha8Rng::seed_from_u64(self.cfg.seed);
        rng.set_stream(BAD_STREAM + stream as u64);
        bad::Spoiler::new(rng, self.cfg.bad_ratio, target)
    }

    fn exported_at(&self) -> i64 {
        self.cfg.exported_at
    }

    /// `u0000001` for account 0.
    fn account_id(&self, i: u32) -> String {
        format!("u{:0w$}", u64::from(i) + 1, w = self.account_width)
    }

    /// `g000001` for group 0.
    fn group_id(&self, g: u32) -> String {
        format!("g{:0w$}", u64::from(g) + 1, w = self.group_width)
    }

    /// When account `i` was created: 5 years to 90 days before the export.
    fn account_created(&self, i: u32) -> i64 {
        let e = self.exported_at();
        let h = mix(self.cfg.seed, DOMAIN_ACCOUNT_CREATED, u64::from(i), 0);
        pick_in(h, e - 5 * 365 * DAY, e - 90 * DAY)
    }

    fn group_type(g: u32) -> GroupType {
        GroupType::IMPORTABLE[g as usize % GroupType::IMPORTABLE.len()]
    }

    /// Member `k` of group `g`.
    fn member(&self, plan: &GroupPlan, k: u32) -> u32 {
        let m = u64::from(plan.start) + u64::from(k) * u64::from(plan.stride);
        (m % u64::from(self.n)) as u32
    }

    /// When member `k` joined group `g`: after the group was created and after the account
    /// was; the owner right away.
    fn joined_at(&self, g: u32, plan: &GroupPlan, k: u32) -> i64 {
        let created = plan.created_at;
        if k == 0 {
            return created + 1;
        }
        let latest = created + (self.exported_at() - created) * 3 / 4;
        let h = mix(self.cfg.seed, DOMAIN_JOINED, u64::from(g), u64::from(k));
        let account = self.account_created(self.member(plan, k));
        pick_in(h, created + 1, latest).max(account + 1)
    }
}

type Job = fn(&World, &Path) -> Result<FileStats, GenError>;

/// Generates an export into `out_dir` (created when missing). Refuses a directory that
/// already holds a `manifest.json` unless `cfg.force`. The manifest is written last, so an
/// interrupted run never looks like a complete export.
pub fn generate(cfg: &GenConfig, out_dir: &Path) -> Result<GenStats, GenError> {
    let started = Instant::now();
    cfg.check()?;
    std::fs::create_dir_all(out_dir).map_err(io_err(format!("creating {}", out_dir.display())))?;
    let manifest_path = out_dir.join("manifest.json");
    if manifest_path.exists() {
        if !cfg.force {
            return Err(GenError::Settings(format!(
                "{} already holds an export (manifest.json); use --force to replace it",
                out_dir.display()
            )));
        }
        std::fs::remove_file(&manifest_path)
            .map_err(io_err(format!("removing {}", manifest_path.display())))?;
    }
    let world = World::new(cfg);
    let jobs: [Job; 7] = [
        people::accounts,
        people::profiles,
        people::friends,
        chats::c2c_messages,
        groups::groups,
        groups::members,
        groups::messages,
    ];
    // One thread per file: the files are independent, so the output does not depend on
    // how the threads are scheduled.
    let results: Vec<Result<FileStats, GenError>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                let world = &world;
                s.spawn(move || job(world, out_dir))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(GenError::Panicked)))
            .collect()
    });
    let files = results.into_iter().collect::<Result<Vec<_>, GenError>>()?;
    write::manifest(
        out_dir,
        &Manifest {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            exported_at: cfg.exported_at,
            source: Some(format!("cutover gen seed {}", cfg.seed)),
            watermark: Some(cfg.exported_at),
            delta_of: None,
        },
    )?;
    Ok(GenStats {
        dir: out_dir.to_path_buf(),
        files,
        elapsed: started.elapsed(),
    })
}
