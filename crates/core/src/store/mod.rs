//! The in-memory session: one compact row per event (or per request that
//! carried none), in arrival order, with counters kept on ingest so no pane
//! ever scans the whole store.
//!
//! A row is a handful of numbers: its event type, user and device interned,
//! its findings interned as a list, its status and finding codes, and the
//! request it came in. The event's JSON stays in the journal: a request
//! keeps where its line is ([`LineAt`]) and a [`Lines`] reader brings it
//! back for the detail view and free-text search. Memory is capped in
//! bytes: past the budget the oldest rows leave (the journal keeps them).

mod counters;
mod intern;
mod lines;
mod matcher;
mod row;
mod sort;
#[cfg(test)]
mod tests;
pub mod view;

pub use counters::{Counters, PropertyCounts, TypeCounts, TypeLine, TypeOrder, RATE_WINDOW};
pub use intern::Sym;
pub use lines::{load_record, LineError, Lines, MemoryLines};
pub use matcher::{body_verdicts, Matcher};
pub use row::{Request, Row, RowRef};
pub use sort::SortKey;

use std::collections::VecDeque;
use std::ops::Range;

use crate::filter::{CodeSet, Status};
use crate::judge::Judged;
use crate::plan::{Finding, Plan};
use crate::record::Delivery;
use intern::Table;

/// The default memory budget: more than a million realistic events.
pub const DEFAULT_BUDGET: usize = 128 << 20;
/// Never evicted, whatever the budget: the newest rows.
const KEEP_AT_LEAST: usize = 1_000;

pub struct Store {
    rows: VecDeque<Row>,
    /// Id of `rows[0]`.
    first_row: u64,
    requests: VecDeque<Request>,
    first_request: u64,
    strings: Table<str>,
    findings: Table<[Finding]>,
    budget: usize,
    evicted: u64,
    counters: Counters,
    /// Bumped when the tables are rebuilt: handles held elsewhere are stale.
    epoch: u64,
}

impl Store {
    /// A store within `budget` bytes; `plan` seeds the coverage table.
    pub fn new(budget: usize, plan: Option<&Plan>) -> Self {
        Store {
            rows: VecDeque::new(),
            first_row: 0,
            requests: VecDeque::new(),
            first_request: 0,
            strings: Table::default(),
            findings: Table::default(),
            budget,
            evicted: 0,
            counters: Counters::new(plan),
            epoch: 0,
        }
    }

    /// Stores a judged record; returns the ids of its rows: one per event,
    /// or one for a request without readable events.
    pub fn ingest(&mut self, judged: &Judged) -> Range<u64> {
        let record = &judged.record;
        let c = &mut self.counters;
        c.requests += 1;
        *c.upstream.entry(record.answer.status).or_default() += 1;
        let failed = matches!(record.delivery, Delivery::Failed { .. });
        c.forward_failures += u64::from(failed);
        c.undecodable += u64::from(record.problem.is_some());
        let first = self.next_id();
        let number = self.first_request + self.requests.len() as u64;
        let request = Request {
            seq: record.seq,
            received: record.received,
            at: judged.at,
            method: self.strings.intern(Some(&record.method)),
            path: self.strings.intern(Some(&record.path)),
            tag: self.strings.intern(record.tag.as_deref()),
            reason: self
                .strings
                .intern(record.problem.as_ref().map(|p| p.reason.as_str())),
            status: record.answer.status,
            failed,
            problem: record.problem.as_ref().map(|p| p.kind),
            events: u32::try_from(record.events.len()).unwrap_or(u32::MAX),
            first_row: first,
        };
        push(&mut self.requests, request);
        if record.problem.is_some() {
            let findings: Vec<Finding> = judged.request.iter().cloned().collect();
            self.counters.by_status[Status::of(&findings) as usize] += 1;
            let row = self.row(number, 0, None, &findings);
            self.push_row(row);
        }
        for (index, event) in record.events.iter().enumerate() {
            let findings = judged.findings.get(index).map_or(&[][..], Vec::as_slice);
            let row = event.with_parsed(|event| {
                self.counters.count_event(event, findings, record.received);
                self.row(number, index, Some(event), findings)
            });
            self.push_row(row);
        }
        self.evict();
        first..self.next_id()
    }

    fn row(
        &mut self,
        request: u64,
        index: usize,
        event: Option<&crate::event::Event>,
        findings: &[Finding],
    ) -> Row {
        let s = &mut self.strings;
        Row {
            request,
            event_type: s.intern(event.and_then(|e| e.event_type())),
            user: s.intern(event.and_then(|e| e.user_id())),
            device: s.intern(event.and_then(|e| e.device_id())),
            findings: self.findings.intern(findings),
            codes: CodeSet::of(findings),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            properties: event.map_or(0, |e| u16::try_from(e.property_count()).unwrap_or(u16::MAX)),
            status: Status::of(findings),
            time: event.and_then(|e| e.time()).unwrap_or(Row::NO_TIME),
        }
    }

    /// Bytes held: rows, requests and the tables of distinct values.
    pub fn bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.requests.capacity() * std::mem::size_of::<Request>()
            + self.strings.bytes()
            + self.findings.bytes()
    }

    /// Rows never grow past the share of the budget they may take: at that
    /// size the oldest leaves for the newest, so the buffer is not
    /// reallocated (which holds it twice for a moment) nor emptied by half.
    fn push_row(&mut self, row: Row) {
        let most = (self.budget / 5 * 4 / std::mem::size_of::<Row>()).max(KEEP_AT_LEAST + 1);
        if self.rows.len() >= most {
            self.evict_oldest();
        }
        if self.rows.len() == self.rows.capacity() {
            let room = most.saturating_sub(self.rows.capacity()).max(1);
            self.rows
                .reserve_exact((self.rows.len() / 4).clamp(1024, 1 << 20).min(room));
        }
        self.rows.push_back(row);
    }

    fn evict(&mut self) {
        while self.bytes() > self.budget && self.rows.len() > KEEP_AT_LEAST {
            if !self.evict_oldest() {
                break;
            }
            if self.rows.len() * 2 < self.rows.capacity() {
                self.rows.shrink_to(self.rows.len() + self.rows.len() / 4);
                self.requests.shrink_to_fit();
            }
        }
        if self.strings.sparse() || self.findings.sparse() {
            self.compact();
        }
    }

    /// The oldest row leaves, with its request once none of its rows is left.
    fn evict_oldest(&mut self) -> bool {
        let Some(row) = self.rows.pop_front() else {
            return false;
        };
        self.first_row += 1;
        self.evicted += 1;
        for sym in [row.event_type, row.user, row.device] {
            self.strings.release(sym);
        }
        self.findings.release(row.findings);
        // A request stays while any of its rows does.
        let oldest = self.rows.front().map_or(u64::MAX, |r| r.request);
        while self.first_request < oldest {
            let Some(r) = self.requests.pop_front() else {
                break;
            };
            self.first_request += 1;
            for sym in [r.method, r.path, r.tag, r.reason] {
                self.strings.release(sym);
            }
        }
        true
    }

    /// Renumbers the tables when most of their slots are dead (values only
    /// evicted rows held: unique findings, one-off users).
    fn compact(&mut self) {
        let mut strings: Table<str> = Table::default();
        let mut findings: Table<[Finding]> = Table::default();
        let old = &self.strings;
        for r in &mut self.requests {
            r.method = strings.intern(old.get(r.method));
            r.path = strings.intern(old.get(r.path));
            r.tag = strings.intern(old.get(r.tag));
            r.reason = strings.intern(old.get(r.reason));
        }
        for row in &mut self.rows {
            row.event_type = strings.intern(old.get(row.event_type));
            row.user = strings.intern(old.get(row.user));
            row.device = strings.intern(old.get(row.device));
            row.findings = findings.intern(self.findings.findings(row.findings));
        }
        self.strings = strings;
        self.findings = findings;
        self.epoch += 1;
    }

    /// Changes whenever handles ([`Sym`]) are renumbered.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn get(&self, id: u64) -> Option<RowRef<'_>> {
        let index = usize::try_from(id.checked_sub(self.first_row)?).ok()?;
        let row = self.rows.get(index)?;
        Some(RowRef {
            id,
            row,
            request: self.request(row.request)?,
            store: self,
        })
    }

    pub fn request(&self, number: u64) -> Option<&Request> {
        let index = usize::try_from(number.checked_sub(self.first_request)?).ok()?;
        self.requests.get(index)
    }

    /// Requests held, newest first, with their numbers.
    pub fn requests_newest_first(&self) -> impl Iterator<Item = (u64, &Request)> {
        let first = self.first_request;
        self.requests
            .iter()
            .enumerate()
            .rev()
            .map(move |(i, r)| (first + i as u64, r))
    }

    pub fn string(&self, sym: Sym) -> Option<&str> {
        self.strings.get(sym)
    }

    pub fn findings(&self, sym: Sym) -> &[Finding] {
        self.findings.findings(sym)
    }

    /// Id of the oldest row still held.
    pub fn first_id(&self) -> u64 {
        self.first_row
    }

    /// Id the next row will get.
    pub fn next_id(&self) -> u64 {
        self.first_row + self.rows.len() as u64
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn budget(&self) -> usize {
        self.budget
    }
}

/// Grows by a quarter, not double: a budget in bytes should not jump.
fn push<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == queue.capacity() {
        queue.reserve_exact((queue.len() / 4).max(1024));
    }
    queue.push_back(item);
}
