//! The terminal UI: `App` holds the state and turns messages into effects,
//! `draw` renders it, and the loop here owns the terminal, the clock and
//! the effects.

pub mod app;
pub mod draw;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod panes;
mod run;
pub mod theme;

pub use run::{load_history, run, Feed, ReconcileSetup, RunOptions};
