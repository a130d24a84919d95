//! Captured × exported: what left the app against what Amplitude stored.
//! Pure — values in, a [`Reconciliation`] out; the caller reads journals and
//! archives.
//!
//! Every captured event is classified (`matched`, `missing`, `rejected`,
//! `not_forwarded`, `pending`); exported rows of the captured users and
//! devices that nothing matched are `extra`; an insert id exported twice is
//! `duplicated`. Matched pairs are compared field by field, and the changes
//! Amplitude makes by design are marked expected rather than flagged.

mod captured;
mod class;
mod diff;
pub mod partition;
mod summary;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use captured::{Captured, Outcome};
pub use class::Class;
pub use diff::{diff_pair, Diff, DiffKind};
pub use summary::ReconcileSummary;

use crate::export::{ExportedRow, Window};
use crate::plan::Severity;

/// The captured side of a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedSide {
    pub seq: u64,
    pub index: usize,
    pub received_ms: i64,
    /// How many times the SDK sent it (retries share the insert id).
    pub attempts: usize,
    pub outcome: Outcome,
}

/// The exported side of a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedSide {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_upload_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
}

impl ExportedSide {
    fn of(row: &ExportedRow) -> Self {
        ExportedSide {
            uuid: row.uuid.clone(),
            server_upload_time: row.server_upload_time.clone(),
            event_time: row.event_time.clone(),
        }
    }
}

/// One thing that does not add up, with both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub class: Class,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<CapturedSide>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exported: Vec<ExportedSide>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<Diff>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The export window (`YYYYMMDDTHH–YYYYMMDDTHH`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    pub summary: ReconcileSummary,
    pub problems: Vec<Problem>,
    /// Problems counted in the summary but not listed (a reconcile of
    /// millions keeps a bounded sample of each class).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub struct Options {
    /// Only exported rows uploaded in this window are candidates for `extra`.
    pub window: Option<Window>,
    /// Events received after this are `pending` when absent (the export has not caught up).
    pub pending_after_ms: i64,
    /// How far an exported client time may be from the sent time when
    /// matching events that have no insert id.
    pub tolerance_ms: i64,
}

/// Captured groups of one insert id (or one event without).
struct Group {
    best: usize,
    attempts: usize,
}

pub fn reconcile(
    captured: &[Captured],
    exported: &[ExportedRow],
    options: &Options,
) -> Reconciliation {
    let actors: HashSet<&str> = captured
        .iter()
        .flat_map(|c| [c.user_id.as_deref(), c.device_id.as_deref()])
        .flatten()
        .collect();
    reconcile_in(captured, exported, options, &|a| actors.contains(a))
}

/// [`reconcile`] of one part of a larger whole: `ours` says whether a user
/// or device id is one the whole captured side has (an unmatched exported
/// row of ours is `extra`; of someone else, out of scope).
pub fn reconcile_in(
    captured: &[Captured],
    exported: &[ExportedRow],
    options: &Options,
    ours: &dyn Fn(&str) -> bool,
) -> Reconciliation {
    let mut summary = ReconcileSummary {
        exported_rows: exported.len() as u64,
        ..ReconcileSummary::default()
    };
    let mut problems = Vec::new();

    // Group retries: the best outcome of all tries decides.
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, c) in captured.iter().enumerate() {
        match c.insert_id.as_deref().and_then(|id| by_id.get(id).copied()) {
            Some(g) => {
                let group = &mut groups[g];
                group.attempts += 1;
                if c.outcome.rank() > captured[group.best].outcome.rank() {
                    group.best = i;
                }
            }
            None => {
                if let Some(id) = c.insert_id.as_deref() {
                    by_id.insert(id, groups.len());
                }
                groups.push(Group {
                    best: i,
                    attempts: 1,
                });
            }
        }
    }

    let mut rows_by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut rows_by_actor: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (r, row) in exported.iter().enumerate() {
        match row.insert_id.as_deref() {
            Some(id) => rows_by_id.entry(id).or_default().push(r),
            None => {
                if let (Some(t), Some(a)) = (row.event_type.as_deref(), row.actor()) {
                    rows_by_actor.entry((t, a)).or_default().push(r);
                }
            }
        }
    }
    let mut used = vec![false; exported.len()];

    for group in &groups {
        let c = &captured[group.best];
        summary.captured += 1;
        if c.outcome == Outcome::Accepted {
            summary.forwarded_ok += 1;
        }
        let rows: Vec<usize> = match c.insert_id.as_deref() {
            Some(id) => rows_by_id.get(id).cloned().unwrap_or_default(),
            None => match_without_id(c, exported, &rows_by_actor, &used, options.tolerance_ms)
                .into_iter()
                .collect(),
        };
        for &r in &rows {
            used[r] = true;
        }
        let side = CapturedSide {
            seq: c.seq,
            index: c.index,
            received_ms: c.received_ms,
            attempts: group.attempts,
            outcome: c.outcome.clone(),
        };
        let problem = |class: Class, severity, exported: Vec<ExportedSide>, diffs| Problem {
            class,
            severity,
            insert_id: c.insert_id.clone(),
            event_type: c.event_type.clone(),
            user_id: c.user_id.clone(),
            device_id: c.device_id.clone(),
            captured: Some(side.clone()),
            exported,
            diffs,
        };
        if let Some(&first) = rows.first() {
            summary.matched += 1;
            let diffs = diff_pair(c, &exported[first]);
            let (expected, unexpected): (Vec<Diff>, Vec<Diff>) =
                diffs.into_iter().partition(|d| d.expected);
            summary.expected_transformations += expected.len() as u64;
            if !unexpected.is_empty() {
                summary.changed += 1;
                for d in &unexpected {
                    *summary.diffs_by_kind.entry(d.kind).or_default() += 1;
                }
                let mut all = unexpected;
                all.extend(expected);
                problems.push(problem(
                    Class::Matched,
                    Severity::Error,
                    vec![ExportedSide::of(&exported[first])],
                    all,
                ));
            }
            if rows.len() > 1 {
                summary.duplicated += 1;
                let sides = rows
                    .iter()
                    .map(|&r| ExportedSide::of(&exported[r]))
                    .collect();
                problems.push(problem(
                    Class::Duplicated,
                    Severity::Warning,
                    sides,
                    Vec::new(),
                ));
            }
            continue;
        }
        let (class, severity) = match &c.outcome {
            Outcome::Accepted if c.received_ms > options.pending_after_ms => {
                (Class::Pending, Severity::Info)
            }
            Outcome::Accepted => (Class::Missing, Severity::Error),
            Outcome::Rejected { .. } => (Class::Rejected, Severity::Error),
            Outcome::NotForwarded { .. } => (Class::NotForwarded, Severity::Error),
        };
        match class {
            Class::Pending => summary.pending += 1,
            Class::Missing => summary.missing += 1,
            Class::Rejected => summary.rejected += 1,
            _ => summary.not_forwarded += 1,
        }
        problems.push(problem(class, severity, Vec::new(), Vec::new()));
    }

    // Rows of the captured users and devices in the window that nothing matched.
    for (r, row) in exported.iter().enumerate() {
        let in_scope = [row.user_id.as_deref(), row.device_id.as_deref()]
            .into_iter()
            .flatten()
            .any(ours)
            && options
                .window
                .as_ref()
                .is_none_or(|w| row.server_upload_ms().is_none_or(|t| w.contains_ms(t)));
        if !in_scope {
            continue;
        }
        summary.exported_rows_in_scope += 1;
        if used[r] {
            continue;
        }
        summary.extra += 1;
        problems.push(Problem {
            class: Class::Extra,
            severity: Severity::Warning,
            insert_id: row.insert_id.clone(),
            event_type: row.event_type.clone(),
            user_id: row.user_id.clone(),
            device_id: row.device_id.clone(),
            captured: None,
            exported: vec![ExportedSide::of(row)],
            diffs: Vec::new(),
        });
    }
    problems.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.class.cmp(&b.class)));
    Reconciliation {
        window: options.window.map(|w| w.to_string()),
        summary,
        problems,
        omitted: 0,
    }
}

/// Same type, same user or device, client time within the tolerance; the
/// closest unused row wins.
fn match_without_id(
    c: &Captured,
    exported: &[ExportedRow],
    by_actor: &HashMap<(&str, &str), Vec<usize>>,
    used: &[bool],
    tolerance_ms: i64,
) -> Option<usize> {
    let key = (c.event_type.as_deref()?, c.actor()?);
    let t = c.time_ms?;
    by_actor
        .get(&key)?
        .iter()
        .filter(|&&r| !used[r])
        .filter_map(|&r| Some((r, (exported[r].client_event_ms()? - t).abs())))
        .filter(|&(_, gap)| gap <= tolerance_ms)
        .min_by_key(|&(_, gap)| gap)
        .map(|(r, _)| r)
}

/// An exported row as an event, so the plan can judge the exported side too.
pub fn exported_as_event(row: &ExportedRow) -> crate::event::Event {
    let props: Value = row
        .event_properties
        .as_ref()
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or(Value::Null);
    let mut e = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            e.insert(k.to_owned(), v);
        }
    };
    put("event_type", row.event_type.clone().map(Value::from));
    put("user_id", row.user_id.clone().map(Value::from));
    put("device_id", row.device_id.clone().map(Value::from));
    put("insert_id", row.insert_id.clone().map(Value::from));
    put("time", row.client_event_ms().map(Value::from));
    put("event_properties", (!props.is_null()).then_some(props));
    let raw = serde_json::value::to_raw_value(&Value::Object(e))
        .expect("a JSON object always serializes");
    crate::event::Event::from_raw(raw, crate::event::Dialect::V2)
}
