//! The interactive console: [`app`] holds the state and turns keys into effects, [`view`] and
//! [`screens`] draw it.

pub mod app;
pub mod runtime;
pub mod screens;
pub mod verify_screen;
pub mod view;
