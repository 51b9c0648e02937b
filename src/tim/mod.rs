//! Speaking to Tencent Cloud IM: credentials (UserSig) so far; the REST client follows.

pub mod secret;
pub mod usersig;

pub use secret::{SecretKey, UserSig, SECRET_KEY_ENV};
