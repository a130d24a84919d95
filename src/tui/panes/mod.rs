//! One module per screen.

pub mod coverage;
pub mod detail;
pub mod help;
mod json_view;
pub mod reconcile;
pub mod stats;
pub mod stream;
