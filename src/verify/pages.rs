//! A pass's work, read from the store a page at a time per kind, so memory holds a few pages
//! and not the export: the totals are counted in the store as the pass starts, then each kind
//! walks its imported items in pages that keep a scope (an owner's friends, a group's members
//! or messages, a conversation) whole, and checks a page's units before it reads the next.

use super::groups::{check_groups, GroupIndex};
use super::members::Members;
use super::messages::{self, GroupMessages};
use super::{absence, basic, is_deletion, Ctx, Progress, SAMPLED};
use crate::store::verify_pages::{self, DonePage};
use crate::store::{open_for_reading, Kind};
use rusqlite::Connection;
use std::path::Path;

/// Adds each kind's imported items to `progress`'s totals, and those a resumed pass already
/// checked to its checked counts. In a window, items of the kinds checked item by item that
/// are outside the pre-copy's sample are not counted: they will not be read.
pub(super) fn count_totals(
    ctx: &Ctx,
    conn: &Connection,
    progress: &Progress,
) -> rusqlite::Result<()> {
    for kind in Kind::ALL {
        let (done, already) = verify_pages::done_counts(conn, kind)?;
        let mut left_out = 0u64;
        if ctx.whole_from.is_some() && !SAMPLED.contains(&kind) && !is_deletion(kind) {
            verify_pages::for_each_unchecked(conn, kind, |id, export_id| {
                left_out += u64::from(!ctx.keeps_item(id, export_id));
            })?;
        }
        progress.add_total(kind, done - left_out);
        progress.add_checked(kind, already);
    }
    Ok(())
}

/// Checks every imported item of `kind`, a page at a time, until the pass stops.
pub(super) async fn check_kind(ctx: &Ctx, store: &Path, kind: Kind) {
    let conn = match open_for_reading(store) {
        Ok(conn) => conn,
        Err(e) => {
            ctx.unit_failed(format!("{}: the store: {e}", kind.stage()));
            return;
        }
    };
    let limit = ctx.page_items.max(1);
    let mut after = None;
    while !ctx.reader.stopped() {
        // The store is read before any await: a connection is not shared across them.
        let work = verify_pages::done_page(&conn, kind, after, limit)
            .map_err(|e| e.to_string())
            .and_then(|page| PageWork::prepare(ctx, &conn, kind, page));
        let work = match work {
            Ok(work) => work,
            Err(e) => {
                ctx.unit_failed(format!("{}: {e}", kind.stage()));
                return;
            }
        };
        let next = work.page.next;
        work.check(ctx, kind).await;
        match next {
            Some(n) => after = Some(n),
            None => return,
        }
    }
}

/// One page and the staged groups its checks need.
struct PageWork {
    page: DonePage,
    groups: Option<GroupIndex>,
}

impl PageWork {
    /// Leaves out what this pass does not read item by item (already checked, or outside a
    /// window's sample) and loads the page's groups.
    fn prepare(
        ctx: &Ctx,
        conn: &Connection,
        kind: Kind,
        mut page: DonePage,
    ) -> Result<PageWork, String> {
        if !SAMPLED.contains(&kind) {
            let checked = std::mem::take(&mut page.checked);
            page.items
                .retain(|i| !checked.contains(&i.id) && ctx.item_in_window_sample(kind, i));
        }
        let group_ids: Vec<i64> = match kind {
            Kind::Group => page.items.iter().map(|i| i.id).collect(),
            Kind::GroupMember | Kind::GroupMessage | Kind::MemberRemoval | Kind::GroupRecall => {
                let mut ids: Vec<i64> = page.items.iter().filter_map(|i| i.parent).collect();
                ids.dedup();
                ids
            }
            _ => Vec::new(),
        };
        let groups = if group_ids.is_empty() {
            None
        } else {
            let with_members = kind == Kind::GroupMember;
            Some(GroupIndex::load(ctx, conn, &group_ids, with_members)?)
        };
        Ok(PageWork { page, groups })
    }

    /// Checks the page's units, as many at once as the lanes allow.
    async fn check(self, ctx: &Ctx, kind: Kind) {
        let PageWork { page, groups } = self;
        let groups = groups.unwrap_or_default();
        let (items, checked) = (page.items, &page.checked);
        match kind {
            Kind::Account => basic::accounts(ctx, items).await,
            Kind::Profile => basic::profiles(ctx, items).await,
            Kind::Friend => basic::friends(ctx, items).await,
            Kind::Group => basic::groups(ctx, &groups, items).await,
            Kind::GroupMember => check_groups::<Members>(ctx, &groups, items, checked).await,
            Kind::GroupMessage => check_groups::<GroupMessages>(ctx, &groups, items, checked).await,
            Kind::C2cMessage => messages::c2c(ctx, items, checked).await,
            Kind::AccountDeletion => absence::accounts(ctx, items).await,
            Kind::FriendDeletion => absence::friends(ctx, items).await,
            Kind::GroupDeletion => absence::groups(ctx, items).await,
            Kind::MemberRemoval => absence::members(ctx, &groups, items).await,
            Kind::GroupRecall => absence::group_messages(ctx, &groups, items).await,
            Kind::C2cRecall => absence::c2c_messages(ctx, items).await,
        }
    }
}
