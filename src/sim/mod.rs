//! A simulator of the Tencent IM REST API, as strict as the documented service: the same
//! URLs, fields, limits, codes and quirks (spec `tim-rest-api.md`).

pub mod auth;
pub mod body;
pub mod callbacks;
pub mod config;
pub mod dump;
pub mod faults;
pub mod handlers;
pub mod limiter;
pub mod old_system;
pub mod server;
pub mod state;

pub use server::{start, Sim, SimHandle, SimOptions};
