//! amptap's app crate: the edges around `amptap_core` — the tap (proxy,
//! forward, offline answers, query API, metrics), journal files, the
//! Export API client, the terminal UI, commands, the fake Amplitude and the
//! demo. The core's modules are re-exported under their own names.

pub use amptap_core::{
    event, filter, judge, plan, reconcile, record, relay, report, sanitize, store,
};

pub mod check;
pub mod clock;
pub mod demo;
pub mod export;
pub mod fake_amplitude;
pub mod har;
pub mod journal;
pub mod kafka;
pub mod lines;
pub mod mismatch;
pub mod outfile;
pub mod pipeline;
pub mod plan_file;
pub mod tap;
pub mod tui;
