//! A record × the plan → findings: the one judgement behind `check`, the
//! live pipeline and every screen.

use time::format_description::well_known::Rfc3339;

use crate::plan::{EventContext, Finding, Validator};
use crate::record::Capture;
use crate::report::{EventRef, ReportBuilder};

/// The findings of each event of one capture, in event order.
pub fn check_capture(validator: &mut Validator<'_>, capture: &Capture) -> Vec<Vec<Finding>> {
    let ctx = EventContext {
        received_ms: capture.received_ms(),
        seq: capture.seq,
        delivered: capture.accepted(),
        min_id_length: capture
            .options
            .as_ref()
            .and_then(|o| o.get("min_id_length"))
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok()),
    };
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
    validator: Option<&mut Validator<'_>>,
    capture: &Capture,
    capture_name: Option<String>,
) {
    builder.add_request();
    let findings = match validator {
        Some(v) => check_capture(v, capture),
        None => vec![Vec::new(); capture.events.len()],
    };
    let received = capture.received.format(&Rfc3339).unwrap_or_default();
    for (index, (event, findings)) in capture.events.iter().zip(findings).enumerate() {
        let event_ref = EventRef {
            insert_id: event.insert_id().map(str::to_owned),
            seq: capture.seq,
            index,
            received: received.clone(),
            user_id: event.user_id().map(str::to_owned),
            device_id: event.device_id().map(str::to_owned),
            capture: capture_name.clone(),
            tag: capture.tag.clone(),
        };
        builder.add_event(event.event_type(), event_ref, findings);
    }
}
