//! The runbook of design.md, step by step: preflight, stop service, import, start sync,
//! resume service, verify. Each step's state and reason is kept in the store, so a resumed run
//! does not stop the service twice and `status` shows where the run is.

use super::hooks;
use crate::config::{HookConfig, Runbook};
use crate::engine::import::{Import, ImportSettings};
use crate::source::ExportDir;
use crate::store::queries::{self, RunIdentity};
use crate::store::stage::{fingerprint, stage_export, Staged};
use crate::store::{now_secs, open_for_writing};
use crate::sync::relay::{self, RelayHandle};
use crate::tim::client::{ClientConfig, TimClient};
use crate::tim::wire::account::{AccountCheck, CheckItem};
use crate::verify::{self, Progress, Summary, VerifySettings};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;
use tokio::sync::watch;

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Validate and stage the export, check the credentials and the store.
    Preflight,
    /// Put the old IM into maintenance.
    StopService,
    /// The import lanes.
    Import,
    /// Two-way sync.
    StartSync,
    /// Bring the old IM back.
    ResumeService,
    /// Read the target back.
    Verify,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [
        Step::Preflight,
        Step::StopService,
        Step::Import,
        Step::StartSync,
        Step::ResumeService,
        Step::Verify,
    ];

    /// The name stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::StopService => "stop service",
            Step::Import => "import",
            Step::StartSync => "start sync",
            Step::ResumeService => "resume service",
            Step::Verify => "verify",
        }
    }

    fn position(self) -> i64 {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) as i64 + 1
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// The operator confirmed the risky steps up front (`--yes`).
    pub yes: bool,
    /// Carry on with a store that belongs to another target or export.
    pub reuse_store: bool,
}

/// One run of the runbook.
pub struct Runner {
    /// The runbook.
    pub runbook: Runbook,
    opts: RunOptions,
    client: Arc<TimClient>,
}

/// What preflight found.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The staged export.
    pub staged: Staged,
    /// A canary run: what it keeps and skips, for a person.
    pub canary: Option<String>,
}

impl Runner {
    /// A runner for `runbook`.
    pub fn new(runbook: Runbook, opts: RunOptions) -> anyhow::Result<Runner> {
        let config = ClientConfig::new(
            runbook.target.clone(),
            runbook.sdkappid,
            &runbook.admin,
            runbook.key.clone(),
        );
        let client = Arc::new(TimClient::new(config)?);
        Ok(Runner {
            runbook,
            opts,
            client,
        })
    }

    fn conn(&self) -> anyhow::Result<Connection> {
        Ok(open_for_writing(&self.runbook.store)?)
    }

    /// Records a step's state.
    pub fn record(&self, step: Step, state: &str, reason: &str) -> anyhow::Result<()> {
        let conn = self.conn()?;
        let now = now_secs();
        conn.execute(
            "INSERT INTO step (name, position, state, reason, started_at, ended_at)
             VALUES (?1, ?2, ?3, ?4, CASE WHEN ?3 = 'running' THEN ?5 END,
                     CASE WHEN ?3 IN ('done', 'failed', 'skipped') THEN ?5 END)
             ON CONFLICT (name) DO UPDATE SET state = ?3, reason = ?4,
                 started_at = COALESCE(started_at, CASE WHEN ?3 = 'running' THEN ?5 END),
                 ended_at = CASE WHEN ?3 IN ('done', 'failed', 'skipped') THEN ?5 END",
            params![step.name(), step.position(), state, reason, now],
        )?;
        Ok(())
    }

    /// The stored state of `step`, if any.
    pub fn state_of(&self, step: Step) -> anyhow::Result<Option<String>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT state FROM step WHERE name = ?1",
                [step.name()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Refuses to start a headless run that would need a confirmation it cannot ask for.
    pub fn check_confirmations(&self) -> Result<(), String> {
        let hooks = [
            ("stop_service", &self.runbook.stop_service),
            ("resume_service", &self.runbook.resume_service),
        ];
        for (name, hook) in hooks {
            if let (Some(h), false) = (hook, self.opts.yes) {
                return Err(format!(
                    "the runbook has a {name} hook ({}); in headless mode it runs only with --yes",
                    hooks::describe(h)
                ));
            }
        }
        Ok(())
    }

    /// Preflight: binds the store to this target and export, stages the export (once), and
    /// makes one cheap read call to prove the credentials.
    pub async fn preflight(&self) -> anyhow::Result<Preflight> {
        self.record(Step::Preflight, "running", "")?;
        let result = self.preflight_inner().await;
        match &result {
            Ok(_) => self.record(Step::Preflight, "done", "")?,
            Err(e) => self.record(Step::Preflight, "failed", &format!("{e:#}"))?,
        }
        result
    }

    async fn preflight_inner(&self) -> anyhow::Result<Preflight> {
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
        let print = fingerprint(&export);
        queries::check_export(
            &conn,
            &rb.store,
            &print,
            export.manifest.delta_of,
            self.opts.reuse_store,
        )?;
        let staged = stage_export(&mut conn, &rb.store, &export)?;
        let check = AccountCheck {
            CheckItem: vec![CheckItem {
                UserID: rb.admin.clone(),
            }],
        };
        // A transient answer (HTTP 503, a timeout, 60007) says nothing about the credentials:
        // ask again a few times before calling the check failed.
        let mut attempt = 0;
        loop {
            match self.client.call(&check).await {
                Ok(_) => break,
                Err(e) if e.class().is_retryable() && attempt < 5 => {
                    tokio::time::sleep(crate::tim::lane::retry_delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    anyhow::bail!("the credentials check (account_check of the admin) failed: {e}")
                }
            }
        }
        let canary = match &rb.canary {
            None => None,
            Some(list) => {
                let accounts = crate::engine::canary::read_list(list)?;
                let sources =
                    crate::store::records::Sources::open(crate::store::queries::read_paths(&conn)?)
                        .map_err(anyhow::Error::msg)?;
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
        Ok(Preflight { staged, canary })
    }

    /// The hook of a hook step, if configured.
    pub fn hook(&self, step: Step) -> Option<&HookConfig> {
        match step {
            Step::StopService => self.runbook.stop_service.as_ref(),
            Step::ResumeService => self.runbook.resume_service.as_ref(),
            _ => None,
        }
    }

    /// Runs a hook step (already confirmed): skipped without a hook or when done before.
    /// Returns the state and reason it ended with.
    pub async fn hook_step(&self, step: Step) -> anyhow::Result<(String, String)> {
        if self.state_of(step)?.as_deref() == Some("done") {
            return Ok((
                "done".into(),
                "done in an earlier session of this run".into(),
            ));
        }
        let Some(hook) = self.hook(step) else {
            let reason = format!("no {} hook configured", step.name().replace(' ', "_"));
            self.record(step, "skipped", &reason)?;
            return Ok(("skipped".into(), reason));
        };
        self.record(step, "running", &hooks::describe(hook))?;
        let (state, reason) = match hooks::run_hook(hook).await {
            Ok(said) => ("done", said),
            Err(why) => ("failed", why),
        };
        self.record(step, state, &reason)?;
        Ok((state.into(), reason))
    }

    /// The start sync step: starts the relay of the runbook's `[sync]` section and checks its
    /// health before the step is done (skipped without a `[sync]` section). Returns the state,
    /// the reason, and the running relay.
    pub async fn start_sync(&self) -> anyhow::Result<(String, String, Option<RelayHandle>)> {
        let cfg = match (&self.runbook.strategy, &self.runbook.sync) {
            (crate::config::Strategy::Coexistence, Some(cfg)) => Some(cfg),
            _ => None,
        };
        let Some(cfg) = cfg else {
            let reason = "forced upgrade: no sync";
            self.record(Step::StartSync, "skipped", reason)?;
            return Ok(("skipped".into(), reason.into(), None));
        };
        self.record(Step::StartSync, "running", "starting the relay")?;
        let relay = match relay::start(&self.runbook, cfg).await {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("{e:#}");
                self.record(Step::StartSync, "failed", &reason)?;
                return Ok(("failed".into(), reason, None));
            }
        };
        match relay.health(cfg).await {
            Ok(reason) => {
                self.record(Step::StartSync, "done", &reason)?;
                Ok(("done".into(), reason, Some(relay)))
            }
            Err(why) => {
                relay.stop().await?;
                self.record(Step::StartSync, "failed", &why)?;
                Ok(("failed".into(), why, None))
            }
        }
    }

    /// Runs (or carries on) the verification pass, recording the verify step: done when every
    /// imported item read back as it should, failed when some did not.
    pub async fn verify(
        &self,
        progress: Arc<Progress>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Summary> {
        self.record(Step::Verify, "running", "reading the target back")?;
        let settings = VerifySettings::from_runbook(&self.runbook);
        let summary = match verify::run(
            &self.runbook.store,
            Arc::clone(&self.client),
            &settings,
            progress,
            stop,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                self.record(Step::Verify, "failed", &format!("{e:#}"))?;
                return Err(e);
            }
        };
        let state = if summary.mismatched() > 0 {
            "failed"
        } else if summary.finished {
            "done"
        } else {
            "stopped"
        };
        self.record(Step::Verify, state, &summary.line())?;
        Ok(summary)
    }

    /// The import, prepared from the store.
    pub fn prepare_import(&self) -> anyhow::Result<Import> {
        self.record(Step::Import, "running", "")?;
        let conn = self.conn()?;
        Import::prepare(
            conn,
            Arc::clone(&self.client),
            &ImportSettings::from_runbook(&self.runbook),
        )
    }
}
