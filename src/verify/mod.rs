//! Read-back verification: read the target back and compare it with the staged export.
//!
//! Every kind is checked in units (a batch of accounts, an owner's friends, a group's members
//! or messages, a conversation) on its own paced read lane; all kinds run at once, as their
//! lanes are independent. Each unit's results are committed to the store before they count, so
//! a stopped pass carries on where it was and every figure shown is a committed one.
//!
//! Here: the pass and its units. Per kind: `basic` (accounts, profiles, friends, groups),
//! `members` and `messages` (the loop they share, a group at a time, in `groups`); `absence`
//! reads back what a delta deleted (the deletion kinds); `compare` compares fields, `sink`
//! commits the results. Reads go through [`crate::tim::paced::Reader`].

mod absence;
mod basic;
mod compare;
mod groups;
mod members;
mod messages;
mod pages;
mod sink;

use crate::config::Runbook;
use crate::model::ExportRecord;
use crate::store::queries::{self, PendingItem};
use crate::store::records::Sources;
use crate::store::verify::{self as stored, EntityCounts, Pass};
use crate::store::{open_for_reading, open_for_writing, Kind};
use crate::tim::api::Api;
use crate::tim::client::TimClient;
use crate::tim::lane::LaneFigures;
use crate::tim::paced::{PacedError, Reader};
use crate::tim::paging::Pager;
use crate::tim::wire::Request;
use sink::Sink;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How a pass reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VerifySettings {
    /// The fraction of groups (members, messages) and conversations read back; 1 = all.
    pub(crate) sample: f64,
    /// Messages older than this many days cannot be read back (0: no limit).
    pub(crate) roaming_days: i64,
    /// Calls per second per read API (documented defaults when absent).
    pub(crate) rates: HashMap<Api, u32>,
    /// Most calls in flight per read API.
    pub(crate) max_in_flight: usize,
    /// A window's verification: items of this export and later ones (the delta) are read
    /// whole, older ones (the pre-copy) at `sample`. `None`: `sample` applies to the sampled
    /// kinds' units only and every other item is read.
    pub(crate) whole_from: Option<i64>,
    /// Imported items read from the store per page and kind.
    pub(crate) page_items: usize,
}

impl VerifySettings {
    /// The settings a runbook asks for.
    pub(crate) fn from_runbook(rb: &Runbook) -> VerifySettings {
        VerifySettings {
            sample: rb.verify.sample,
            roaming_days: rb.verify.roaming_days,
            rates: rb.rates.iter().map(|(a, r)| (*a, *r)).collect(),
            max_in_flight: rb.max_in_flight,
            page_items: rb.verify.page_items,
            whole_from: None,
        }
    }
}

/// Live progress of a pass: per kind, items with a committed result and items to check.
#[derive(Debug, Default)]
pub struct Progress {
    checked: [AtomicU64; Kind::ALL.len()],
    total: [AtomicU64; Kind::ALL.len()],
    lanes: Mutex<Vec<(Api, LaneFigures)>>,
}

impl Progress {
    /// Per kind: (checked, to check), in kind order.
    pub fn kinds(&self) -> Vec<(Kind, u64, u64)> {
        Kind::ALL
            .into_iter()
            .map(|k| {
                let i = k as usize;
                (
                    k,
                    self.checked[i].load(Ordering::Relaxed),
                    self.total[i].load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// The read lanes' figures as last seen.
    pub fn lanes(&self) -> Vec<(Api, LaneFigures)> {
        self.lanes.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn add_total(&self, kind: Kind, n: u64) {
        self.total[kind as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_checked(&self, kind: Kind, n: u64) {
        self.checked[kind as usize].fetch_add(n, Ordering::Relaxed);
    }
}

/// What a pass ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Per-entity counts, as committed.
    pub counts: Vec<EntityCounts>,
    /// The pass.
    pub(crate) pass: Option<Pass>,
    /// False when it was stopped or some units could not be read (they stay unchecked).
    pub finished: bool,
    /// Units that could not be read, with why (the first few).
    pub unread_units: Vec<String>,
    /// Seconds the pass took.
    pub elapsed_secs: f64,
    /// The least time the documented rate limits allow for the calls it made.
    pub t_limit_secs: f64,
}

impl Summary {
    /// Missing, differing and extra items over every kind.
    pub fn mismatched(&self) -> u64 {
        self.counts.iter().map(EntityCounts::mismatched).sum()
    }

    /// One line for a person.
    pub fn line(&self) -> String {
        let verified: u64 = self.counts.iter().map(|c| c.verified).sum();
        let unchecked: u64 = self.counts.iter().map(|c| c.unchecked + c.unreadable).sum();
        let mut s = format!("{verified} verified, {} mismatched", self.mismatched());
        if unchecked > 0 {
            s.push_str(&format!(", {unchecked} not read back"));
        }
        if !self.finished {
            s.push_str(" (verification did not finish: run it again to carry on)");
        }
        s
    }
}

/// What every unit check needs.
pub(crate) struct Ctx {
    pub(crate) reader: Reader,
    pub(crate) sources: Sources,
    pub(crate) sink: Sink,
    /// Messages sent before this (unix seconds) cannot be read back.
    pub(crate) roaming_floor: Option<i64>,
    pub(crate) sample: f64,
    /// Items of this export and later ones are read whole (see [`VerifySettings::whole_from`]).
    pub(crate) whole_from: Option<i64>,
    /// Units checked at once per kind.
    pub(crate) parallel: usize,
    /// Units that could not be read.
    pub(crate) unread: Mutex<Vec<String>>,
    /// Imported items read from the store per page and kind.
    pub(crate) page_items: usize,
    /// Per sampled kind: units read back, units in all.
    pub(crate) sampled: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl Ctx {
    /// Reads the records of `items`; `None` (and the unit is reported) if one cannot be read.
    pub(crate) fn records<T: ExportRecord>(
        &self,
        kind: Kind,
        items: &[PendingItem],
    ) -> Option<Vec<T>> {
        match self.sources.read_all(kind, items) {
            Ok(r) => Some(r),
            Err(e) => {
                self.unit_failed(format!("{}: {e}", kind.stage()));
                None
            }
        }
    }

    /// Makes one read for a unit; `None` when stopped or failed (the unit is reported).
    pub(crate) async fn read<R: Request>(
        &self,
        req: &R,
        unit: impl FnOnce() -> String,
    ) -> Option<R::Response> {
        match self.read_or(req, &[], unit).await? {
            Answered::Read(r) => Some(r),
            Answered::Code(_) => None,
        }
    }

    /// Makes one read for a unit, where an error with one of `codes` is an answer too (a
    /// check of absence: the group or account does not exist); `None` when stopped or
    /// failed otherwise (the unit is reported).
    pub(crate) async fn read_or<R: Request>(
        &self,
        req: &R,
        codes: &[i64],
        unit: impl FnOnce() -> String,
    ) -> Option<Answered<R::Response>> {
        match self.reader.call(req).await {
            Ok(r) => Some(Answered::Read(r)),
            Err(PacedError::Stopped) => None,
            Err(PacedError::Call(e)) => match e.code().filter(|c| codes.contains(c)) {
                Some(code) => Some(Answered::Code(code)),
                None => {
                    self.unit_failed(format!("{}: {e}", unit()));
                    None
                }
            },
        }
    }

    /// The cursor of a unit's next page; `None` when it did not move (the unit is reported).
    pub(crate) fn advance<C: PartialOrd + std::fmt::Debug + Clone>(
        &self,
        pager: &mut Pager<C>,
        next: C,
        unit: impl FnOnce() -> String,
    ) -> Option<C> {
        match pager.advance(next) {
            Ok(next) => Some(next),
            Err(stuck) => {
                self.unit_failed(format!("{}: {stuck}", unit()));
                None
            }
        }
    }

    /// A unit could not be read: its items stay unchecked.
    pub(crate) fn unit_failed(&self, what: String) {
        tracing::warn!(unit = %what, "read-back failed; its items stay unchecked");
        if let Ok(mut u) = self.unread.lock() {
            u.push(what);
        }
    }

    /// Whether a unit is still to read: in the sample, and not all of its items `checked` in
    /// an earlier session of this pass.
    pub(crate) fn to_read(
        &self,
        kind: Kind,
        key: &str,
        items: &[PendingItem],
        checked: &HashSet<i64>,
    ) -> bool {
        let whole = items.iter().any(|i| self.is_delta(i.export_id));
        self.in_sample(kind, key, whole) && !items.iter().all(|i| checked.contains(&i.id))
    }

    /// Whether an item of export `export_id` belongs to a window's delta, read whole.
    fn is_delta(&self, export_id: i64) -> bool {
        self.whole_from.is_some_and(|w| export_id >= w)
    }

    /// Whether a window's verification reads `item` of a kind checked item by item: the
    /// delta's items always, the pre-copy's at the sample (always outside a window). Counted.
    fn item_in_window_sample(&self, kind: Kind, item: &PendingItem) -> bool {
        self.whole_from.is_none()
            || is_deletion(kind)
            || self.in_sample(kind, &item.id.to_string(), self.is_delta(item.export_id))
    }

    /// [`Self::item_in_window_sample`] of item `id` of export `export_id`, not counted.
    fn keeps_item(&self, id: i64, export_id: i64) -> bool {
        self.whole_from.is_none() || self.keeps(&id.to_string(), self.is_delta(export_id))
    }

    /// Whether the unit `key` is in the sample: always at sample 1, or when it is `whole`.
    fn keeps(&self, key: &str, whole: bool) -> bool {
        whole || self.sample >= 1.0 || {
            let h = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
            (h as f64 / u64::MAX as f64) < self.sample
        }
    }

    /// Whether the unit `key` of `kind` is in the sample ([`Self::keeps`]), counted.
    pub(crate) fn in_sample(&self, kind: Kind, key: &str, whole: bool) -> bool {
        let keep = self.keeps(key, whole);
        if let Ok(mut s) = self.sampled.lock() {
            let e = s.entry(kind.name().to_string()).or_default();
            e.0 += u64::from(keep);
            e.1 += 1;
        }
        keep
    }
}

/// Runs `check` on every unit, as many at once as the lanes allow.
pub(crate) async fn for_each_unit<U, F, Fut>(ctx: &Ctx, units: Vec<U>, check: F)
where
    F: Fn(U) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures_util::stream::{self, StreamExt};
    stream::iter(units)
        .take_while(|_| std::future::ready(!ctx.reader.stopped()))
        .map(check)
        .buffer_unordered(ctx.parallel)
        .collect::<()>()
        .await;
}

/// Kinds read back per sampled unit (a group, a conversation): they get every imported item,
/// so the sample is counted over all units, and skip the units already checked.
const SAMPLED: [Kind; 3] = [Kind::GroupMember, Kind::GroupMessage, Kind::C2cMessage];

/// Whether `kind` is a deletion's: always read back whole, never sampled (a delta's deletions
/// keep the place, and so the export, of the record they delete, often the pre-copy's).
fn is_deletion(kind: Kind) -> bool {
    kind.deletes().is_some()
}

/// What a read answered: the response, or an error code the caller takes as an answer.
pub(crate) enum Answered<T> {
    /// The response.
    Read(T),
    /// One of the codes asked for.
    Code(i64),
}

/// Why a verification pass could not run (what it reads back differently is data: results in
/// the store, not errors).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The store refused a read or a write.
    #[error("the store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The results' writer failed.
    #[error("the store's writer: {0}")]
    Writer(#[from] crate::store::batch::WriterError),
    /// A staged record could not be read back from the export.
    #[error("{0}")]
    Records(String),
}

/// Runs (or carries on) a verification pass of the store at `store` against `client`'s app.
pub(crate) async fn run(
    store: &Path,
    client: Arc<TimClient>,
    settings: &VerifySettings,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Result<Summary, VerifyError> {
    let started = std::time::Instant::now();
    let mut conn = open_for_writing(store)?;
    let resumed = stored::begin_pass(
        &mut conn,
        settings.sample,
        settings.roaming_days,
        settings.whole_from,
    )?;
    tracing::info!(resumed, sample = settings.sample, "verification pass");
    let sources = Sources::open(queries::read_paths(&conn)?).map_err(VerifyError::Records)?;
    let roaming_floor = (settings.roaming_days > 0)
        .then(|| crate::timefmt::now_secs() - settings.roaming_days * 86_400);
    let ctx = Ctx {
        reader: Reader::new(client, &settings.rates, settings.max_in_flight, stop),
        sources,
        sink: Sink::start(conn, Arc::clone(&progress))?,
        roaming_floor,
        sample: settings.sample,
        whole_from: settings.whole_from,
        parallel: settings.max_in_flight.max(1),
        unread: Mutex::new(Vec::new()),
        sampled: Mutex::new(BTreeMap::new()),
        page_items: settings.page_items,
    };
    pages::count_totals(&ctx, &open_for_reading(store)?, &progress)?;
    check_all_kinds(&ctx, store, &progress).await;
    let lanes = ctx.reader.lanes();
    if let Ok(mut l) = progress.lanes.lock() {
        l.clone_from(&lanes);
    }
    let stopped = ctx.reader.stopped();
    let unread = ctx.unread.lock().map(|u| u.clone()).unwrap_or_default();
    let sampled = ctx.sampled.lock().map(|s| s.clone()).unwrap_or_default();
    let conn = ctx.sink.finish().await?;
    let finished = !stopped && unread.is_empty();
    if finished {
        stored::end_pass(&conn, &sampled)?;
    }
    let t_limit_secs = lanes
        .iter()
        .map(|(_, f)| f.calls as f64 / f64::from(f.rate.max(1)))
        .fold(0.0, f64::max);
    drop(conn);
    let conn = open_for_reading(store)?;
    Ok(Summary {
        counts: stored::entity_counts(&conn)?,
        pass: stored::pass(&conn)?,
        finished,
        unread_units: unread.into_iter().take(20).collect(),
        elapsed_secs: started.elapsed().as_secs_f64(),
        t_limit_secs,
    })
}

/// Checks every kind at once (their read lanes are independent), each a page at a time,
/// publishing the lanes' figures to `progress` every 250 ms meanwhile.
async fn check_all_kinds(ctx: &Ctx, store: &Path, progress: &Progress) {
    let watch_lanes = async {
        loop {
            if let Ok(mut l) = progress.lanes.lock() {
                *l = ctx.reader.lanes();
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    };
    let checks = async {
        let kinds = Kind::ALL.map(|kind| pages::check_kind(ctx, store, kind));
        futures_util::future::join_all(kinds).await
    };
    tokio::select! {
        _ = checks => {}
        _ = watch_lanes => {}
    }
}
