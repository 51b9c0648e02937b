//! A simulator of the Tencent IM REST API, as strict as the documented service: the same
//! URLs, fields, limits, codes and quirks (spec `tim-rest-api.md`).

pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod callbacks;
pub mod config;
pub(crate) mod dump;
pub(crate) mod faults;
pub(crate) mod handlers;
pub(crate) mod limiter;
pub(crate) mod old_system;
pub mod server;
pub(crate) mod state;

pub use server::{start, Sim, SimHandle, SimOptions};
