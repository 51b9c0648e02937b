//! Media in message history: the referenced objects copied from the old system's URLs into a
//! bucket the new system keeps. [`probe`] asks a few sample URLs per host whether they answer
//! (the inventory's `--probe`); [`fetch`] streams an object from its URL to a temporary file
//! with its SHA-256; [`s3`] is the one S3 client that stores it under a content-addressed key;
//! [`stage`] copies every pending object of the rehosted hosts (resumably, per host bounded),
//! [`progress`] counts what it committed, [`verify`] checks the copies in the bucket.

mod error;
pub mod fetch;
pub(crate) mod probe;
pub mod progress;
pub mod s3;
pub mod stage;
pub mod verify;

pub use error::MediaError;
