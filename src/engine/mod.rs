//! The import engine (the runbook's import step, [`import`]): what is left to import and in
//! which order ([`work`]), one request's worth of items ([`job`], [`send`]) on one paced lane
//! per API from [`crate::tim::lane`], each request journaled before it is sent ([`execute`]),
//! what its outcome means decided in one pure function ([`decide`]) and applied in one place,
//! the operator's commands and the error budget ([`control`]), the estimate ([`plan`]) and
//! canary runs ([`canary`]).

pub(crate) mod canary;
pub mod control;
mod conversations;
pub(crate) mod decide;
pub(crate) mod error;
pub(crate) mod execute;
mod failure;
pub(crate) mod feed;
pub mod import;
pub(crate) mod job;
pub(crate) mod kinds;
pub mod plan;
pub mod plan_duration;
pub mod plan_window;
pub(crate) mod send;
pub(crate) mod work;

pub(crate) use error::EngineError;
