//! One job → one request → which items went in and which were refused.

use super::job::Job;
use crate::model::{
    Account, C2cMessage, ExportRecord, Friend, Group, GroupMember, GroupMessage, Profile,
};
use crate::store::queries::PendingItem;
use crate::store::records::Sources;
use crate::store::writer::FailedItem;
use crate::store::Kind;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors;
use crate::tim::requests;
use crate::tim::wire::group_read::{GetGroupInfo, GroupMsgGetSimple};
use crate::tim::wire::{ItemFailure, Request, Response};
use std::collections::HashMap;

/// What an answered request did to its items.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Answer {
    /// Items in the target.
    pub done: Vec<i64>,
    /// Items refused for good.
    pub failed: Vec<FailedItem>,
    /// Items refused for now (a retryable per-item code): send them again.
    pub again: Vec<i64>,
    /// Group messages: the newest (SendTime, MsgSeq) the target reported.
    pub mark: Option<(i64, i64)>,
}

/// Why a job could not be answered item by item.
#[derive(Debug)]
pub enum SendError {
    /// The call failed as a whole.
    Call(CallError),
    /// The records could not be read back: every item fails with this reason.
    Source(String),
}

/// What a job needs besides the client: the records and the groups' target ids.
pub struct SendContext<'a> {
    /// The client.
    pub client: &'a TimClient,
    /// The export files.
    pub sources: &'a Sources,
    /// Group item → its Tencent GroupId.
    pub group_ids: &'a HashMap<i64, String>,
}

impl SendContext<'_> {
    fn read<T: ExportRecord>(&self, job: &Job) -> Result<Vec<T>, SendError> {
        self.sources
            .read_all(job.kind, &job.items)
            .map_err(SendError::Source)
    }

    fn group_id(&self, job: &Job) -> Result<&str, SendError> {
        job.group
            .and_then(|g| self.group_ids.get(&g))
            .map(String::as_str)
            .ok_or_else(|| SendError::Source("the group of these items is not staged".into()))
    }

    /// Sends `job` and sorts its items by the answer.
    pub async fn send(&self, job: &Job) -> Result<Answer, SendError> {
        match job.kind {
            Kind::Account => {
                let records: Vec<Account> = self.read(job)?;
                let keys = records.iter().map(|r| r.id.clone()).collect();
                let req = requests::multiaccount_import(&records);
                self.batch(job, &req, keys).await
            }
            Kind::Profile => {
                let records: Vec<Profile> = self.read(job)?;
                let mut answer = Answer::default();
                for (item, profile) in job.items.iter().zip(&records) {
                    // A profile line with nothing to set needs no call.
                    if let Some(req) = requests::portrait_set(profile) {
                        self.call(&req).await?;
                    }
                    answer.done.push(item.id);
                }
                Ok(answer)
            }
            Kind::Friend => {
                let records: Vec<Friend> = self.read(job)?;
                let owner = records.first().map(|f| f.owner.clone()).unwrap_or_default();
                let keys = records.iter().map(|r| r.friend.clone()).collect();
                let req = requests::friend_import(&owner, &records);
                self.batch(job, &req, keys).await
            }
            Kind::C2cMessage => {
                let records: Vec<C2cMessage> = self.read(job)?;
                let mut answer = Answer::default();
                for (item, msg) in job.items.iter().zip(&records) {
                    self.call(&requests::import_msg(msg)).await?;
                    answer.done.push(item.id);
                }
                Ok(answer)
            }
            Kind::Group => {
                let records: Vec<Group> = self.read(job)?;
                let mut answer = Answer::default();
                for (item, group) in job.items.iter().zip(&records) {
                    match self.call(&requests::import_group(group)).await {
                        Ok(_) => answer.done.push(item.id),
                        Err(SendError::Call(e)) if e.code() == Some(10021) => {
                            self.already_there(item, group, &mut answer).await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(answer)
            }
            Kind::GroupMember => {
                let records: Vec<GroupMember> = self.read(job)?;
                let keys = records.iter().map(|r| r.member.clone()).collect();
                let req = requests::import_group_member(self.group_id(job)?, &records);
                self.batch(job, &req, keys).await
            }
            Kind::GroupMessage => {
                let records: Vec<GroupMessage> = self.read(job)?;
                let keys = (0..records.len()).map(|i| format!("#{i}")).collect();
                let req = requests::import_group_msg(self.group_id(job)?, &records);
                let resp = self.call(&req).await?;
                let mut answer = sort_items(job, keys, resp.item_failures());
                answer.mark = resp
                    .ImportMsgResult
                    .iter()
                    .filter(|r| r.Result == 0)
                    .map(|r| (r.MsgTime, r.MsgSeq as i64))
                    .max();
                Ok(answer)
            }
        }
    }

    async fn call<R: Request>(&self, req: &R) -> Result<R::Response, SendError> {
        self.client.call(req).await.map_err(SendError::Call)
    }

    async fn batch<R: Request>(
        &self,
        job: &Job,
        req: &R,
        keys: Vec<String>,
    ) -> Result<Answer, SendError> {
        let resp = self.call(req).await?;
        Ok(sort_items(job, keys, resp.item_failures()))
    }

    /// `import_group` said the GroupId is taken: after a replay that is our own group. Read it
    /// back and compare name and owner before calling it done.
    async fn already_there(
        &self,
        item: &PendingItem,
        group: &Group,
        answer: &mut Answer,
    ) -> Result<(), SendError> {
        let want = requests::import_group(group);
        let id = want.GroupId.clone().unwrap_or_default();
        let read = GetGroupInfo {
            GroupIdList: vec![id],
            ResponseFilter: None,
        };
        let resp = self.call(&read).await?;
        let ours = resp.GroupInfo.first().is_some_and(|g| {
            g.ErrorCode == 0
                && g.Name.as_deref() == Some(want.Name.as_str())
                && g.Owner_Account.as_deref().unwrap_or("")
                    == want.Owner_Account.as_deref().unwrap_or("")
        });
        if ours {
            answer.done.push(item.id);
        } else {
            answer.failed.push(failure(
                item.id,
                Kind::Group,
                Some(10021),
                "GroupId already used by a different group on the target".into(),
            ));
        }
        Ok(())
    }

    /// Reads `job`'s group back: which of its messages are in, which can no longer go.
    pub async fn read_back(&self, job: &Job) -> Result<Answer, SendError> {
        let records: Vec<GroupMessage> = self.read(job)?;
        let req = GroupMsgGetSimple {
            GroupId: self.group_id(job)?.to_string(),
            ReqMsgSeq: None,
            ReqMsgNumber: (job.items.len() as u32).clamp(1, 20),
        };
        let resp = self.call(&req).await?;
        let newest = resp.RspMsgList.iter().map(|m| m.MsgTimeStamp).max();
        let mut answer = Answer {
            mark: resp
                .RspMsgList
                .iter()
                .map(|m| (m.MsgTimeStamp, m.MsgSeq as i64))
                .max(),
            ..Answer::default()
        };
        let batch = requests::import_group_msg("", &records);
        for (item, sent) in job.items.iter().zip(&batch.MsgList) {
            let present = resp.RspMsgList.iter().any(|m| {
                m.MsgTimeStamp == sent.SendTime
                    && Some(m.MsgRandom) == sent.Random
                    && m.From_Account == sent.From_Account
            });
            if present {
                answer.done.push(item.id);
            } else if newest.is_some_and(|n| sent.SendTime <= n) {
                let info = format!(
                    "not in the group after an unanswered request, and no longer newer than its newest message ({})",
                    newest.unwrap_or_default()
                );
                answer
                    .failed
                    .push(failure(item.id, Kind::GroupMessage, None, info));
            }
        }
        Ok(answer)
    }
}

/// Sorts a batch's items by the per-item failures of an accepted answer (matched by key).
fn sort_items(job: &Job, keys: Vec<String>, failures: Vec<ItemFailure>) -> Answer {
    let mut answer = Answer::default();
    for (item, key) in job.items.iter().zip(keys) {
        match failures.iter().find(|f| f.key == key) {
            None => answer.done.push(item.id),
            Some(f)
                if f.code
                    .is_some_and(|c| errors::lookup(c).class.is_retryable()) =>
            {
                answer.again.push(item.id)
            }
            Some(f) => {
                let info = if f.info.is_empty() {
                    "refused by the target".to_string()
                } else {
                    f.info.clone()
                };
                answer.failed.push(failure(item.id, job.kind, f.code, info));
            }
        }
    }
    answer
}

/// A failed item of `kind`, retryable as its code says.
pub fn failure(id: i64, kind: Kind, code: Option<i64>, info: String) -> FailedItem {
    FailedItem {
        id,
        api: kind.api().command(),
        code,
        info,
        retryable: code.is_some_and(|c| errors::lookup(c).class.is_retryable()),
    }
}
