//! The terminal UI: `App` holds the state and turns messages into effects,
//! `draw` renders it, and the loop here owns the terminal, the clock and
//! the effects.

pub mod app;
pub mod columns;
pub mod draw;
mod export;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod panes;
mod reader;
mod run;
pub mod theme;

pub use run::{load_history, run, Feed, ReconcileSetup, RunOptions};
