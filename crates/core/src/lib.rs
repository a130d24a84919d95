//! amptap's core: what an Amplitude SDK sends and what amptap makes of it,
//! with no I/O of its own — callers pass bytes, readers and `now`.
//!
//! - [`event`]: the event and batch model; decoding of every ingestion format.
//! - [`record`]: one request the tap answered, and the journal line format.
//! - [`plan`]: the field-mapping table (parsed from text), lint, infer.
//! - [`judge`]: a record × plan → findings.
//! - [`filter`], [`store`]: the filter language; held events and their view.
//! - [`export`], [`reconcile`]: Export API rows and archives; captured × exported.
//! - [`report`]: the check and reconcile reports in every format.
//! - [`sanitize`]: event strings made safe for terminals and files.

pub mod event;
pub mod export;
pub mod filter;
pub mod judge;
pub mod plan;
pub mod reconcile;
pub mod record;
pub mod relay;
pub mod report;
pub mod sanitize;
pub mod store;
