//! Reads journal lines for the screen on threads of their own, so a frame
//! never waits on the disk: one thread loads the focused row's request for
//! the detail view (the newest ask wins), one reads the lines a filter's
//! body half needs and sends verdicts back a chunk at a time (a newer
//! filter abandons the older scan).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::msg::Msg;
use crate::record::LineAt;
use crate::store::view::BodyScan;
use crate::store::{load_record, Lines};

pub struct Reader {
    loads: Sender<(u64, u64, Option<LineAt>)>,
    scans: Sender<BodyScan>,
    /// The generation of the newest scan asked for.
    newest: Arc<AtomicU64>,
}

/// Requests per message back: small enough to show results early.
const CHUNK: usize = 64;

impl Reader {
    pub fn start(lines: Arc<dyn Lines>, results: mpsc::Sender<Msg>) -> std::io::Result<Self> {
        let (loads, load_rx) = channel();
        let (scans, scan_rx) = channel();
        let newest = Arc::new(AtomicU64::new(0));
        let (l, r) = (lines.clone(), results.clone());
        std::thread::Builder::new()
            .name("amptap-detail".into())
            .spawn(move || load_loop(&*l, &load_rx, &r))?;
        let n = newest.clone();
        std::thread::Builder::new()
            .name("amptap-scan".into())
            .spawn(move || scan_loop(&*lines, &scan_rx, &results, &n))?;
        Ok(Reader {
            loads,
            scans,
            newest,
        })
    }

    pub fn load(&self, id: u64, seq: u64, at: Option<LineAt>) {
        let _ = self.loads.send((id, seq, at));
    }

    pub fn scan(&self, scan: BodyScan) {
        self.newest.store(scan.generation, Ordering::Relaxed);
        let _ = self.scans.send(scan);
    }
}

fn load_loop(
    lines: &dyn Lines,
    rx: &Receiver<(u64, u64, Option<LineAt>)>,
    results: &mpsc::Sender<Msg>,
) {
    while let Ok(mut ask) = rx.recv() {
        // Scrolling through the detail view asks faster than a disk answers.
        while let Ok(newer) = rx.try_recv() {
            ask = newer;
        }
        let (id, seq, at) = ask;
        let record = load_record(lines, at, seq)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        if results.blocking_send(Msg::Loaded { id, record }).is_err() {
            return;
        }
    }
}

fn scan_loop(
    lines: &dyn Lines,
    rx: &Receiver<BodyScan>,
    results: &mpsc::Sender<Msg>,
    newest: &AtomicU64,
) {
    while let Ok(mut scan) = rx.recv() {
        while let Ok(newer) = rx.try_recv() {
            scan = newer;
        }
        for chunk in scan.requests.chunks(CHUNK) {
            if newest.load(Ordering::Relaxed) != scan.generation {
                break; // a newer filter: its scan is waiting
            }
            let verdicts = scan.verdicts(lines, chunk);
            let msg = Msg::Bodies {
                generation: scan.generation,
                verdicts,
            };
            if results.blocking_send(msg).is_err() {
                return;
            }
        }
    }
}
