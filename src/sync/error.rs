//! Why a part of the sync relay could not start or go on. An event that is refused or cannot
//! be delivered is data (its state in the store), not an error; these are the failures of the
//! machinery around the events.
//!
//! Errors that were passed on unchanged before the relay had its own type stay transparent,
//! so the operator reads the same words as before.

use crate::store::batch::WriterError;
use crate::store::StoreError;
use crate::tim::client::{BuildError, CallError};
use crate::tim::paced::PacedError;
use std::net::SocketAddr;

/// Why a part of the relay stopped, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store cannot be opened, or belongs to another run.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store refused a read or a write.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// The journal's writer could not start or ended badly.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// The journal thread is gone: nothing more can be persisted.
    #[error("the sync journal has stopped")]
    JournalStopped,
    /// The journal's batch was rolled back (the reason, as the writer told it).
    #[error("the sync journal could not write: {0}")]
    JournalWrite(String),
    /// The receiver cannot listen on its address.
    #[error("[sync] cannot listen on {addr}: {error}")]
    Listen {
        /// The address of `[sync] listen`.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The Tencent IM client could not be set up.
    #[error(transparent)]
    Client(#[from] BuildError),
    /// The HTTP client for the old system's webhook could not be set up.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// A staged record could not be read back from the export.
    #[error("{0}")]
    Records(String),
    /// Tencent answered something no retry can fix (the setup must be fixed first).
    #[error(transparent)]
    Tencent(#[from] CallError),
    /// A paced read of Tencent IM was stopped or failed for good.
    #[error(transparent)]
    Read(#[from] PacedError),
    /// A task of the relay panicked (or was cancelled at shutdown).
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// A lock shared with a task that panicked.
    #[error("{0} poisoned")]
    Poisoned(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tim::api::Api;

    #[test]
    fn messages_name_the_address_and_keep_tencents_answer() {
        let listen = SyncError::Listen {
            addr: "127.0.0.1:9".parse().unwrap(),
            error: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert_eq!(
            listen.to_string(),
            "[sync] cannot listen on 127.0.0.1:9: address in use"
        );
        let call = CallError::Api {
            api: Api::CreateGroup,
            code: 70001,
            info: "bad".into(),
        };
        let said = call.to_string();
        let fatal = SyncError::from(call);
        assert_eq!(fatal.to_string(), said);
        assert!(matches!(
            fatal,
            SyncError::Tencent(CallError::Api { code: 70001, .. })
        ));
        let writing = SyncError::JournalWrite("disk I/O error".into());
        assert_eq!(
            writing.to_string(),
            "the sync journal could not write: disk I/O error"
        );
    }
}
