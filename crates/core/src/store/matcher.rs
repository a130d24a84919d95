//! A filter bound to a store: the column terms decided once per distinct
//! type, user and device; the body terms over events in hand.

use super::intern::Decided;
use super::{RowRef, Store};
use crate::filter::{Body, ColumnVerdict, Filter, Status};
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

    /// What the row's columns decide; the `type:`, `user:` and `device:`
    /// terms once per distinct value.
    pub fn columns(&mut self, store: &Store, r: &RowRef<'_>) -> ColumnVerdict {
        if store.epoch() != self.epoch {
            self.epoch = store.epoch();
            self.types = Decided::default();
            self.users = Decided::default();
            self.devices = Decided::default();
        }
        if self.only_problems && r.row.status == Status::Ok {
            return ColumnVerdict::NoMatch;
        }
        let Matcher {
            filter,
            types,
            users,
            devices,
            ..
        } = self;
        let [by_type, by_user, by_device] = filter.reads_names();
        let mut bits = filter.rest_bits(r.row.status, r.row.codes, r.tag());
        if by_type {
            bits |= types.get(r.row.event_type, || filter.type_bits(r.event_type()));
        }
        if by_user {
            bits |= users.get(r.row.user, || filter.user_bits(r.user()));
        }
        if by_device {
            bits |= devices.get(r.row.device, || filter.device_bits(r.device()));
        }
        filter.verdict(bits)
    }
}

/// The body terms that hold, for each row a record makes, in row order.
pub fn body_verdicts(filter: &Filter, record: &Record) -> Vec<u64> {
    if let Some(body) = &record.body {
        if record.events.is_empty() {
            return vec![filter.body_bits(Body::Request(&body.text()))];
        }
    }
    if record.problem.is_some() && record.events.is_empty() {
        return vec![filter.body_bits(Body::Request(""))];
    }
    record
        .events
        .iter()
        .map(|e| filter.body_bits(Body::Event(e)))
        .collect()
}
