//! A filter bound to a store: the column half decided once per distinct
//! type, user and device; the body half over events in hand.

use super::intern::Decided;
use super::{RowRef, Store};
use crate::filter::{Body, Filter, Status};
use crate::record::Record;

#[derive(Debug, Clone, Default)]
pub struct Matcher {
    filter: Filter,
    only_problems: bool,
    types: Decided,
    users: Decided,
    devices: Decided,
    epoch: u64,
}

impl Matcher {
    pub fn new(filter: Filter, only_problems: bool) -> Self {
        Matcher {
            filter,
            only_problems,
            ..Matcher::default()
        }
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn only_problems(&self) -> bool {
        self.only_problems
    }

    /// Does matching need the events' JSON (read back from the journal)?
    pub fn needs_body(&self) -> bool {
        self.filter.needs_body()
    }

    /// The half of the filter the row's columns decide.
    pub fn columns(&mut self, store: &Store, r: &RowRef<'_>) -> bool {
        if store.epoch() != self.epoch {
            self.epoch = store.epoch();
            self.types = Decided::default();
            self.users = Decided::default();
            self.devices = Decided::default();
        }
        if self.only_problems && r.row.status == Status::Ok {
            return false;
        }
        let Matcher {
            filter,
            types,
            users,
            devices,
            ..
        } = self;
        types.get(r.row.event_type, || filter.type_ok(r.event_type()))
            && users.get(r.row.user, || filter.user_ok(r.user()))
            && devices.get(r.row.device, || filter.device_ok(r.device()))
            && filter.rest_ok(r.row.status, r.row.codes, r.tag())
    }
}

/// The body half of `filter` for each row a record makes, in row order.
pub fn body_verdicts(filter: &Filter, record: &Record) -> Vec<bool> {
    if let Some(body) = &record.body {
        if record.events.is_empty() {
            return vec![filter.matches_body(Body::Request(&body.text()))];
        }
    }
    if record.problem.is_some() && record.events.is_empty() {
        return vec![filter.matches_body(Body::Request(""))];
    }
    record
        .events
        .iter()
        .map(|e| filter.matches_body(Body::Event(e)))
        .collect()
}
