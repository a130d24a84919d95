//! The query API's searches over the live session: the column half of a
//! filter under the store's lock, the body half (free text, `has:`,
//! `prop.`) over journal lines read after the lock is released, so the
//! judge stage never waits on a search.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::value::RawValue;

use super::session::Shared;
use crate::filter::{ColumnVerdict, Filter, Status};
use crate::plan::Finding;
use crate::record::{LineAt, Problem, Record};
use crate::store::{body_verdicts, load_record, Lines, Matcher};

/// A row that passed the column half.
struct Candidate {
    seq: u64,
    at: Option<LineAt>,
    index: usize,
    status: Status,
    findings: Vec<Finding>,
    /// The terms its columns decided, when the event must be read to settle it.
    needs_body: Option<u64>,
}

/// One event as the query API shows it.
#[derive(Serialize)]
pub struct EventView {
    seq: u64,
    index: usize,
    received: String,
    endpoint: &'static str,
    /// The request as made: `POST /2/httpapi`.
    request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    /// Why a request carried no readable events (its `event` is then null).
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
    /// The body as received, for such a request (keys masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    /// `ok`, `warning` or `error`: the worst finding.
    verdict: &'static str,
    findings: Vec<Finding>,
    /// What Amplitude (or the offline stand-in) answered its request.
    upstream_status: u16,
    /// `forwarded`, `offline`, `failed` or `refused`.
    delivery: &'static str,
    event: Option<Box<RawValue>>,
}

/// Rows from id `from` on that pass the column half, and the next id.
fn candidates(shared: &Shared, filter: &Filter, from: u64) -> (Vec<Candidate>, u64) {
    let store = shared.lock();
    let next = store.next_id();
    // A reset starts ids again from 0: then look at everything.
    let from = if from > next { 0 } else { from };
    let mut matcher = Matcher::new(filter.clone(), false);
    let mut out = Vec::new();
    for id in from.max(store.first_id())..next {
        let Some(r) = store.get(id) else { continue };
        let needs_body = match matcher.columns(&store, &r) {
            ColumnVerdict::NoMatch => continue,
            ColumnVerdict::Match => None,
            ColumnVerdict::NeedsBody(known) => Some(known),
        };
        out.push(Candidate {
            seq: r.request.seq,
            at: r.request.at,
            index: r.index(),
            status: r.row.status,
            findings: r.findings().to_vec(),
            needs_body,
        });
    }
    (out, next)
}

/// Rows of one request are consecutive: each request's line is read once.
struct Reader<'a> {
    lines: &'a dyn Lines,
    last: Option<(u64, Option<Arc<Record>>)>,
}

impl Reader<'_> {
    fn record(&mut self, c: &Candidate) -> Option<Arc<Record>> {
        if self.last.as_ref().map(|(seq, _)| *seq) != Some(c.seq) {
            let loaded = load_record(self.lines, c.at, c.seq)
                .map(Arc::new)
                .map_err(|e| tracing::warn!("query API: request #{}: {e}", c.seq))
                .ok();
            self.last = Some((c.seq, loaded));
        }
        self.last.as_ref()?.1.clone()
    }
}

/// What a search found: how many match, the newest of them to show, and
/// whether a budget cut it short.
pub struct Found {
    pub total: usize,
    pub shown: VecDeque<EventView>,
    /// The time budget ran out: `total` counts what was looked at.
    pub partial: bool,
    /// Older matches left out of `shown` to keep the answer within bytes.
    pub trimmed: bool,
}

/// The most an answer's events take: older ones leave first.
pub const ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// How many candidates pass the body half too, and the newest `keep` of
/// them as shown (each request's line read once, whether to judge or to
/// show it), stopping at `deadline`.
fn confirm(
    shared: &Shared,
    filter: &Filter,
    candidates: Vec<Candidate>,
    keep: usize,
    deadline: Option<Instant>,
) -> Found {
    let mut reader = Reader {
        lines: &*shared.lines,
        last: None,
    };
    let total = candidates.len();
    let mut verdicts: Option<(u64, Vec<u64>)> = None;
    let mut found = Found {
        total: 0,
        shown: VecDeque::new(),
        partial: false,
        trimmed: false,
    };
    let mut bytes = 0;
    for (i, c) in candidates.into_iter().enumerate() {
        // A candidate its columns settled matches: only the shown are read.
        let shown = total - i <= keep;
        let needs_body = c.needs_body;
        if needs_body.is_none() && !shown {
            found.total += 1;
            continue;
        }
        if i % 64 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            found.partial = true;
            break;
        }
        let Some(record) = reader.record(&c) else {
            found.total += usize::from(needs_body.is_none());
            continue;
        };
        if let Some(known) = needs_body {
            if verdicts.as_ref().map(|(seq, _)| *seq) != Some(c.seq) {
                verdicts = Some((c.seq, body_verdicts(filter, &record)));
            }
            let body = verdicts.as_ref().and_then(|(_, v)| v.get(c.index).copied());
            if !filter.decide(known, body.unwrap_or(0)) {
                continue;
            }
        }
        found.total += 1;
        if keep > 0 {
            let event = view(&c, &record);
            bytes += event.weight();
            found.shown.push_back(event);
            while found.shown.len() > keep || (bytes > ANSWER_BYTES && found.shown.len() > 1) {
                let old = found.shown.pop_front();
                bytes -= old.as_ref().map_or(0, EventView::weight);
            }
        }
    }
    found.trimmed = found.shown.len() < keep.min(found.total);
    found
}

/// The last `limit` matching events, oldest first, and how many match,
/// within the time budget.
pub fn query(shared: &Shared, filter: &Filter, limit: usize, deadline: Instant) -> Found {
    let (candidates, _) = candidates(shared, filter, 0);
    confirm(shared, filter, candidates, limit, Some(deadline))
}

/// Matches among rows from id `from` on, and the id to go on from.
pub fn count_from(shared: &Shared, filter: &Filter, from: u64) -> (usize, u64) {
    let (found, next) = candidates(shared, filter, from);
    (confirm(shared, filter, found, 0, None).total, next)
}

impl EventView {
    /// About what it takes in memory and in the answer.
    fn weight(&self) -> usize {
        256 + self.event.as_ref().map_or(0, |e| e.get().len())
            + self.body.as_ref().map_or(0, String::len)
    }
}

fn view(c: &Candidate, r: &Record) -> EventView {
    EventView {
        seq: r.seq,
        index: c.index,
        received: r
            .received
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        endpoint: r.endpoint.map_or("other", crate::event::Endpoint::path),
        request: format!("{} {}", r.method, r.path),
        tag: r.tag.clone(),
        problem: r.problem.clone(),
        body: r.body.as_ref().map(|b| b.text().into_owned()),
        verdict: match c.status {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Error => "error",
        },
        findings: c.findings.clone(),
        upstream_status: r.answer.status,
        delivery: r.delivery.kind(),
        event: r.events.get(c.index).map(|e| e.raw().to_owned()),
    }
}
