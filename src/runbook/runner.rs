//! What each runbook step does: preflight (bind the store, stage the export, prove the
//! credentials), the hooks, the import's preparation, start sync and verification. The runner
//! does the work and says how it ended; the flow in [`super::drive`] decides the step states and
//! records them through the one [`StepBook`].

use super::book::StepBook;
use super::error::RunbookError;
use super::hooks;
use crate::config::{HookConfig, Runbook};
use crate::engine::import::{Import, ImportSettings};
use crate::model::phase::Phase;
pub(crate) use crate::model::step::{Step, StepState};
use crate::source::ExportDir;
use crate::store::open_for_writing;
use crate::store::queries::{self, RunIdentity};
use crate::store::stage::{fingerprint, stage_export_with, StageOptions, Staged};
use crate::sync::relay::{self, RelayHandle};
use crate::tim::client::{ClientConfig, TimClient};
use crate::verify::{self, Progress, Summary, VerifySettings};
use rusqlite::Connection;
use std::sync::Arc;
use tokio::sync::watch;

/// How a run was started.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// The operator confirmed the risky steps up front (`--yes`).
    pub yes: bool,
    /// Carry on with a store that belongs to another target or export.
    pub reuse_store: bool,
    /// The part of the cutover this run is (`--phase`); `None` for a runner that only reads
    /// back (`cutover verify`), which leaves the store's phase and steps as they are.
    pub phase: Option<Phase>,
}

/// One run of the runbook.
pub struct Runner {
    /// The runbook.
    pub(crate) runbook: Runbook,
    opts: RunOptions,
    client: Arc<TimClient>,
    steps: StepBook,
    /// Where the run's alerts go (off unless [`Runner::with_alerter`] says).
    pub(crate) alerter: crate::alerts::Alerter,
    /// A follow run's old database (`--phase follow`; [`Runner::with_follow`]).
    pub(crate) follow: Option<super::follow::FollowSource>,
}

/// What preflight found.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The staged export.
    pub(crate) staged: Staged,
    /// A canary run: what it keeps and skips, for a person.
    pub canary: Option<String>,
    /// What the checks of the target found, and what they could not check.
    pub target: String,
}

impl Runner {
    /// A runner for `runbook` (whose `source` is the export this phase stages: the full
    /// export, or a window's delta). A phase or export other than the store's last one starts
    /// the steps afresh.
    pub fn new(runbook: Runbook, opts: RunOptions) -> Result<Runner, RunbookError> {
        let config = ClientConfig::new(
            runbook.target.clone(),
            runbook.sdkappid,
            &runbook.admin,
            runbook.key.clone(),
        );
        let client = Arc::new(TimClient::new(config)?);
        if let Some(phase) = opts.phase {
            // Refused before anything is recorded: a wrong delta leaves the store as it was.
            let export = ExportDir::open(&runbook.source)?;
            let source = fingerprint(&export);
            let mut conn = open_for_writing(&runbook.store)?;
            super::phase::check_export(&conn, &runbook.store, phase, &export, &source)?;
            let now = crate::timefmt::now_secs();
            crate::store::phase::begin(&mut conn, phase.name(), &source, now)?;
        }
        let steps = StepBook::open(&runbook.store)?;
        Ok(Runner {
            runbook,
            opts,
            client,
            steps,
            alerter: crate::alerts::Alerter::disabled(),
            follow: None,
        })
    }

    /// The same runner, its alerts going through `alerter`.
    pub fn with_alerter(mut self, alerter: crate::alerts::Alerter) -> Runner {
        self.alerter = alerter;
        self
    }

    /// The same runner, following the old database `source` (`--phase follow`).
    pub fn with_follow(mut self, source: super::follow::FollowSource) -> Runner {
        self.follow = Some(source);
        self
    }

    pub(crate) fn conn(&self) -> Result<Connection, RunbookError> {
        Ok(open_for_writing(&self.runbook.store)?)
    }

    /// The steps' states: the one place they change.
    pub fn steps(&self) -> &StepBook {
        &self.steps
    }

    /// The part of the cutover this run is.
    pub(crate) fn phase(&self) -> Phase {
        self.opts.phase.unwrap_or_default()
    }

    /// In a window: the share of the pre-copy its verification reads back.
    pub(crate) fn window_sample(&self) -> Option<f64> {
        self.phase()
            .is_delta()
            .then_some(self.runbook.verify_precopy_sample)
    }

    /// Preflight: binds the store to this target and export, stages the export (once), and
    /// checks the target with its read APIs ([`super::target_checks`]).
    pub async fn preflight(&self) -> Result<Preflight, RunbookError> {
        let rb = &self.runbook;
        let export = ExportDir::open(&rb.source)?;
        let mut conn = self.conn()?;
        let identity = RunIdentity {
            target: rb.target.base().to_string(),
            sdkappid: rb.sdkappid,
            admin: rb.admin.clone(),
            config: serde_json::to_string(rb)?,
        };
        queries::ensure_run(&conn, &rb.store, &identity, self.opts.reuse_store)?;
        let staged = self.stage(&mut conn, &export)?;
        let media = super::media_preflight::check(&conn, rb).await?;
        // The declared custom profile tags are read back (friend tags and group fields have no
        // read API: the note says so).
        let target =
            super::target_checks::check(&self.client, rb, &rb.console.profile_custom_tags).await?;
        let canary = match &rb.canary {
            None => None,
            Some(list) => {
                let accounts = crate::engine::canary::read_list(list)?;
                let sources =
                    crate::store::records::Sources::open(crate::store::queries::read_paths(&conn)?)
                        .map_err(RunbookError::Records)?;
                let figures = crate::engine::canary::restrict(&mut conn, &sources, &accounts)?;
                let kept: Vec<String> = figures
                    .iter()
                    .map(|(k, kept, skipped)| {
                        format!("{} {kept} kept, {skipped} skipped", k.name())
                    })
                    .collect();
                Some(format!(
                    "canary of {} accounts: {}",
                    accounts.len(),
                    kept.join(", ")
                ))
            }
        };
        Ok(Preflight {
            staged,
            canary,
            target: [target.note(), media]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        })
    }

    /// Stages `export` (once: a staged one is found again) and checks its custom keys.
    pub(crate) fn stage(
        &self,
        conn: &mut Connection,
        export: &ExportDir,
    ) -> Result<Staged, RunbookError> {
        stage_with(&self.runbook, self.opts.reuse_store, conn, export)
    }

    /// [`Runner::stage`] of the export in `dir` on a blocking thread, so that the console and
    /// the signals go on meanwhile.
    pub(crate) async fn stage_dir(&self, dir: &std::path::Path) -> Result<Staged, RunbookError> {
        let (rb, reuse, dir) = (
            self.runbook.clone(),
            self.opts.reuse_store,
            dir.to_path_buf(),
        );
        tokio::task::spawn_blocking(move || {
            let export = ExportDir::open(&dir)?;
            let mut conn = open_for_writing(&rb.store)?;
            stage_with(&rb, reuse, &mut conn, &export)
        })
        .await
        .map_err(|e| RunbookError::Phase(format!("staging stopped: {e}")))?
    }

    /// The hook of a hook step, if configured and the phase runs hooks.
    pub(crate) fn hook(&self, step: Step) -> Option<&HookConfig> {
        if !self.phase().touches_the_live_system() {
            return None;
        }
        match step {
            Step::StopService => self.runbook.stop_service.as_ref(),
            Step::ResumeService => self.runbook.resume_service.as_ref(),
            _ => None,
        }
    }

    /// Runs a hook step (already confirmed): skipped without a hook or when done before.
    pub(crate) async fn hook_step(&self, step: Step) -> StepState {
        if self.steps.get(step).is_settled() {
            return StepState::done("done in an earlier session of this run");
        }
        if !self.phase().touches_the_live_system() {
            return StepState::skipped("pre-copy: the old system stays live");
        }
        let Some(hook) = self.hook(step) else {
            return StepState::skipped(format!(
                "no {} hook configured",
                step.name().replace(' ', "_")
            ));
        };
        match hooks::run_hook(hook).await {
            Ok(said) => StepState::done(said),
            Err(why) => StepState::failed(why),
        }
    }

    /// The start sync step: starts the relay of the runbook's `[sync]` section and checks its
    /// health before the step is done (skipped without a `[sync]` section, or in a forced
    /// upgrade). Returns how the step ended and the running relay.
    pub(crate) async fn start_sync(&self) -> (StepState, Option<RelayHandle>) {
        if !self.phase().touches_the_live_system() {
            return (
                StepState::skipped("pre-copy: sync starts in the window"),
                None,
            );
        }
        let cfg = match (&self.runbook.strategy, &self.runbook.sync) {
            (crate::config::Strategy::Coexistence, Some(cfg)) => cfg,
            _ => return (StepState::skipped("forced upgrade: no sync"), None),
        };
        let relay = match relay::start(&self.runbook, cfg).await {
            Ok(r) => r,
            Err(e) => return (StepState::failed(format!("{e:#}")), None),
        };
        match relay.health(cfg).await {
            Ok(reason) => (StepState::done(reason), Some(relay)),
            Err(why) => {
                let why = match relay.stop().await {
                    Ok(()) => why,
                    Err(e) => format!("{why}; stopping the relay failed too: {e:#}"),
                };
                (StepState::failed(why), None)
            }
        }
    }

    /// Runs (or carries on) the verification pass.
    pub async fn verify(
        &self,
        progress: Arc<Progress>,
        stop: watch::Receiver<bool>,
    ) -> Result<Summary, RunbookError> {
        let mut settings = VerifySettings::from_runbook(&self.runbook);
        if self.phase().is_delta() {
            // Window-sized: the delta whole, the pre-copy sampled; the full read-back runs
            // after the window with `cutover verify`.
            let conn = self.conn()?;
            settings.whole_from = crate::store::phase::window_exports_from(&conn)?;
            settings.sample = self.runbook.verify_precopy_sample;
        }
        Ok(verify::run(
            &self.runbook.store,
            Arc::clone(&self.client),
            &settings,
            progress,
            stop,
        )
        .await?)
    }

    /// The import, prepared from the store.
    pub fn prepare_import(&self) -> Result<Import, RunbookError> {
        self.prepare_import_with(|_| {})
    }

    /// Prepares the import step with the runbook's settings as `adjust` changes them (tests
    /// and benchmarks: e.g. a small page of pending items).
    pub fn prepare_import_with(
        &self,
        adjust: impl FnOnce(&mut ImportSettings),
    ) -> Result<Import, RunbookError> {
        let conn = self.conn()?;
        let mut settings = ImportSettings::from_runbook(&self.runbook);
        adjust(&mut settings);
        Ok(Import::prepare(conn, Arc::clone(&self.client), &settings)?)
    }
}

/// Stages `export` into the store of `rb` (once) and checks its custom keys.
fn stage_with(
    rb: &Runbook,
    reuse_store: bool,
    conn: &mut Connection,
    export: &ExportDir,
) -> Result<Staged, RunbookError> {
    let print = fingerprint(export);
    crate::store::phase::check_export(
        conn,
        &rb.store,
        &print,
        export.manifest.delta_of,
        reuse_store,
    )?;
    let same_second = match rb.same_second {
        crate::config::SameSecond::Shift => crate::store::order::SameSecond::Shift,
        crate::config::SameSecond::Refuse => crate::store::order::SameSecond::Refuse,
    };
    let options = StageOptions {
        same_second,
        history_since: rb.history_since,
    };
    let staged = stage_export_with(conn, &rb.store, export, options)?;
    super::custom_keys::check(conn, rb)?;
    Ok(staged)
}
