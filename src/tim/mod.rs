//! Speaking to Tencent Cloud IM: credentials (UserSig) and the error-code table so far; the
//! REST client follows.

pub mod errors;
pub mod secret;
pub mod usersig;

pub use secret::{SecretKey, UserSig, SECRET_KEY_ENV};
