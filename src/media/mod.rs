//! Media in message history: the referenced objects copied from the old system's URLs into a
//! bucket the new system keeps. [`fetch`] streams an object from its URL to a temporary file
//! with its SHA-256; [`s3`] is the one S3 client that stores it under a content-addressed key.

mod error;
pub mod fetch;
pub mod s3;

pub use error::MediaError;
