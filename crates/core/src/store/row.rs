//! A row of the store and the request it came in, and a row read with what
//! it refers to.

use time::OffsetDateTime;

use super::{Store, Sym};
use crate::filter::{CodeSet, Status};
use crate::plan::Finding;
use crate::record::{LineAt, ProblemKind};

/// One row of the stream: an event, or a request without readable events.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Number of its request in the store (see [`Store::request`]).
    pub request: u64,
    pub event_type: Sym,
    pub user: Sym,
    pub device: Sym,
    pub findings: Sym,
    pub codes: CodeSet,
    /// Position among its request's events (0 for a request without events).
    pub index: u32,
    pub properties: u16,
    pub status: Status,
    /// The event's own `time` in ms since the epoch; [`Row::NO_TIME`] without one.
    pub time: i64,
}

impl Row {
    pub const NO_TIME: i64 = i64::MIN;
}

/// What the store keeps of a request: enough to draw and filter its rows.
/// The rest (answer, delivery, body, the events) is in its journal line.
#[derive(Debug, Clone)]
pub struct Request {
    pub seq: u64,
    pub received: OffsetDateTime,
    pub at: Option<LineAt>,
    pub method: Sym,
    pub path: Sym,
    pub tag: Sym,
    pub status: u16,
    /// It could not be forwarded.
    pub failed: bool,
    pub problem: Option<ProblemKind>,
    /// Why it carried no readable events (interned: reasons repeat).
    pub reason: Sym,
    pub events: u32,
    /// Id of its first row.
    pub first_row: u64,
}

/// A row with what it refers to.
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    pub id: u64,
    pub row: &'a Row,
    pub request: &'a Request,
    pub(super) store: &'a Store,
}

impl<'a> RowRef<'a> {
    pub fn event_type(&self) -> Option<&'a str> {
        self.store.string(self.row.event_type)
    }

    pub fn user(&self) -> Option<&'a str> {
        self.store.string(self.row.user)
    }

    pub fn device(&self) -> Option<&'a str> {
        self.store.string(self.row.device)
    }

    /// The user, else the device: who sent it, for display.
    pub fn actor(&self) -> Option<&'a str> {
        self.user().or_else(|| self.device())
    }

    pub fn findings(&self) -> &'a [Finding] {
        self.store.findings(self.row.findings)
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.store.string(self.request.tag)
    }

    pub fn method(&self) -> &'a str {
        self.store.string(self.request.method).unwrap_or("")
    }

    pub fn path(&self) -> &'a str {
        self.store.string(self.request.path).unwrap_or("")
    }

    /// Why its request carried no readable events.
    pub fn reason(&self) -> Option<&'a str> {
        self.store.string(self.request.reason)
    }

    /// The event's own `time` (ms since the epoch), when it has one.
    pub fn event_time(&self) -> Option<i64> {
        (self.row.time != Row::NO_TIME).then_some(self.row.time)
    }

    pub fn index(&self) -> usize {
        self.row.index as usize
    }
}
