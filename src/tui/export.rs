//! The stream as a report: what the filter shows, written by `e`.

use std::collections::BTreeSet;

use time::format_description::well_known::Rfc3339;

use super::app::App;
use crate::report::{EventRef, Report, ReportBuilder};

/// The rows the view shows, with their findings. Insert ids stay in the
/// journal (the store does not hold them): rows are named by request and
/// position instead.
pub fn stream_report(app: &App) -> Report {
    let planned = app.session.plan.clone().map(|label| {
        (
            label,
            app.store.counters().coverage.keys().cloned().collect(),
        )
    });
    let inputs = match &app.session.journal {
        Some(j) => vec![j.display().to_string()],
        None => app.session.inputs.clone(),
    };
    let mut builder = ReportBuilder::new(
        inputs,
        planned,
        app.now.format(&Rfc3339).unwrap_or_default(),
    );
    let mut requests = BTreeSet::new();
    for id in app.view.ids() {
        let Some(r) = app.store.get(id) else {
            continue;
        };
        if r.request.problem.is_none() && requests.insert(r.request.seq) {
            builder.add_request();
        }
        let event_ref = EventRef {
            insert_id: None,
            seq: r.request.seq,
            index: r.index(),
            received: r.request.received.format(&Rfc3339).unwrap_or_default(),
            user_id: r.user().map(str::to_owned),
            device_id: r.device().map(str::to_owned),
            capture: None,
            tag: r.tag().map(str::to_owned),
        };
        let findings = r.findings().to_vec();
        match r.request.problem {
            Some(_) => builder.add_bad_request(event_ref, findings.into_iter().next()),
            None => builder.add_event(r.event_type(), event_ref, findings),
        }
    }
    builder.finish()
}
