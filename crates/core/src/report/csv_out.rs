//! CSV: one row per finding, both the problem and the event it names.

use std::io::{self, Write};

use super::{FindingEntry, Report};

pub const COLUMNS: [&str; 14] = [
    "severity",
    "code",
    "event_type",
    "path",
    "expected",
    "actual",
    "insert_id",
    "seq",
    "index",
    "received",
    "user_id",
    "device_id",
    "capture",
    "tag",
];

/// Writes one row with every cell made safe for spreadsheets and terminals.
pub fn write_safe<W: Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = S>,
) -> io::Result<()> {
    w.write_record(
        cells
            .into_iter()
            .map(|cell| crate::sanitize::csv_cell(cell.as_ref()).into_owned()),
    )?;
    Ok(())
}

pub fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for e in &r.findings {
        write_row(&mut w, e)?;
    }
    w.flush()
}

/// One finding as a row.
pub fn write_row<W: Write>(w: &mut csv::Writer<W>, e: &FindingEntry) -> io::Result<()> {
    let f = &e.finding;
    let v = &e.event;
    write_safe(
        w,
        [
            f.severity.as_str(),
            f.code.as_str(),
            f.event_type.as_deref().unwrap_or(""),
            &f.path,
            f.expected.as_deref().unwrap_or(""),
            f.actual.as_deref().unwrap_or(""),
            v.insert_id.as_deref().unwrap_or(""),
            &v.seq.to_string(),
            &v.index.to_string(),
            &v.received,
            v.user_id.as_deref().unwrap_or(""),
            v.device_id.as_deref().unwrap_or(""),
            v.capture.as_deref().unwrap_or(""),
            v.tag.as_deref().unwrap_or(""),
        ],
    )
}
