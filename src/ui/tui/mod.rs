//! The interactive console: [`app`] holds the state and turns keys into effects (no I/O),
//! [`view`], [`screens`] and [`verify_screen`] draw it, [`runtime`] runs the loop on a
//! terminal with the runbook flow underneath ([`link`]), [`sampler`] reads the store and the
//! log ([`log_tail`]) off that loop.

pub mod app;
pub mod control;
pub(crate) mod host;
pub(crate) mod link;
pub(crate) mod log_tail;
pub mod runtime;
pub(crate) mod sampler;
pub(crate) mod screens;
pub(crate) mod seat;
pub(crate) mod verify_screen;
pub mod view;
