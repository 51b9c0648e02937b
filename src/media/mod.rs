//! Media in message history: the referenced objects copied from the old system's URLs into a
//! bucket the new system keeps. [`s3`] is the one S3 client that stores them under
//! content-addressed keys.

mod error;
pub mod s3;

pub use error::MediaError;
