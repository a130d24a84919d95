//! The two sides of a reconcile, in parts. Small sides are held in memory
//! as they are; past a fifth of the memory allowed both are spilled to disk, each event and
//! row in the part its insert_id (or type and actor) hashes to, and matched
//! one part at a time — so memory stays bounded whatever the export's size.
//! A part that grew too large is split again with another seed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use crate::export::ExportedRow;
use crate::reconcile::partition::{captured_part, row_part};
use crate::reconcile::Captured;

/// Parts a spill starts with; a part larger than a tenth of the memory on
/// disk is split again when its turn comes (a part held takes about twice
/// its bytes on disk, its matching as much again).
const FIRST_PARTS: usize = 256;
/// Splits of a split at most (a single insert_id with a billion rows is
/// matched whole, however large).
const MAX_DEPTH: u64 = 3;
/// Each part's buffer is appended to its file past this size.
const FLUSH_AT: usize = 64 << 10;

/// A captured event and the journal it came from (relay markers apply per journal).
pub type Tagged = (u32, Captured);

pub struct Parts {
    held: usize,
    spill_at: usize,
    part_bytes: u64,
    sides: Sides,
    pub captured: u64,
    pub rows: u64,
}

/// Where the sides are: in memory until they grow past the budget.
enum Sides {
    Memory(Vec<Tagged>, Vec<ExportedRow>),
    Disk(Spill),
}

impl Parts {
    /// Sides that may use about `memory` bytes in all.
    pub fn new(memory: usize) -> Parts {
        Parts {
            held: 0,
            spill_at: memory / 5,
            part_bytes: (memory as u64 / 10).max(64 << 10),
            sides: Sides::Memory(Vec::new(), Vec::new()),
            captured: 0,
            rows: 0,
        }
    }

    pub fn spilled(&self) -> bool {
        matches!(self.sides, Sides::Disk(_))
    }

    pub fn push_captured(&mut self, journal: u32, c: Captured) -> std::io::Result<()> {
        self.captured += 1;
        self.held += captured_size(&c);
        match &mut self.sides {
            Sides::Memory(captured, _) => captured.push((journal, c)),
            Sides::Disk(spill) => spill.push_captured(&(journal, c))?,
        }
        self.spill_if_large()
    }

    pub fn push_row(&mut self, row: ExportedRow) -> std::io::Result<()> {
        self.rows += 1;
        self.held += row_size(&row);
        match &mut self.sides {
            Sides::Memory(_, rows) => rows.push(row),
            Sides::Disk(spill) => spill.push_row(&row)?,
        }
        self.spill_if_large()
    }

    fn spill_if_large(&mut self) -> std::io::Result<()> {
        let Sides::Memory(captured, rows) = &self.sides else {
            return Ok(());
        };
        if self.held < self.spill_at {
            return Ok(());
        }
        let mut spill = Spill::new(FIRST_PARTS, 0, self.part_bytes)?;
        for c in captured {
            spill.push_captured(c)?;
        }
        for r in rows {
            spill.push_row(r)?;
        }
        self.sides = Sides::Disk(spill);
        Ok(())
    }

    /// Hands each part to `f` (with the share of the whole done so far).
    pub fn for_each<E: From<std::io::Error>>(
        self,
        f: &mut dyn FnMut(Vec<Tagged>, Vec<ExportedRow>, f64) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.sides {
            Sides::Memory(captured, rows) => f(captured, rows, 1.0),
            Sides::Disk(spill) => spill.for_each(0.0, 1.0, f),
        }
    }
}

/// What a captured event holds, roughly: its strings and properties.
fn captured_size(c: &Captured) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    160 + text(&c.insert_id)
        + text(&c.event_type)
        + text(&c.user_id)
        + text(&c.device_id)
        + c.properties.as_ref().map_or(0, |p| p.get().len())
}

fn row_size(r: &ExportedRow) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let raw =
        |p: &Option<Box<serde_json::value::RawValue>>| p.as_ref().map_or(0, |p| p.get().len());
    300 + text(&r.insert_id)
        + text(&r.uuid)
        + text(&r.event_type)
        + text(&r.user_id)
        + text(&r.device_id)
        + raw(&r.event_properties)
        + raw(&r.user_properties)
}

/// Parts on disk: `c-N.jsonl` (captured) and `r-N.jsonl` (rows) in a
/// private temporary directory, removed when dropped.
struct Spill {
    dir: tempfile::TempDir,
    seed: u64,
    part_bytes: u64,
    captured: Vec<Vec<u8>>,
    rows: Vec<Vec<u8>>,
}

#[derive(Clone, Copy)]
enum Side {
    Captured,
    Rows,
}

impl Spill {
    fn new(parts: usize, seed: u64, part_bytes: u64) -> std::io::Result<Spill> {
        let dir = tempfile::Builder::new()
            .prefix(".amptap-reconcile-")
            .tempdir()?;
        Ok(Spill {
            dir,
            seed,
            part_bytes,
            captured: vec![Vec::new(); parts],
            rows: vec![Vec::new(); parts],
        })
    }

    fn parts(&self) -> usize {
        self.captured.len()
    }

    fn path(&self, part: usize, side: Side) -> PathBuf {
        let prefix = match side {
            Side::Captured => "c",
            Side::Rows => "r",
        };
        self.dir.path().join(format!("{prefix}-{part}.jsonl"))
    }

    fn push_captured(&mut self, c: &Tagged) -> std::io::Result<()> {
        let part = captured_part(&c.1, self.seed, self.parts());
        let buf = &mut self.captured[part];
        serde_json::to_writer(&mut *buf, c)?;
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            self.flush(part, Side::Captured)?;
        }
        Ok(())
    }

    fn push_row(&mut self, r: &ExportedRow) -> std::io::Result<()> {
        let part = row_part(r, self.seed, self.parts());
        let buf = &mut self.rows[part];
        serde_json::to_writer(&mut *buf, r)?;
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            self.flush(part, Side::Rows)?;
        }
        Ok(())
    }

    /// Appends a part's buffer to its file (opened only for the moment:
    /// thousands of parts never hold thousands of descriptors).
    fn flush(&mut self, part: usize, side: Side) -> std::io::Result<()> {
        let path = self.path(part, side);
        let buf = match side {
            Side::Captured => &mut self.captured[part],
            Side::Rows => &mut self.rows[part],
        };
        if buf.is_empty() {
            return Ok(());
        }
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(buf)?;
        buf.clear();
        Ok(())
    }

    fn flush_all(&mut self) -> std::io::Result<()> {
        for part in 0..self.parts() {
            self.flush(part, Side::Captured)?;
            self.flush(part, Side::Rows)?;
        }
        Ok(())
    }

    fn bytes(&self, part: usize) -> u64 {
        [Side::Captured, Side::Rows]
            .iter()
            .filter_map(|&s| std::fs::metadata(self.path(part, s)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Each part in turn, from `done` to `done + share` of the whole.
    fn for_each<E: From<std::io::Error>>(
        mut self,
        done: f64,
        share: f64,
        f: &mut dyn FnMut(Vec<Tagged>, Vec<ExportedRow>, f64) -> Result<(), E>,
    ) -> Result<(), E> {
        self.flush_all()?;
        let step = share / self.parts() as f64;
        for part in 0..self.parts() {
            let at = done + step * part as f64;
            let bytes = self.bytes(part);
            if bytes > self.part_bytes && self.seed < MAX_DEPTH {
                let parts = usize::try_from(bytes / self.part_bytes + 1)
                    .unwrap_or(2)
                    .max(2);
                let sub = self.split(part, parts)?;
                sub.for_each(at, step, f)?;
                continue;
            }
            let captured = read_lines(&self.path(part, Side::Captured))?;
            let rows = read_lines(&self.path(part, Side::Rows))?;
            self.remove(part);
            f(captured, rows, at + step)?;
        }
        Ok(())
    }

    /// A part read again into `parts` new ones, by the next seed.
    fn split(&mut self, part: usize, parts: usize) -> std::io::Result<Spill> {
        let mut sub = Spill::new(parts, self.seed + 1, self.part_bytes)?;
        each_line::<Tagged>(&self.path(part, Side::Captured), &mut |c| {
            sub.push_captured(&c)
        })?;
        each_line::<ExportedRow>(&self.path(part, Side::Rows), &mut |r| sub.push_row(&r))?;
        self.remove(part);
        Ok(sub)
    }

    fn remove(&self, part: usize) {
        for side in [Side::Captured, Side::Rows] {
            let _ = std::fs::remove_file(self.path(part, side));
        }
    }
}

fn read_lines<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> std::io::Result<Vec<T>> {
    let mut out = Vec::new();
    each_line(path, &mut |v| {
        out.push(v);
        Ok(())
    })?;
    Ok(out)
}

fn each_line<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    f: &mut dyn FnMut(T) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for line in BufReader::with_capacity(1 << 20, file).lines() {
        f(serde_json::from_str(&line?)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Outcome;

    fn captured(i: usize) -> Captured {
        Captured {
            seq: i as u64,
            index: 0,
            received_ms: 0,
            insert_id: Some(format!("id-{i}")),
            event_type: Some("e".into()),
            user_id: Some(format!("u{}", i % 9)),
            device_id: None,
            time_ms: Some(0),
            outcome: Outcome::Accepted,
            properties: None,
            revenue: Vec::new(),
        }
    }

    #[test]
    fn every_event_meets_its_row_in_one_part_even_split_again() {
        let mut spill = Spill::new(4, 0, 1 << 20).expect("spill");
        for i in 0..2_000 {
            spill.push_captured(&(0, captured(i))).expect("push");
            let row = ExportedRow {
                insert_id: Some(format!("id-{i}")),
                ..ExportedRow::default()
            };
            spill.push_row(&row).expect("push");
        }
        spill.flush_all().expect("flush");
        // Split part 0 again, as an oversized part is.
        let sub = spill.split(0, 3).expect("split");
        let mut seen = 0;
        let mut check = |c: Vec<Tagged>, r: Vec<ExportedRow>, _| -> std::io::Result<()> {
            let ids: std::collections::HashSet<_> =
                r.iter().filter_map(|r| r.insert_id.clone()).collect();
            assert_eq!(ids.len(), c.len());
            assert!(c
                .iter()
                .all(|(_, c)| ids.contains(c.insert_id.as_deref().unwrap_or(""))));
            seen += c.len();
            Ok(())
        };
        sub.for_each(0.0, 0.25, &mut check).expect("sub");
        spill.for_each(0.0, 1.0, &mut check).expect("parts");
        assert_eq!(seen, 2_000, "nothing lost, nothing twice");
    }
}
