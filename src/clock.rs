//! The local time zone, read once while the process has one thread: the
//! `time` crate (rightly) refuses to read it later, when another thread
//! could be changing the environment under it. Honours `TZ`.

use std::sync::OnceLock;

use time::UtcOffset;

static LOCAL: OnceLock<UtcOffset> = OnceLock::new();

/// Call first thing in `main`, before any thread starts.
pub fn init() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL.set(offset);
}

/// The local offset; UTC when it could not be read (or in tests).
pub fn local_offset() -> UtcOffset {
    LOCAL.get().copied().unwrap_or(UtcOffset::UTC)
}
