//! Why an item failed, and the one place a failed item is made: its text, its code and
//! whether `cutover retry` can help all follow from the [`Reason`].

use crate::store::writer::FailedItem;
use crate::store::Kind;
use crate::tim::errors;
use std::time::Duration;

/// Why an item will not go in (for now, or for good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The target refused it: the code (when it gave one) and what it said. Retryable when
    /// the code's class is.
    Refused {
        /// The code.
        code: Option<i64>,
        /// What the target (or the client) said.
        info: String,
    },
    /// Its record could not be read from the export (or its group's target): sending it
    /// again cannot help until the files are fixed.
    Unreadable(String),
    /// A retryable error kept failing it for `[import] max_retry_secs`: `cutover retry`
    /// sends it again.
    GaveUp {
        /// The last error's code.
        code: Option<i64>,
        /// The last error.
        last: String,
        /// How long it was retried.
        after: Duration,
    },
    /// A group message not in its group after an unanswered request, and no longer newer
    /// than the group's newest message (which the target requires): it never will be.
    NoLongerNewer {
        /// The group's newest SendTime.
        newest: i64,
    },
    /// What depends on a group that will not be in the target.
    GroupLost {
        /// True when the group item is not in the store at all (else it failed or was skipped).
        not_staged: bool,
    },
}

impl Reason {
    /// The Tencent code behind it, if any.
    pub(crate) fn code(&self) -> Option<i64> {
        match self {
            Reason::Refused { code, .. } | Reason::GaveUp { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether sending the item again can succeed.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Reason::Refused { code, .. } => {
                code.is_some_and(|c| errors::lookup(c).class.is_retryable())
            }
            Reason::GaveUp { .. } => true,
            Reason::Unreadable(_) | Reason::NoLongerNewer { .. } | Reason::GroupLost { .. } => {
                false
            }
        }
    }

    /// The text for the error table.
    pub(crate) fn info(&self) -> String {
        match self {
            Reason::Refused { info, .. } if info.is_empty() => "refused by the target".into(),
            Reason::Refused { info, .. } | Reason::Unreadable(info) => info.clone(),
            Reason::GaveUp { last, after, .. } => format!("{} (last: {last})", gave_up(*after)),
            Reason::NoLongerNewer { newest } => format!(
                "not in the group after an unanswered request, and no longer newer than its newest message ({newest})"
            ),
            Reason::GroupLost { not_staged: true } => "its group is not staged".into(),
            Reason::GroupLost { not_staged: false } => "its group was not imported".into(),
        }
    }

    /// Item `id` of `kind`, failed for this reason.
    pub(crate) fn item(&self, id: i64, kind: Kind) -> FailedItem {
        FailedItem {
            id,
            api: kind.api().command(),
            code: self.code(),
            info: self.info(),
            retryable: self.retryable(),
        }
    }
}

/// Why items fail once their retries ran out after `after`.
fn gave_up(after: Duration) -> String {
    format!("still failing after {} s of retries", after.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_says_whether_a_retry_can_help() {
        let refused = |code| Reason::Refused {
            code,
            info: String::new(),
        };
        let rows = [
            (refused(Some(10002)), true, "refused by the target"),
            (refused(Some(90012)), false, "refused by the target"),
            (refused(None), false, "refused by the target"),
            (
                Reason::Unreadable("line 3: cut short".into()),
                false,
                "line 3: cut short",
            ),
            (
                Reason::GaveUp {
                    code: Some(10002),
                    last: "busy".into(),
                    after: Duration::from_secs(600),
                },
                true,
                "still failing after 600 s of retries (last: busy)",
            ),
            (
                Reason::GroupLost { not_staged: false },
                false,
                "its group was not imported",
            ),
        ];
        for (reason, retryable, info) in rows {
            let item = reason.item(4, Kind::GroupMessage);
            assert_eq!(
                (item.retryable, item.info.as_str()),
                (retryable, info),
                "{reason:?}"
            );
            assert_eq!(item.api, "import_group_msg");
        }
    }
}
