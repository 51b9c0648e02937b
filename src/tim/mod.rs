//! Speaking to Tencent Cloud IM: credentials ([`usersig`], [`credentials`], [`secret`]), the API
//! table ([`api`]), the typed bodies of every API ([`wire`]), the error-code table
//! ([`errors`]) and the REST client ([`client`], [`target`]); the paced lane of each API
//! ([`lane`]) and the one retry loop, [`paced::call_paced`]; export records turned into import
//! requests ([`requests`]); and the callbacks' commands and signing ([`callback`]).

pub mod api;
pub mod callback;
pub mod errors;
pub mod lane;
pub mod paced;
pub(crate) mod paging;
pub(crate) mod requests;
pub(crate) mod secret;
pub mod stats;
pub mod usersig;
pub mod wire;

#[cfg(any(test, feature = "test-support"))]
pub use api::{Api, Service};
pub use secret::{SecretKey, UserSig, SECRET_KEY_ENV};
pub(crate) mod client;
pub(crate) mod credentials;
pub(crate) mod target;
pub(crate) mod unreachable;

pub use client::{Applied, CallError, ClientConfig, TimClient};
pub use target::Target;
