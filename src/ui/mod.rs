//! Front ends over the runbook flow: the interactive console ([`tui`]), the plain or JSON
//! progress lines without a terminal ([`headless`]), and the per-stage figures (totals, rates,
//! ETAs) both show ([`progress`]). Why a front end stops is a [`UiError`].

pub(crate) mod error;
pub mod headless;
pub mod progress;
pub mod tui;

pub(crate) use error::UiError;
