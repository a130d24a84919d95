use serde_json::value::RawValue;

use super::view::View;
use super::*;
use crate::event::{Dialect, Event};
use crate::filter::Filter;
use crate::judge::Judged;
use crate::plan::{Code, Finding, Severity};
use crate::record::line::write_record;
use crate::record::{Answer, LineAt, Record};

/// Journals written as the tap would, so rows can be read back.
#[derive(Default)]
struct Journal {
    lines: MemoryLines,
    seq: u64,
}

impl Journal {
    fn judged(&mut self, types: &[&str], bad: &[bool]) -> Judged {
        let events = types
            .iter()
            .map(|t| {
                let raw = format!(r#"{{"event_type":"{t}","user_id":"user-1","n":"\u3053"}}"#);
                Event::from_raw(RawValue::from_string(raw).expect("json"), Dialect::V2)
            })
            .collect();
        self.seq += 1;
        let record = Record {
            seq: self.seq,
            events,
            answer: Answer::new(200, None, b"{}"),
            ..Record::new(
                "POST",
                "/2/httpapi",
                time::OffsetDateTime::UNIX_EPOCH,
                "127.0.0.1:1".into(),
            )
        };
        let findings = bad
            .iter()
            .map(|&b| if b { vec![missing("p")] } else { vec![] })
            .collect();
        let judged = Judged {
            record,
            findings,
            request: None,
            at: None,
        };
        if self.lines.0.is_empty() {
            self.lines.0.push(Vec::new());
        }
        let file = &mut self.lines.0[0];
        let offset = file.len() as u64;
        write_record(&judged.record, file).expect("write");
        let len = file.len() as u64 - offset;
        judged.at(LineAt {
            file: 0,
            offset,
            len,
        })
    }
}

fn missing(path: &str) -> Finding {
    Finding {
        code: Code::MissingProperty,
        severity: Severity::Error,
        event_type: None,
        path: path.into(),
        expected: None,
        actual: None,
    }
}

fn fresh() -> (Journal, Store, View) {
    (
        Journal::default(),
        Store::new(DEFAULT_BUDGET, None),
        View::new(),
    )
}

fn add(store: &mut Store, view: &mut View, judged: &Judged) {
    let ids = store.ingest(judged);
    view.on_ingest(store, ids, judged);
}

/// Runs a job to its end, reading lines as the app's reader would.
fn finish(view: &mut View, store: &Store, scan: Option<view::BodyScan>, lines: &MemoryLines) {
    if let Some(scan) = scan {
        let verdicts = scan.verdicts(lines, &scan.requests);
        view.take_bodies(scan.generation, verdicts);
    }
    while view.work(store, 2) {}
}

#[test]
fn follows_filters_pauses_and_keeps_focus_on_an_event() {
    let (mut j, mut store, mut view) = fresh();
    add(
        &mut store,
        &mut view,
        &j.judged(&["a", "b", "a"], &[false, true, false]),
    );
    assert_eq!(view.len(), 3);
    assert_eq!(view.focus(), Some(2), "follows the tail");

    view.move_by(-1);
    assert!(!view.follow);
    assert_eq!(view.focus(), Some(1));
    add(&mut store, &mut view, &j.judged(&["c"], &[false]));
    assert_eq!(view.focus(), Some(1), "focus stays while not following");

    let scan = view.set_filter(Filter::parse("type:a|c").expect("filter"), &store);
    finish(&mut view, &store, scan, &j.lines);
    assert_eq!(view.ids().collect::<Vec<_>>(), [0, 2, 3]);
    assert_eq!(
        view.focus(),
        Some(0),
        "the focused event left: nearest before it"
    );

    view.end();
    view.toggle_pause(&store);
    add(
        &mut store,
        &mut view,
        &j.judged(&["a", "a"], &[false, false]),
    );
    assert_eq!(view.paused(), Some(2));
    assert_eq!(view.len(), 3, "paused: nothing new shown");
    let scan = view.toggle_pause(&store);
    finish(&mut view, &store, scan, &j.lines);
    assert_eq!(view.len(), 5);
    assert_eq!(view.focus(), Some(5));

    let scan = view.set_filter(Filter::default(), &store);
    finish(&mut view, &store, scan, &j.lines);
    let scan = view.toggle_only_problems(&store);
    finish(&mut view, &store, scan, &j.lines);
    assert_eq!(view.ids().collect::<Vec<_>>(), [1]);
}

#[test]
fn a_big_refilter_runs_in_slices_newest_first() {
    let (mut j, mut store, mut view) = fresh();
    for _ in 0..100 {
        add(&mut store, &mut view, &j.judged(&["a"; 100], &[false; 100]));
    }
    assert!(view
        .set_filter(Filter::parse("type:a").expect("f"), &store)
        .is_none());
    let progress = view
        .progress()
        .expect("still running after the first slice");
    assert_eq!(progress.total, 10_000);
    assert_eq!(view.len() as u64, progress.done, "partial results show");
    assert_eq!(view.ids().last(), Some(9_999), "the newest come first");
    // A newer filter replaces the job.
    view.set_filter(Filter::parse("type:b").expect("f"), &store);
    while view.work(&store, 1000) {}
    assert!(view.is_empty() && view.progress().is_none());
}

#[test]
fn free_text_reads_the_lines_back_and_waits_for_them() {
    let (mut j, mut store, mut view) = fresh();
    add(
        &mut store,
        &mut view,
        &j.judged(&["a", "b"], &[false, false]),
    );
    add(&mut store, &mut view, &j.judged(&["c"], &[false]));
    let scan = view
        .set_filter(Filter::parse("こ -\"c\"").expect("f"), &store)
        .expect("free text needs the lines");
    assert_eq!(scan.requests.len(), 2);
    assert!(view.work(&store, 100), "waits for the journal lines");
    assert!(view.is_empty());
    // An answer to an older filter is ignored.
    view.take_bodies(scan.generation - 1, vec![(1, vec![1])]);
    assert!(view.work(&store, 100));
    finish(&mut view, &store, Some(scan), &j.lines);
    assert_eq!(
        view.ids().collect::<Vec<_>>(),
        [0, 1],
        "decoded \\u3053 matches こ"
    );
    // New arrivals are matched from the record in hand.
    add(&mut store, &mut view, &j.judged(&["d"], &[false]));
    assert_eq!(view.ids().collect::<Vec<_>>(), [0, 1, 3]);
}

#[test]
fn rows_are_small_and_the_budget_counts_bytes() {
    // 40 bytes of columns and 8 of the event's own time.
    assert!(
        std::mem::size_of::<Row>() <= 48,
        "{}",
        std::mem::size_of::<Row>()
    );
    let mut j = Journal::default();
    let mut store = Store::new(300_000, None);
    let mut view = View::new();
    for _ in 0..200 {
        add(
            &mut store,
            &mut view,
            &j.judged(&["a", "b"], &[false, true]),
        );
    }
    assert!(store.bytes() <= 300_000, "{}", store.bytes());
    assert!(store.evicted() == 0 || store.len() >= KEEP_AT_LEAST);
    let mut small = Store::new(0, None);
    for _ in 0..1_000 {
        small.ingest(&j.judged(&["a", "b"], &[false, false]));
    }
    assert_eq!(small.len(), KEEP_AT_LEAST, "the newest rows always stay");
    assert_eq!(small.evicted(), 1_000);
    assert_eq!(small.first_id(), 1_000);
    assert!(small.get(999).is_none() && small.get(1_999).is_some());
    assert_eq!(small.counters().events, 2_000, "counters keep counting");
    let r = small.get(1_999).expect("row");
    assert_eq!(
        (r.event_type(), r.user(), r.index()),
        (Some("b"), Some("user-1"), 1)
    );
}

#[test]
fn tables_are_rebuilt_when_evicted_rows_held_them() {
    let mut j = Journal::default();
    let mut store = Store::new(600_000, None);
    for i in 0..20_000 {
        let mut judged = j.judged(&["a"], &[true]);
        judged.findings[0][0].actual = Some(format!("unique value {i} {}", "x".repeat(100)));
        store.ingest(&judged);
    }
    assert!(store.epoch() > 0, "rebuilt");
    assert!(store.bytes() <= 600_000, "{}", store.bytes());
    assert!(store.evicted() > 15_000);
    let newest = store.get(store.next_id() - 1).expect("row");
    assert!(newest.findings()[0]
        .actual
        .as_deref()
        .is_some_and(|a| a.starts_with("unique value 19999")));
}

#[test]
fn keep_visible_scrolls_to_the_focus() {
    let (mut j, mut store, mut view) = fresh();
    add(&mut store, &mut view, &j.judged(&["a"; 30], &[false; 30]));
    view.keep_visible(10);
    assert_eq!(view.offset(), 20);
    view.home();
    view.keep_visible(10);
    assert_eq!(view.offset(), 0);
    view.move_by(15);
    view.keep_visible(10);
    assert_eq!(view.offset(), 6);
}

#[test]
fn a_line_that_changed_is_an_error_not_another_record() {
    let mut j = Journal::default();
    let judged = j.judged(&["a"], &[false]);
    let at = judged.at;
    assert_eq!(load_record(&j.lines, at, 1).expect("line").seq, 1);
    assert!(matches!(
        load_record(&j.lines, at, 2),
        Err(LineError::Changed { .. })
    ));
    assert!(matches!(
        load_record(&j.lines, None, 1),
        Err(LineError::NoLine)
    ));
    let beyond = at.map(|a| LineAt {
        offset: a.offset + 1_000,
        ..a
    });
    assert!(matches!(
        load_record(&j.lines, beyond, 1),
        Err(LineError::Io(_))
    ));
}

#[test]
fn a_full_store_lets_the_oldest_go_one_by_one() {
    let mut j = Journal::default();
    let mut store = Store::new(4_000_000, None);
    let mut held = Vec::new();
    for _ in 0..300 {
        store.ingest(&j.judged(&["a"; 1000], &[false; 1000]));
        held.push(store.next_id() - store.first_id());
    }
    let late = &held[200..];
    let (lo, hi) = (
        late.iter().min().copied().unwrap_or(0),
        late.iter().max().copied().unwrap_or(0),
    );
    assert!(hi - lo <= 1000, "held {lo}..{hi}: never emptied by half");
    assert!(lo > 50_000, "the budget is used: {lo}");
    assert!(store.bytes() <= 4_000_000, "{}", store.bytes());
}

#[test]
fn an_or_of_a_column_and_a_body_term_reads_back_only_what_the_columns_cannot_settle() {
    let (mut j, mut store, mut view) = fresh();
    // Rows 0..3: a (bad), b, c; every event's JSON holds "user-1".
    add(
        &mut store,
        &mut view,
        &j.judged(&["a", "b", "c"], &[true, false, false]),
    );
    for (filter, want) in [
        ("status:error or type:c", vec![0, 2]),
        ("type:a or user-1", vec![0, 1, 2]),
        ("type:b or nowhere", vec![1]),
        ("!(type:b or nowhere)", vec![0, 2]),
        ("(type:a or type:b) !status:error", vec![1]),
    ] {
        let scan = view.set_filter(Filter::parse(filter).expect("filter"), &store);
        finish(&mut view, &store, scan, &j.lines);
        assert_eq!(view.ids().collect::<Vec<_>>(), want, "{filter}");
    }
    // Live: what arrives is decided the same way.
    let scan = view.set_filter(Filter::parse("type:d or nowhere").expect("f"), &store);
    finish(&mut view, &store, scan, &j.lines);
    add(
        &mut store,
        &mut view,
        &j.judged(&["d", "e"], &[false, false]),
    );
    assert_eq!(view.ids().collect::<Vec<_>>(), [3]);
}

#[test]
fn rows_sort_by_a_column_and_new_ones_wait_at_the_end_for_the_next_sort() {
    let (mut j, mut store, mut view) = fresh();
    add(
        &mut store,
        &mut view,
        &j.judged(&["b", "A", "c", "a"], &[false, true, false, false]),
    );
    view.sort_by(Some(SortKey::EventType), &store);
    assert_eq!(
        view.ids().collect::<Vec<_>>(),
        [1, 3, 0, 2],
        "any case, then arrival"
    );
    view.sort_by(Some(SortKey::Check), &store);
    assert_eq!(view.ids().next(), Some(1), "the error first");
    add(&mut store, &mut view, &j.judged(&["0"], &[false]));
    assert_eq!(view.ids().last(), Some(4), "an arrival waits at the end");
    view.sort_by(Some(SortKey::EventType), &store);
    assert_eq!(view.ids().next(), Some(4), "until the next sort");
    // A filter change sorts again once its job is done.
    let scan = view.set_filter(Filter::parse("type:a|b").expect("f"), &store);
    finish(&mut view, &store, scan, &j.lines);
    assert_eq!(view.ids().collect::<Vec<_>>(), [1, 3, 0]);
    view.home();
    view.move_by(1);
    assert_eq!(view.focus(), Some(3));
    view.sort_by(None, &store);
    assert_eq!(
        view.ids().collect::<Vec<_>>(),
        [0, 1, 3],
        "arrival order again"
    );
    assert_eq!(view.focus(), Some(3), "the focus stays on its event");
}
