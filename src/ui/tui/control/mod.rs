//! The control channel of a run: a Unix socket beside the store through which `cutover
//! attach` opens a console on the live run from any terminal of the same host ([`server`] is
//! the run's side, [`client`] the attaching console's, [`wire`] what they say).

pub mod client;
pub mod server;
pub mod wire;
