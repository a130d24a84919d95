//! JSON and CSV reports written as findings come (`check --format json|csv`):
//! the head first, each finding as the judge finds it, the summary last.
//! The JSON reads back as the same [`Report`] a whole-report writer makes.

use std::io::{self, Write};

use super::{csv_out, FindingEntry, Format, Report};

pub struct StreamOut<'w> {
    to: To<'w>,
    written: u64,
    omitted: u64,
}

enum To<'w> {
    Json(&'w mut dyn Write),
    Csv(Box<csv::Writer<&'w mut dyn Write>>),
}

impl<'w> StreamOut<'w> {
    /// Starts a report in `format`, from the builder's head; `None` when
    /// the format is not written as a stream (text, Markdown, HTML, JUnit).
    pub fn begin(
        format: Format,
        head: &Report,
        out: &'w mut dyn Write,
    ) -> io::Result<Option<Self>> {
        let to = match format {
            Format::Json => {
                write!(
                    out,
                    "{{\n  \"schema\": {},\n  \"tool\": {},\n  \"generated\": {},\n  \"inputs\": {},\n",
                    json(&head.schema)?,
                    json(&head.tool)?,
                    json(&head.generated)?,
                    json(&head.inputs)?
                )?;
                if let Some(plan) = &head.plan {
                    writeln!(out, "  \"plan\": {},", json(plan)?)?;
                }
                write!(out, "  \"findings\": [")?;
                To::Json(out)
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(csv_out::COLUMNS)?;
                To::Csv(Box::new(w))
            }
            Format::Text | Format::Md | Format::Html | Format::Junit => return Ok(None),
        };
        Ok(Some(StreamOut {
            to,
            written: 0,
            omitted: 0,
        }))
    }

    pub fn finding(&mut self, e: &FindingEntry) -> io::Result<()> {
        match &mut self.to {
            To::Json(out) => {
                let sep = if self.written == 0 { "" } else { "," };
                write!(out, "{sep}\n    {}", json(e)?)?;
            }
            To::Csv(w) => csv_out::write_row(w, e)?,
        }
        self.written += 1;
        Ok(())
    }

    /// A finding counted but not listed (`--max-findings`, `--summary-only`).
    pub fn omit(&mut self) {
        self.omitted += 1;
    }

    /// Findings listed so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Ends with what only the end knows: the summary and the event types.
    pub fn end(self, report: &Report) -> io::Result<()> {
        match self.to {
            To::Json(out) => {
                let close = if self.written == 0 { "]" } else { "\n  ]" };
                let omitted = match self.omitted {
                    0 => String::new(),
                    n => format!(",\n  \"omitted\": {n}"),
                };
                write!(
                    out,
                    "{close},\n  \"summary\": {},\n  \"event_types\": {}{omitted}\n}}\n",
                    json(&report.summary)?,
                    json(&report.event_types)?
                )?;
                out.flush()
            }
            To::Csv(mut w) => w.flush(),
        }
    }
}

fn json(value: &impl serde::Serialize) -> io::Result<String> {
    serde_json::to_string(value).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Code, Finding, Severity};
    use crate::report::{Document, EventRef, Keep, ReportBuilder};

    fn builder() -> ReportBuilder {
        let planned = Some(("plan.toml".to_owned(), vec!["a".to_owned()]));
        ReportBuilder::new(
            vec!["j.jsonl".into()],
            planned,
            "2026-11-25T00:00:00Z".into(),
        )
    }

    fn add(b: &mut ReportBuilder, n: u64) {
        let event = EventRef {
            insert_id: Some(format!("id-{n}")),
            seq: n,
            index: 0,
            received: String::new(),
            user_id: None,
            device_id: None,
            capture: None,
            tag: None,
        };
        let finding = Finding {
            code: Code::MissingProperty,
            severity: Severity::Error,
            event_type: Some("a".into()),
            path: "event_properties.p".into(),
            expected: None,
            actual: None,
        };
        b.add_request();
        b.add_event(Some("a"), event, vec![finding]);
    }

    #[test]
    fn streamed_json_reads_back_as_the_whole_report() {
        let mut whole = builder();
        let mut streamed = builder().keep(Keep::Stream);
        let mut out = Vec::new();
        let mut stream = StreamOut::begin(Format::Json, streamed.head(), &mut out)
            .expect("begin")
            .expect("json streams");
        for n in 0..3 {
            add(&mut whole, n);
            add(&mut streamed, n);
            for e in streamed.drain() {
                stream.finding(&e).expect("finding");
            }
        }
        let report = streamed.finish();
        assert!(report.findings.is_empty(), "nothing held");
        assert!(
            report.fails(Some(Severity::Error)),
            "the verdict comes from the counts"
        );
        stream.end(&report).expect("end");
        let read: Report = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(read, whole.finish());
    }

    #[test]
    fn examples_are_capped_per_kind_and_counted() {
        let mut b = builder().keep(Keep::Examples(2));
        for n in 0..5 {
            add(&mut b, n);
        }
        let r = b.finish();
        assert_eq!((r.findings.len(), r.omitted, r.summary.errors), (2, 3, 5));
    }

    #[test]
    fn streamed_csv_has_a_header_and_a_row_per_finding() {
        let mut b = builder().keep(Keep::Stream);
        let mut out = Vec::new();
        let mut stream = StreamOut::begin(Format::Csv, b.head(), &mut out)
            .expect("begin")
            .expect("csv streams");
        add(&mut b, 1);
        for e in b.drain() {
            stream.finding(&e).expect("row");
        }
        stream.end(&b.finish()).expect("end");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("missing_property")));
    }

    #[test]
    fn a_reconcile_report_is_a_check_report_and_more_in_every_format() {
        use crate::reconcile::Reconciliation;
        use crate::report::ReconcileReport;
        let mut b = builder();
        add(&mut b, 1);
        let rr = ReconcileReport {
            check: b.finish(),
            reconcile: Reconciliation {
                omitted: 0,
                window: None,
                summary: Default::default(),
                problems: Vec::new(),
            },
            exported_findings: Vec::new(),
        };
        let mut json = Vec::new();
        rr.write(Format::Json, None, &mut json).expect("json");
        let value: serde_json::Value = serde_json::from_slice(&json).expect("valid");
        assert!(value["summary"]["errors"] == 1 && value["reconcile"].is_object());
        let check: Report = serde_json::from_slice(&json).expect("readable as a check report");
        assert_eq!(check, rr.check);
        let back: ReconcileReport = serde_json::from_slice(&json).expect("and as itself");
        assert_eq!(back, rr);
        for format in [
            Format::Text,
            Format::Csv,
            Format::Md,
            Format::Html,
            Format::Junit,
        ] {
            let mut out = Vec::new();
            rr.write(format, Some(Severity::Error), &mut out)
                .expect("written");
            assert!(!out.is_empty(), "{format:?}");
        }
        assert!(rr.fails(Some(Severity::Error)), "the plan's findings count");
        assert_eq!((rr.kind(), rr.check.kind()), ("reconcile", "check"));
    }
}
