//! amptap: see, check and reconcile the Amplitude events an app sends.
//!
//! The pure core (`event`) decodes what SDKs send; the edges (`capture`,
//! `fake_amplitude`) speak HTTP. The binary in `main.rs` only wires them.

pub mod capture;
pub mod check;
pub mod demo;
pub mod event;
pub mod export;
pub mod fake_amplitude;
pub mod feed;
pub mod filter;
pub mod har;
pub mod mismatch;
pub mod plan;
pub mod reconcile;
pub mod report;
pub mod sanitize;
pub mod store;
pub mod tui;
