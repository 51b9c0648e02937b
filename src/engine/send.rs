//! What every kind's request shares: the context a job is sent in (the client, the export
//! records, the groups' target ids), the call itself, and how an answer is told back to the
//! engine ([`Answer`], [`SendError`]). What differs per kind lives in [`super::kinds`].

use super::failure::Reason;
use super::feed::GroupTarget;
use super::job::Job;
use crate::model::ExportRecord;
use crate::store::records::Sources;
use crate::store::writer::FailedItem;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors;
use crate::tim::wire::deletion::repeat_means_done;
use crate::tim::wire::{ItemFailure, Request, Response};
use std::collections::HashSet;

/// What an answered request did to its items.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Answer {
    /// Items in the target.
    pub(crate) done: Vec<i64>,
    /// Items refused for good.
    pub(crate) failed: Vec<FailedItem>,
    /// Items refused for now, with the retryable per-item code: send them again.
    pub(crate) again: Vec<(i64, i64)>,
    /// Group messages: the newest (SendTime, MsgSeq) the target reported.
    pub(crate) mark: Option<(i64, i64)>,
    /// Group messages: the MsgSeq the target gave each item that went in (a recall names a
    /// message by it).
    pub(crate) seqs: Vec<(i64, i64)>,
}

/// Why a job could not be answered item by item.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// The call failed as a whole.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The records could not be read back: every item fails with this reason.
    #[error("{0}")]
    Source(String),
}

/// What a job needs besides the client: the records and the groups' target ids.
pub(crate) struct SendContext<'a> {
    /// The client.
    pub(crate) client: &'a TimClient,
    /// The export files.
    pub(crate) sources: &'a Sources,
    /// The target of the job's group (group messages and members).
    pub(crate) group: Option<&'a GroupTarget>,
    /// Group items imported by an earlier export and changed by a later one.
    pub(crate) changed_groups: &'a HashSet<i64>,
}

impl SendContext<'_> {
    /// The records of `job`'s items, in the job's order.
    pub(crate) fn read<T: ExportRecord>(&self, job: &Job) -> Result<Vec<T>, SendError> {
        self.sources
            .read_all(job.kind, &job.items)
            .map_err(SendError::Source)
    }

    /// The Tencent GroupId of `job`'s group (group messages and members).
    pub(crate) fn group_id(&self, job: &Job) -> Result<&str, SendError> {
        job.group()
            .and(self.group)
            .map(|g| g.id.as_str())
            .ok_or_else(|| SendError::Source("the group of these items is not staged".into()))
    }

    /// Makes one call.
    pub(crate) async fn call<R: Request>(&self, req: &R) -> Result<R::Response, SendError> {
        Ok(self.client.call(req).await?)
    }

    /// Makes one call that carries all of `job`'s items, `keys[i]` being how the answer names
    /// item `i`, and sorts the items by the answer's per-item failures.
    pub(crate) async fn batch<R: Request>(
        &self,
        job: &Job,
        req: &R,
        keys: Vec<String>,
    ) -> Result<Answer, SendError> {
        let resp = self.call(req).await?;
        Ok(sort_items(job, keys, resp.item_failures()))
    }
}

/// Sorts a batch's items by the per-item failures of an accepted answer (matched by key): no
/// failure is done, a retryable code goes again, any other fails for good. "No failure" is a
/// result, not a silence: the client refuses (as a protocol error, outcome unknown) a batch
/// answer that lacks a result for any item sent, and the one API that names only its failures
/// (multiaccount_import's `FailAccounts`) documents every other account as imported.
pub(crate) fn sort_items(job: &Job, keys: Vec<String>, failures: Vec<ItemFailure>) -> Answer {
    let mut answer = Answer::default();
    for (item, key) in job.items.iter().zip(keys) {
        let Some(f) = failures.iter().find(|f| f.key == key) else {
            answer.done.push(item.id);
            continue;
        };
        match f.code {
            // A repeat of a deletion applied already (§4.7b).
            Some(code)
                if job.kind.deletes().is_some() && repeat_means_done(job.kind.api(), code) =>
            {
                answer.done.push(item.id)
            }
            Some(code) if errors::lookup(code).class.is_retryable() => {
                answer.again.push((item.id, code))
            }
            code => {
                let reason = Reason::Refused {
                    code,
                    info: f.info.clone(),
                };
                answer.failed.push(reason.item(item.id, job.kind));
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::PendingItem;
    use crate::store::Kind;

    fn job(n: i64) -> Job {
        let items = (0..n)
            .map(|id| PendingItem {
                id,
                export_id: 1,
                line: id as u64 + 1,
                offset: 0,
                len: 0,
                parent: None,
                needs: -1,
                t: 0,
                seq: None,
            })
            .collect();
        Job::items(Kind::Account, None, items)
    }

    fn refused(key: &str, code: Option<i64>, info: &str) -> ItemFailure {
        ItemFailure {
            key: key.into(),
            code,
            info: info.into(),
        }
    }

    #[test]
    fn a_batch_answer_sorts_items_by_key_and_code() {
        let keys = ["a", "b", "c", "d"].map(String::from).to_vec();
        let failures = vec![
            refused("b", Some(10002), "busy"),
            refused("c", Some(70107), "account not imported"),
            refused("d", None, ""),
        ];
        let answer = sort_items(&job(4), keys, failures);
        assert_eq!(answer.done, [0]);
        assert_eq!(answer.again, [(1, 10002)]);
        let failed: Vec<_> = answer
            .failed
            .iter()
            .map(|f| (f.id, f.code, f.info.as_str(), f.retryable))
            .collect();
        assert_eq!(
            failed,
            [
                (2, Some(70107), "account not imported", false),
                (3, None, "refused by the target", false)
            ]
        );
        assert!(answer.failed.iter().all(|f| f.api == "multiaccount_import"));
    }
}
