//! The mismatch report as CSV: a row per problem and per difference.

use std::io::{self, Write};

use serde_json::Value;

use super::reconcile_out::{detail, plan_findings};
use super::ReconcileReport;
use crate::reconcile::{Outcome, Reconciliation};

pub const CSV_COLUMNS: [&str; 18] = [
    "class",
    "severity",
    "insert_id",
    "event_type",
    "user_id",
    "device_id",
    "seq",
    "index",
    "outcome",
    "reason",
    "exported_uuid",
    "server_upload_time",
    "diff",
    "path",
    "captured",
    "exported",
    "expected",
    "note",
];

/// One row per problem (per difference, for changed pairs); plan findings follow as `plan_finding` rows.
pub fn csv(r: &ReconcileReport, rec: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    let text = |v: &Option<Value>| match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    for p in &rec.problems {
        let (seq, index, outcome, reason) = match &p.captured {
            Some(c) => {
                let (o, reason) = match &c.outcome {
                    Outcome::Accepted => ("accepted", String::new()),
                    Outcome::Rejected { reason, .. } => ("rejected", reason.clone()),
                    Outcome::NotForwarded { reason } => ("not_forwarded", reason.clone()),
                };
                (c.seq.to_string(), c.index.to_string(), o, reason)
            }
            None => (String::new(), String::new(), "", String::new()),
        };
        let first = p.exported.first();
        let base = [
            p.class.as_str().to_owned(),
            p.severity.to_string(),
            p.insert_id.clone().unwrap_or_default(),
            p.event_type.clone().unwrap_or_default(),
            p.user_id.clone().unwrap_or_default(),
            p.device_id.clone().unwrap_or_default(),
            seq,
            index,
            outcome.to_owned(),
            reason,
            first.and_then(|e| e.uuid.clone()).unwrap_or_default(),
            first
                .and_then(|e| e.server_upload_time.clone())
                .unwrap_or_default(),
        ];
        if p.diffs.is_empty() {
            let mut record = base.to_vec();
            record.extend([
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                detail(p),
            ]);
            super::csv_out::write_safe(&mut w, &record)?;
        }
        for d in &p.diffs {
            let mut record = base.to_vec();
            record.extend([
                d.kind.to_string(),
                d.path.clone(),
                text(&d.captured),
                text(&d.exported),
                d.expected.to_string(),
                String::new(),
            ]);
            super::csv_out::write_safe(&mut w, &record)?;
        }
    }
    for (side, f) in plan_findings(r) {
        let e = &f.event;
        super::csv_out::write_safe(
            &mut w,
            [
                "plan_finding",
                f.finding.severity.as_str(),
                e.insert_id.as_deref().unwrap_or(""),
                f.finding.event_type.as_deref().unwrap_or(""),
                e.user_id.as_deref().unwrap_or(""),
                e.device_id.as_deref().unwrap_or(""),
                &e.seq.to_string(),
                &e.index.to_string(),
                side,
                f.finding.expected.as_deref().unwrap_or(""),
                "",
                "",
                f.finding.code.as_str(),
                &f.finding.path,
                f.finding.actual.as_deref().unwrap_or(""),
                "",
                "false",
                "",
            ],
        )?;
    }
    w.flush()
}
