//! `check` over journal files: read them in order as one session, judge
//! every record once, and add it to a report builder — a stream: memory
//! grows with the kinds of findings kept, not with events.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;

use crate::journal::{open_reader, JournalError};
use amptap_core::judge::report_capture;
use amptap_core::plan::{Plan, Validator};
use amptap_core::record::{JournalWarning, Record};
use amptap_core::report::{FindingEntry, Keep, ReportBuilder};

/// A journal that could not be read at all, or lines of one that were skipped.
#[derive(Debug)]
pub struct InputWarning {
    pub file: String,
    pub warning: JournalWarning,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("writing the report: {0}")]
    Write(#[from] std::io::Error),
}

/// Records read on a thread of their own, a bounded way ahead of the
/// judge, so reading and judging share the cores. Reading an event onto its
/// tape is shared too: the reader does it while the judge has records
/// waiting, and leaves the rest to the judge when it has none, so neither
/// thread idles whatever the plan and the events cost. Judged records go
/// back to the reader to be freed where they were allocated.
struct ReadAhead {
    records: Receiver<(Arc<str>, Record)>,
    /// Records sent and not yet taken by the judge.
    waiting: Arc<AtomicUsize>,
    done: Sender<Record>,
    thread: std::thread::JoinHandle<Vec<InputWarning>>,
}

impl ReadAhead {
    fn start(journals: &[&Path]) -> Result<Self, CheckError> {
        let mut readers = Vec::new();
        for path in journals {
            let name: Arc<str> = path.display().to_string().into();
            readers.push((name, open_reader(path)?));
        }
        let (tx, records) = std::sync::mpsc::sync_channel(16);
        let (done, freed) = std::sync::mpsc::channel::<Record>();
        let waiting = Arc::new(AtomicUsize::new(0));
        let queued = waiting.clone();
        let thread = std::thread::Builder::new()
            .name("amptap-read".into())
            .spawn(move || {
                let mut warnings = Vec::new();
                for (name, mut reader) in readers {
                    for record in reader.by_ref() {
                        let busy = || queued.load(Ordering::Relaxed) > 0;
                        for event in record.events.iter().take_while(|_| busy()) {
                            event.view(); // read here, judged there
                        }
                        queued.fetch_add(1, Ordering::Relaxed);
                        if tx.send((name.clone(), record)).is_err() {
                            return warnings;
                        }
                        while freed.try_recv().is_ok() {}
                    }
                    warnings.extend(reader.warnings().iter().map(|w| InputWarning {
                        file: name.to_string(),
                        warning: w.clone(),
                    }));
                }
                warnings
            })?;
        Ok(ReadAhead {
            records,
            waiting,
            done,
            thread,
        })
    }
}

/// The builder a check of `journals` against `plan` fills.
pub fn builder(
    plan: &Plan,
    plan_label: Option<&str>,
    journals: &[&Path],
    generated: time::OffsetDateTime,
    keep: Keep,
) -> ReportBuilder {
    let inputs: Vec<String> = journals.iter().map(|p| p.display().to_string()).collect();
    let planned = plan_label.map(|label| (label.to_owned(), plan.events.keys().cloned().collect()));
    ReportBuilder::new(
        inputs,
        planned,
        generated.format(&Rfc3339).unwrap_or_default(),
    )
    .keep(keep)
}

/// Checks journals, in order, as one session, into `builder`; with
/// [`Keep::Stream`] each finding goes to `found` as soon as it is made.
/// Returns the lines that were skipped.
pub fn check_journals(
    builder: &mut ReportBuilder,
    plan: &Plan,
    journals: &[&Path],
    found: &mut dyn FnMut(&FindingEntry) -> std::io::Result<()>,
) -> Result<Vec<InputWarning>, CheckError> {
    let mut validator = Validator::new(plan);
    let several = journals.len() > 1;
    let ahead = ReadAhead::start(journals)?;
    for (name, capture) in ahead.records.iter() {
        ahead.waiting.fetch_sub(1, Ordering::Relaxed);
        report_capture(
            builder,
            Some(&mut validator),
            &capture,
            several.then(|| name.to_string()),
        );
        for entry in builder.drain() {
            found(&entry)?;
        }
        let _ = ahead.done.send(capture);
    }
    drop(ahead.done);
    let warnings = ahead
        .thread
        .join()
        .map_err(|_| std::io::Error::other("the journal reader stopped"))?;
    Ok(warnings)
}
