//! A record × the plan → findings: the one judgement behind `check`, the
//! live pipeline and every screen.

use time::format_description::well_known::Rfc3339;

use crate::plan::{Code, EventContext, Finding, Plan, Severity, Validator};
use crate::record::line::LineAt;
use crate::record::{ProblemKind, Record};
use crate::report::{EventRef, ReportBuilder};

/// A record with its judgement: computed once, shared by every consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub record: Record,
    /// The findings of each event, in event order.
    pub findings: Vec<Vec<Finding>>,
    /// The finding of a request without readable events.
    pub request: Option<Finding>,
    /// Where its journal line is, when it was read from one.
    pub at: Option<LineAt>,
}

impl Judged {
    /// Judges one record (the validator keeps what it needs across records).
    pub fn new(validator: &mut Validator<'_>, mut record: Record) -> Self {
        let mut findings = if record.events.len() > KEEP_PARSED_UP_TO {
            check_releasing(validator, &mut record)
        } else {
            check_capture(validator, &record)
        };
        // What the relay could not map or coerce is the event's finding too.
        if let (Some(note), Some(first)) = (&record.relay, findings.first_mut()) {
            first.splice(0..0, note.findings.iter().cloned());
        }
        let request = request_finding(Some(validator.plan()), &record);
        Judged {
            record,
            findings,
            request,
            at: None,
        }
    }

    /// Notes where the record's journal line is.
    pub fn at(mut self, at: LineAt) -> Self {
        self.at = Some(at);
        self
    }

    /// Every finding, the request's first.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.request.iter().chain(self.findings.iter().flatten())
    }
}

/// Records with more events than this are judged one event at a time and
/// keep no parsed event: consumers parse each again for a moment
/// ([`crate::event::Event::with_parsed`]). Below it, the parse is shared.
pub const KEEP_PARSED_UP_TO: usize = 2048;

/// [`check_capture`] for a huge record: each event's parse is dropped as
/// soon as it is judged.
fn check_releasing(validator: &mut Validator<'_>, capture: &mut Record) -> Vec<Vec<Finding>> {
    let ctx = context(capture);
    capture
        .events
        .iter_mut()
        .map(|event| {
            let mut findings = Vec::new();
            validator.check(event, &ctx, &mut findings);
            event.release_parsed();
            findings
        })
        .collect()
}

/// What judging an event needs to know about its request.
fn context(capture: &Record) -> EventContext {
    EventContext {
        received_ms: capture.received_ms(),
        seq: capture.seq,
        delivered: capture.accepted(),
        min_id_length: capture.min_id_length(),
    }
}

/// The finding a request without readable events earns, if the plan keeps its code.
/// Without a plan, each code has its default severity.
pub fn request_finding(plan: Option<&Plan>, record: &Record) -> Option<Finding> {
    let problem = record.problem.as_ref()?;
    let code = match problem.kind {
        ProblemKind::WrongPath | ProblemKind::WrongMethod => Code::MisroutedRequest,
        ProblemKind::Undecodable => Code::UndecodableRequest,
        ProblemKind::TooLarge | ProblemKind::NotReceived | ProblemKind::NotKept => {
            Code::RefusedRequest
        }
        ProblemKind::Unmappable => Code::UnmappableRecord,
    };
    let default = code.default_severity();
    let severity: Severity = match plan {
        Some(plan) => plan.severity_of(code, default)?,
        None => default,
    };
    Some(Finding {
        code,
        severity,
        event_type: None,
        path: record.request_line(),
        expected: None,
        actual: Some(problem.reason.clone()),
    })
}

/// The findings of each event of one capture, in event order.
pub fn check_capture(validator: &mut Validator<'_>, capture: &Record) -> Vec<Vec<Finding>> {
    let ctx = context(capture);
    capture
        .events
        .iter()
        .map(|event| {
            let mut findings = Vec::new();
            validator.check(event, &ctx, &mut findings);
            findings
        })
        .collect()
}

/// Puts one capture into a report: a request, and each event with its
/// findings when there is a `validator` (without one, the events are counted only).
pub fn report_capture(
    builder: &mut ReportBuilder,
    mut validator: Option<&mut Validator<'_>>,
    capture: &Record,
    capture_name: Option<String>,
) {
    builder.add_request();
    let received = capture.received.format(&Rfc3339).unwrap_or_default();
    if capture.problem.is_some() {
        let finding = request_finding(validator.map(|v| v.plan()), capture);
        let request = EventRef {
            insert_id: None,
            seq: capture.seq,
            index: 0,
            received,
            user_id: None,
            device_id: None,
            capture: capture_name,
            tag: capture.tag.clone(),
        };
        builder.add_bad_request(request, finding);
        return;
    }
    let ctx = context(capture);
    for (index, event) in capture.events.iter().enumerate() {
        // One pass over the event's fields, for its judgement and its entry.
        let fields = event.common();
        let mut findings = Vec::new();
        if let Some(v) = validator.as_deref_mut() {
            v.check_fields(event, &fields, &ctx, &mut findings);
        }
        // A clean event is only counted: its reference would go unread.
        let named = !findings.is_empty();
        let text = |v: Option<&str>| v.filter(|_| named).map(str::to_owned);
        let event_ref = EventRef {
            insert_id: text(fields.insert_id),
            seq: capture.seq,
            index,
            received: if named {
                received.clone()
            } else {
                String::new()
            },
            user_id: text(fields.user_id.and_then(|v| v.as_str())),
            device_id: text(fields.device_id.and_then(|v| v.as_str())),
            capture: capture_name.clone().filter(|_| named),
            tag: capture.tag.clone().filter(|_| named),
        };
        builder.add_event(fields.event_type, event_ref, findings);
    }
}
