//! Paging cursors that must move. A read API that pages (`group_msg_get_simple` by `MsgSeq`,
//! `admin_getroammsg` by `LastMsgKey`, `get_group_member_info` by `Next`) ends its list by a
//! documented sign (`IsFinished`, `Complete`, an empty `Next`); a page that instead hands back
//! the cursor it was asked with would be asked for again for ever. [`Pager`] remembers the
//! last cursor and turns such a page into a [`StuckCursor`] protocol error that ends the read.

use crate::tim::api::Api;
use std::fmt::Debug;

/// A page's cursor did not move: the target repeats a page instead of ending the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{api}: protocol error: the page cursor did not move ({cursor}); the target repeats a page instead of ending the list, so the read stops here")]
pub(crate) struct StuckCursor {
    /// The paging API.
    pub(crate) api: Api,
    /// The cursor it repeated.
    pub(crate) cursor: String,
}

/// How a cursor must move from one page to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moves {
    /// Any other value (an opaque key).
    Changes,
    /// Strictly down (a sequence read newest first).
    Down,
}

/// The cursors of one paged read.
#[derive(Debug)]
pub(crate) struct Pager<C> {
    api: Api,
    moves: Moves,
    last: Option<C>,
}

impl<C: PartialOrd + Debug + Clone> Pager<C> {
    /// An opaque cursor (`LastMsgKey`, `Next`): each page's must differ from the one before.
    pub(crate) fn new(api: Api) -> Pager<C> {
        Pager {
            api,
            moves: Moves::Changes,
            last: None,
        }
    }

    /// A sequence read backwards (`ReqMsgSeq`): each page's must be below the one before.
    pub(crate) fn descending(api: Api) -> Pager<C> {
        Pager {
            api,
            moves: Moves::Down,
            last: None,
        }
    }

    /// Takes the cursor for the next page, or the protocol error when it did not move.
    pub(crate) fn advance(&mut self, next: C) -> Result<C, StuckCursor> {
        if let Some(last) = &self.last {
            let moved = match self.moves {
                Moves::Changes => next != *last,
                Moves::Down => next < *last,
            };
            if !moved {
                return Err(StuckCursor {
                    api: self.api,
                    cursor: format!("{next:?}"),
                });
            }
        }
        self.last = Some(next.clone());
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_that_moves_pages_on() {
        let mut keys = Pager::new(Api::AdminGetRoamMsg);
        assert_eq!(keys.advance("k1".to_string()), Ok("k1".to_string()));
        assert_eq!(keys.advance("k2".to_string()), Ok("k2".to_string()));
        let mut seqs = Pager::descending(Api::GroupMsgGetSimple);
        for seq in [80u64, 60, 40, 1] {
            assert_eq!(seqs.advance(seq), Ok(seq));
        }
    }

    #[test]
    fn a_cursor_that_does_not_move_is_a_protocol_error() {
        let mut keys = Pager::new(Api::AdminGetRoamMsg);
        keys.advance("k1".to_string()).unwrap();
        let err = keys.advance("k1".to_string()).unwrap_err();
        assert_eq!(err.api, Api::AdminGetRoamMsg);
        let text = err.to_string();
        assert!(
            text.contains("protocol error") && text.contains("did not move"),
            "{text}"
        );
        // A sequence read newest first must go down: the same or a higher one is stuck.
        let mut seqs = Pager::descending(Api::GroupMsgGetSimple);
        seqs.advance(40u64).unwrap();
        assert!(seqs.advance(40).is_err());
        assert!(seqs.advance(41).is_err());
        assert_eq!(seqs.advance(39), Ok(39));
    }
}
