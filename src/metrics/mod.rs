//! The OpenMetrics `/metrics` endpoint of a run and of the relay (`[metrics] listen`): what the
//! store holds, read on each scrape so that a scrape says what `cutover status --json` says
//! ([`collect`]), and what the process's Tencent IM calls did ([`crate::tim::stats`]), served
//! by [`server`].

pub mod collect;
pub mod server;
