//! Speaking to Tencent Cloud IM: credentials (UserSig), the API table, the typed bodies of
//! every API, the error-code table, and the REST client.

pub mod api;
pub mod callback;
pub mod errors;
pub mod lane;
pub mod paced;
pub mod paging;
pub mod requests;
pub mod secret;
pub mod usersig;
pub mod wire;

pub use api::{Api, Service};
pub use secret::{SecretKey, UserSig, SECRET_KEY_ENV};
pub mod client;
pub mod credentials;
pub mod target;

pub use client::{Applied, CallError, ClientConfig, TimClient};
pub use target::Target;
