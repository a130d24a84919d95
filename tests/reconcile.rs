//! Every reconcile class and diff kind, including Amplitude's by-design
//! transformations, on hand-built captured events and exported rows.

use amptap::export::{format_export_time, ExportedRow, Hour, Window};
use amptap::reconcile::{reconcile, Captured, Class, DiffKind, Options, Outcome, Reconciliation};
use serde_json::{json, Value};

const T: i64 = 1_795_514_400_000; // 2026-11-24 10:00 UTC

fn captured(id: Option<&str>, props: Value, outcome: Outcome) -> Captured {
    Captured {
        seq: 1,
        index: 0,
        received_ms: T + 1_000,
        insert_id: id.map(str::to_owned),
        event_type: Some("dify_user_query".into()),
        user_id: Some("user-ada".into()),
        device_id: Some("device-1".into()),
        time_ms: Some(T),
        outcome,
        properties: serde_json::value::to_raw_value(&props).ok(),
        revenue: Vec::new(),
    }
}

fn row(id: Option<&str>, props: Value) -> ExportedRow {
    ExportedRow {
        insert_id: id.map(str::to_owned),
        uuid: Some(format!("uuid-{}", id.unwrap_or("none"))),
        event_type: Some("dify_user_query".into()),
        user_id: Some("user-ada".into()),
        device_id: Some("device-1".into()),
        client_event_time: Some(format_export_time(T)),
        event_time: Some(format_export_time(T + 90_000)),
        server_upload_time: Some(format_export_time(T + 2_000)),
        event_properties: serde_json::value::to_raw_value(&props).ok(),
        ..ExportedRow::default()
    }
}

fn run(captured: &[Captured], exported: &[ExportedRow]) -> Reconciliation {
    let h = Hour::containing(T);
    reconcile(
        captured,
        exported,
        &Options {
            window: Some(Window::new(h, h).expect("window")),
            pending_after_ms: T + 60_000,
            tolerance_ms: 1_000,
        },
    )
}

fn classes(r: &Reconciliation) -> Vec<(Class, Option<String>)> {
    r.problems
        .iter()
        .map(|p| (p.class, p.insert_id.clone()))
        .collect()
}

#[test]
fn a_clean_match_is_no_problem() {
    let props = json!({"q": "hi", "n": 3});
    let r = run(
        &[captured(Some("a"), props.clone(), Outcome::Accepted)],
        &[row(Some("a"), json!({"q": "hi", "n": 3.0}))],
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        (
            r.summary.captured,
            r.summary.forwarded_ok,
            r.summary.matched
        ),
        (1, 1, 1)
    );
}

#[test]
fn every_class() {
    let p = json!({"q": "hi"});
    let mut late = captured(Some("late"), p.clone(), Outcome::Accepted);
    late.received_ms = T + 120_000;
    let mut other_user_row = row(Some("stranger"), p.clone());
    other_user_row.user_id = Some("user-other".into());
    other_user_row.device_id = Some("device-other".into());
    let mut outside_window = row(Some("old"), p.clone());
    outside_window.server_upload_time = Some(format_export_time(T - 5 * 3_600_000));
    let r = run(
        &[
            captured(Some("ok"), p.clone(), Outcome::Accepted),
            captured(Some("lost"), p.clone(), Outcome::Accepted),
            captured(
                Some("refused"),
                p.clone(),
                Outcome::Rejected {
                    status: 400,
                    reason: "Invalid field values on some events; this event: event_type".into(),
                },
            ),
            captured(
                Some("never"),
                p.clone(),
                Outcome::NotForwarded {
                    reason: "upstream failure: unreachable".into(),
                },
            ),
            late,
            captured(Some("twice"), p.clone(), Outcome::Accepted),
        ],
        &[
            row(Some("ok"), p.clone()),
            row(Some("twice"), p.clone()),
            row(Some("twice"), p.clone()),
            row(Some("surprise"), p.clone()),
            other_user_row,
            outside_window,
        ],
    );
    let got = classes(&r);
    for (class, id) in [
        (Class::Missing, "lost"),
        (Class::Rejected, "refused"),
        (Class::NotForwarded, "never"),
        (Class::Pending, "late"),
        (Class::Duplicated, "twice"),
        (Class::Extra, "surprise"),
    ] {
        assert!(
            got.contains(&(class, Some(id.to_owned()))),
            "{class} {id}: {got:?}"
        );
    }
    assert_eq!(
        got.len(),
        6,
        "other users' rows and rows outside the window are out of scope: {got:?}"
    );
    let s = &r.summary;
    assert_eq!(
        (
            s.captured,
            s.matched,
            s.missing,
            s.rejected,
            s.not_forwarded,
            s.pending,
            s.extra,
            s.duplicated
        ),
        (6, 2, 1, 1, 1, 1, 1, 1)
    );
    let refused = r
        .problems
        .iter()
        .find(|p| p.class == Class::Rejected)
        .expect("rejected");
    assert!(
        matches!(&refused.captured.as_ref().expect("side").outcome, Outcome::Rejected { reason, .. } if reason.contains("event_type"))
    );
    let dup = r
        .problems
        .iter()
        .find(|p| p.class == Class::Duplicated)
        .expect("dup");
    assert_eq!(dup.exported.len(), 2, "both exported rows are shown");
}

#[test]
fn retries_count_once_and_the_best_try_decides() {
    let p = json!({"q": "hi"});
    let first = captured(
        Some("r"),
        p.clone(),
        Outcome::NotForwarded {
            reason: "Amplitude answered 500".into(),
        },
    );
    let mut second = captured(Some("r"), p.clone(), Outcome::Accepted);
    second.seq = 2;
    let r = run(&[first, second], &[row(Some("r"), p)]);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.summary.captured, 1);
}

#[test]
fn events_without_insert_id_match_on_type_actor_and_time() {
    let p = json!({"q": "hi"});
    let mut r1 = row(None, p.clone());
    r1.client_event_time = Some(format_export_time(T + 400));
    let mut far = row(None, p.clone());
    far.client_event_time = Some(format_export_time(T + 5_000));
    let r = run(&[captured(None, p.clone(), Outcome::Accepted)], &[r1, far]);
    assert_eq!(r.summary.matched, 1);
    assert_eq!(
        classes(&r),
        vec![(Class::Extra, None)],
        "the row 5 s away is not the same event"
    );
    let matched = run(&[captured(None, p.clone(), Outcome::Accepted)], &[]);
    assert_eq!(classes(&matched), vec![(Class::Missing, None)]);
}

#[test]
fn every_diff_kind_and_the_expected_ones() {
    let long = "x".repeat(1500);
    let sent = json!({"model": "gpt-4o", "latency": 812, "dropped": "here", "nothing": null, "long": long, "same": 1});
    let stored = json!({"model": "gpt-5", "latency": "812", "long": "x".repeat(1024), "same": 1.0, "$price": 9.99});
    let mut c = captured(Some("d"), sent, Outcome::Accepted);
    c.revenue = vec![("price".into(), json!(9.99))];
    c.time_ms = Some(T - 1);
    let mut r = row(Some("d"), stored);
    r.user_id = None;
    let result = run(&[c], &[r]);
    let p = result
        .problems
        .iter()
        .find(|p| p.class == Class::Matched)
        .expect("a changed pair");
    let kinds: Vec<(DiffKind, &str, bool)> = p
        .diffs
        .iter()
        .map(|d| (d.kind, d.path.as_str(), d.expected))
        .collect();
    for want in [
        (DiffKind::ValueChanged, "event_properties.model", false),
        (DiffKind::TypeChanged, "event_properties.latency", false),
        (DiffKind::PropertyDropped, "event_properties.dropped", false),
        (DiffKind::FieldDropped, "user_id", false),
        (DiffKind::ValueChanged, "time", false),
        (DiffKind::NullDropped, "event_properties.nothing", true),
        (DiffKind::Truncated, "event_properties.long", true),
        (
            DiffKind::RevenueMoved,
            "price → event_properties.$price",
            true,
        ),
    ] {
        assert!(kinds.contains(&want), "{want:?} not in {kinds:?}");
    }
    assert!(
        !kinds
            .iter()
            .any(|(_, path, _)| *path == "event_properties.same"),
        "3 == 3.0"
    );
    assert_eq!(result.summary.expected_transformations, 3);
    assert_eq!(result.summary.diffs_by_kind.values().sum::<u64>(), 5);
}

#[test]
fn only_expected_changes_are_not_a_problem() {
    let r = run(
        &[captured(
            Some("n"),
            json!({"a": 1, "gone": null}),
            Outcome::Accepted,
        )],
        &[row(Some("n"), json!({"a": 1}))],
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.summary.expected_transformations, 1);
}
