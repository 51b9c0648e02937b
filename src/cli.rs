//! The command line: one subcommand per job.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// cutover — move a self-hosted IM onto Tencent Cloud IM, and prove nothing was lost.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an export directory against the export format; exit 0 clean, 1 problems, 2 unreadable.
    Validate(ValidateArgs),
    /// Generate a deterministic synthetic export (for tests, demos and benchmarks).
    Gen(GenArgs),
    /// Read the old system's database (MySQL/MariaDB, PostgreSQL, SQLite) into an export,
    /// through the queries of a mapping file; `--since` writes a delta. Exit 0 clean, 1 written
    /// with problems (listed by file, line and source row), 2 failed.
    Export(ExportArgs),
    /// Print a UserSig for an identifier, or check one (the key comes from CUTOVER_SECRET_KEY).
    Usersig(UsersigArgs),
    /// Write an annotated example runbook to start from.
    Init(InitArgs),
    /// Run the Tencent IM REST API simulator (the key comes from CUTOVER_SECRET_KEY).
    Sim(SimArgs),
    /// The whole runbook with no setup: embedded simulator, demo old system, sample-data/.
    Demo(DemoArgs),
    /// Run the runbook: preflight, stop service, import, start sync, resume service, verify.
    Run(RunArgs),
    /// Open the console of a live `cutover run` of this host (through the control socket
    /// beside its store): every control, or read-only while another console controls it.
    Attach(AttachArgs),
    /// Show a run's progress from its store (works from another shell while it runs).
    Status(StatusArgs),
    /// List failed items grouped by API and error code, or export them.
    Errors(ErrorsArgs),
    /// Send failed items again at the next run (all, or by API, code or stage).
    Retry(ActionArgs),
    /// Give up on failed items (all, or by API, code or stage), with a reason.
    Skip(ActionArgs),
    /// Estimate the import: items and calls per API, and the time the rate limits allow.
    Plan(PlanArgs),
    /// Read the target back and compare it with the export; exit 0 all verified, 6 mismatches,
    /// 4 stopped (run again to carry on). The key comes from CUTOVER_SECRET_KEY.
    Verify(VerifyArgs),
    /// Write the run's report (Markdown, JSON or HTML) from its store.
    Report(ReportArgs),
    /// Back out: stop the run holding the store, run the resume-service hook so the old app
    /// serves again, and record the decision and its reason (needs --yes and --reason).
    Rollback(RollbackArgs),
    /// Run the two-way sync relay of the runbook's [sync] section until SIGINT or SIGTERM
    /// (tokens from CUTOVER_CALLBACK_TOKEN and CUTOVER_INGEST_TOKEN).
    Sync(SyncArgs),
}

/// `cutover validate`
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The export directory (with manifest.json).
    pub(crate) dir: PathBuf,
    /// Print a machine-readable JSON report instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write every problem to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub(crate) problems_out: Option<PathBuf>,
    /// How many problems to show on screen (or in --json); 0 shows all.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) max_shown: usize,
    /// The runbook: the export's custom keys are checked against its `[app]` (the custom
    /// fields created in the Tencent console) and `[import] drop_custom`.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Send a HEAD request to up to N sample URLs of each media host (1 to 10; 10 s timeout
    /// each): which answer, why the others do not, the sizes they announce.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=10))]
    pub(crate) probe: Option<u8>,
}

/// `cutover export`
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The source database: `mysql://USER@HOST:PORT/DB` (or `mariadb://`),
    /// `postgres://USER@HOST:PORT/DB` or `sqlite://PATH`. The password comes from
    /// CUTOVER_SOURCE_PASSWORD, else from the URL (`USER:PASSWORD@`); it is never shown.
    #[arg(long, value_name = "URL")]
    pub(crate) from: String,
    /// The mapping file: one SQL query per kind, and the time unit (see docs/export.md).
    #[arg(long, value_name = "FILE")]
    pub(crate) map: PathBuf,
    /// The directory to write the export into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Write a delta: what changed at or after this watermark (the `watermark` of the
    /// export it follows: unix seconds, a date or an RFC 3339 time).
    #[arg(long, value_name = "WATERMARK")]
    pub(crate) since: Option<String>,
    /// The end of the range, exclusive, and the manifest's watermark (default: now).
    #[arg(long, value_name = "T")]
    pub(crate) until: Option<String>,
    /// Write `*.jsonl.gz`.
    #[arg(long)]
    pub(crate) gzip: bool,
    /// Replace an export already in the output directory.
    #[arg(long)]
    pub(crate) force: bool,
    /// How many problems to show; 0 shows all.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) max_shown: usize,
}

/// `cutover gen`
#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// The directory to write the export into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// The seed: the same options and seed give byte-identical files.
    #[arg(long, value_name = "S")]
    pub(crate) seed: u64,
    /// Accounts.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) accounts: u32,
    /// Mean one-way friend entries per account.
    #[arg(long, value_name = "F", default_value_t = 10.0)]
    pub(crate) friends_per_account: f64,
    /// One-to-one messages (exact total).
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub(crate) c2c_messages: u64,
    /// Groups.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) groups: u32,
    /// Mean members per group.
    #[arg(long, value_name = "M", default_value_t = 20.0)]
    pub(crate) members_per_group: f64,
    /// Group messages (exact total).
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub(crate) group_messages: u64,
    /// Probability that a record is made to break one rule of the format.
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    pub(crate) bad_ratio: f64,
    /// Write gzip-compressed files (`accounts.jsonl.gz`, …).
    #[arg(long)]
    pub(crate) gzip: bool,
    /// Replace an export already in DIR.
    #[arg(long)]
    pub(crate) force: bool,
    /// When the export was taken (unix seconds); every generated time is earlier.
    #[arg(long, value_name = "T", default_value_t = 1_732_000_000)]
    pub(crate) exported_at: i64,
    /// Also write custom profile tags, friend tags and a group custom field (a fresh Tencent
    /// app has none: declare them in the runbook's and the simulator's `[app]`).
    #[arg(long)]
    pub(crate) custom_keys: bool,
}

/// `cutover usersig`
#[derive(Debug, clap::Args)]
pub struct UsersigArgs {
    /// The app's SDKAppID.
    #[arg(long)]
    pub(crate) sdkappid: u64,
    /// The identifier (for REST calls: an app admin account).
    #[arg(long)]
    pub(crate) identifier: String,
    /// Validity in seconds when generating (default 180 days).
    #[arg(long, default_value_t = crate::tim::usersig::DEFAULT_EXPIRE_SECS)]
    pub(crate) expire: u64,
    /// Check a token instead of generating one; says what is wrong with it. The token is read
    /// from CUTOVER_USERSIG when set, else from the first line of standard input — never from
    /// the command line, where the process list would show it.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "")]
    pub(crate) verify: Option<String>,
}

/// `cutover sim`
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (loopback unless you mean otherwise).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// The simulated app's SDKAppID.
    #[arg(long)]
    pub(crate) sdkappid: u64,
    /// An app admin identifier (repeat for several; default `administrator`).
    #[arg(long = "admin", value_name = "ID")]
    pub(crate) admins: Vec<String>,
    /// Limits, faults, callbacks and console settings (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Store message hashes instead of bodies (huge benchmarks).
    #[arg(long)]
    pub(crate) lean: bool,
    /// Write the state dump (JSON) to FILE when stopped with Ctrl-C.
    #[arg(long, value_name = "FILE")]
    pub(crate) dump_on_exit: Option<PathBuf>,
}

/// `cutover init`
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(long, value_name = "FILE", default_value = "runbook.toml")]
    pub(crate) out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub(crate) force: bool,
}

/// The runbook and the flags that override it (`run`, `sync`, `rollback`).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct RunbookArgs {
    /// The runbook (TOML); flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The export directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) source: Option<PathBuf>,
    /// The progress store (SQLite); a run resumes from it.
    #[arg(long, value_name = "FILE")]
    pub(crate) store: Option<PathBuf>,
    /// The target: a region name or a base URL (e.g. the simulator's).
    #[arg(long, value_name = "URL")]
    pub(crate) target_url: Option<String>,
    /// The app's SDKAppID.
    #[arg(long, value_name = "N")]
    pub(crate) sdkappid: Option<u64>,
    /// The admin identifier.
    #[arg(long, value_name = "ID")]
    pub(crate) admin: Option<String>,
}

/// `cutover run`
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The runbook and the flags that override it.
    #[command(flatten)]
    pub(crate) runbook: RunbookArgs,
    /// No terminal UI: progress lines (chosen by itself when stdout is not a terminal).
    #[arg(long)]
    pub(crate) headless: bool,
    /// With --headless: JSON lines instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Confirm the stop/resume service hooks up front (required for them in headless mode).
    #[arg(long)]
    pub(crate) yes: bool,
    /// Confirm up front that the window deletes the accounts its delta deleted (irreversible;
    /// required for them in headless mode; `[window] delete_accounts = "skip"` never does).
    #[arg(long)]
    pub(crate) delete_accounts: bool,
    /// Carry on with a store that belongs to another target or export.
    #[arg(long)]
    pub(crate) reuse_store: bool,
    /// Seconds between progress lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub(crate) progress_secs: f64,
    /// The log file (default: the store's path with `.log`).
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// A canary run: `accounts:FILE` (one account id per line) limits the run to those
    /// accounts and what involves only them; everything else is skipped.
    #[arg(long, value_name = "accounts:FILE")]
    pub(crate) only: Option<String>,
    /// The part of the cutover: `full` (everything in one window), `precopy` (import a full
    /// export while the old system is live: no hooks, no sync), `window` (import the
    /// `--delta` export into the pre-copy's store, then sync, resume and verify) or `follow`
    /// (rounds of what changed in the old database, `--from`/`--map`, until the stop is
    /// confirmed; then a last round, sync, resume and verify).
    #[arg(long, value_name = "PHASE", default_value = "full")]
    pub(crate) phase: crate::model::phase::Phase,
    /// With `--phase window`: the delta export (its manifest's `delta_of` is the watermark of
    /// what the store holds). Stands in for the runbook's source.
    #[arg(long, value_name = "DIR")]
    pub(crate) delta: Option<PathBuf>,
    /// With `--phase follow`: the old system's database (`mysql://`, `postgres://`,
    /// `sqlite://`; the password from CUTOVER_SOURCE_PASSWORD), as for `cutover export`.
    #[arg(long, value_name = "URL")]
    pub(crate) from: Option<String>,
    /// With `--phase follow`: the mapping file (one query per kind, each with `:since`).
    #[arg(long, value_name = "FILE")]
    pub(crate) map: Option<PathBuf>,
    /// With `--phase follow`: confirm the stop-service step at this time (unix seconds, a
    /// date or an RFC 3339 time): the rounds go on until then.
    #[arg(long, value_name = "TIME")]
    pub(crate) stop_at: Option<String>,
}

/// `cutover attach`
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// The store of the run.
    #[arg(long, value_name = "FILE")]
    pub store: PathBuf,
}

/// `cutover status`
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The progress store.
    #[arg(long, value_name = "FILE")]
    pub store: PathBuf,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `cutover errors`
#[derive(Debug, clap::Args)]
pub struct ErrorsArgs {
    /// The progress store.
    #[arg(long, value_name = "FILE")]
    pub(crate) store: PathBuf,
    /// Write every failed item to FILE: JSON lines, or CSV when FILE ends in `.csv`.
    #[arg(long, value_name = "FILE")]
    pub(crate) export: Option<PathBuf>,
    /// JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `cutover retry` / `cutover skip`
#[derive(Debug, clap::Args)]
pub struct ActionArgs {
    /// The progress store.
    #[arg(long, value_name = "FILE")]
    pub store: PathBuf,
    /// Only failures of this API (e.g. `importmsg`).
    #[arg(long)]
    pub api: Option<String>,
    /// Only failures with this error code.
    #[arg(long)]
    pub code: Option<i64>,
    /// Only this stage (accounts, profiles, friends, c2c_messages, groups, group_members,
    /// group_messages), `sync` for failed sync events, or `media` for media objects that
    /// could not be copied.
    #[arg(long)]
    pub stage: Option<String>,
    /// Why (kept in the audit trail; required for skip).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `cutover report`
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The progress store of the run.
    #[arg(long, value_name = "FILE")]
    pub store: PathBuf,
    /// md (Markdown), json (docs/report-json.md) or html (one self-contained page).
    #[arg(long, value_enum)]
    pub format: crate::report::Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `cutover rollback`
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The runbook of the run and the flags that override it.
    #[command(flatten)]
    pub(crate) runbook: RunbookArgs,
    /// Why (kept in the audit trail and the report).
    #[arg(long)]
    pub(crate) reason: String,
    /// Confirm running the resume service hook.
    #[arg(long)]
    pub(crate) yes: bool,
}

/// `cutover sync`
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The runbook (with its [sync] section) and the flags that override it.
    #[command(flatten)]
    pub(crate) runbook: RunbookArgs,
    /// JSON lines instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Seconds between sync lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub(crate) progress_secs: f64,
    /// The log file (default: the store's path with `.sync.log`).
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
}

/// `cutover verify`
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The progress store of the run to verify (its target and export are used).
    #[arg(long, value_name = "FILE")]
    pub(crate) store: PathBuf,
    /// A runbook for rate limits and `[verify]` settings.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Another target than the store's run: a region name or a base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) target_url: Option<String>,
    /// Another SDKAppID than the store's run.
    #[arg(long, value_name = "N")]
    pub(crate) sdkappid: Option<u64>,
    /// Another admin identifier than the store's run.
    #[arg(long, value_name = "ID")]
    pub(crate) admin: Option<String>,
    /// Read back only this fraction of groups and conversations (members and messages).
    #[arg(long, value_name = "FRACTION")]
    pub(crate) sample: Option<f64>,
    /// The app's roaming retention in days (older messages cannot be read back; 0 = no limit).
    #[arg(long, value_name = "DAYS")]
    pub(crate) roaming_days: Option<i64>,
    /// JSON lines instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Seconds between progress lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub(crate) progress_secs: f64,
}

/// `cutover demo`
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the store, runbook and log in this directory (made if missing; it must not hold a
    /// demo store yet) instead of a new temporary one. Paths are shown as given.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Copy the sample's media from the demo old system into a local S3 server (s3s-fs,
    /// installed by scripts/s3/install.sh) and import the messages with the copies' URLs.
    #[arg(long)]
    pub(crate) rehost: bool,
}

/// `cutover plan`
#[derive(Debug, Default, clap::Args)]
pub struct PlanArgs {
    /// The progress store of a run (after its preflight), or give --source.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// An export directory to plan without a store.
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// The runbook, for rate and batch overrides.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Send a HEAD request to up to N sample URLs of each media host (1 to 10; 10 s timeout
    /// each), as `cutover validate --probe N`.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u8).range(1..=10))]
    pub probe: Option<u8>,
    /// The scenario advisor: which strategies the migration guide allows for the old system's
    /// four facts (the flags below; missing ones are asked on a terminal).
    #[arg(long)]
    pub scenario: bool,
    /// The old IM: another provider's, or the app's own.
    #[arg(long, value_name = "third-party|self-built", requires = "scenario",
          value_parser = ["third-party", "self-built", "third_party", "self_built"])]
    pub old_system: Option<String>,
    /// Accounts, profiles and friend lists are hosted in the old system (the app's backend
    /// keeps none of them).
    #[arg(long, value_name = "yes|no", requires = "scenario", value_parser = ["yes", "no"])]
    pub accounts_in_old_system: Option<String>,
    /// The old system forwards a copy of every message to the app's backend.
    #[arg(long, value_name = "yes|no", requires = "scenario", value_parser = ["yes", "no"])]
    pub message_routing: Option<String>,
    /// The old system offers callbacks beyond messages (account, profile, friend, group).
    #[arg(long, value_name = "yes|no", requires = "scenario", value_parser = ["yes", "no"])]
    pub richer_callbacks: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// `cutover --help` lists what an operator runs: the benchmarks are a binary of their own
    /// (`cutover-bench`), not a subcommand.
    #[test]
    fn no_subcommand_is_a_benchmark() {
        let cli = Cli::command();
        let names: Vec<&str> = cli
            .get_subcommands()
            .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
            .collect();
        assert!(names.contains(&"run"), "the operator's commands: {names:?}");
        assert!(
            !names.iter().any(|n| n.contains("bench")),
            "a benchmark among the operator's commands: {names:?}"
        );
    }

    /// The parser's definition is consistent (clap's own checks of names, flags and defaults).
    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
