//! Event types: every type seen or planned, with its events, problems,
//! errors and problem rate (the view to open first when a plan has fifty
//! types); per planned property of the selected type, how often it came,
//! null, or mistyped. Enter filters the stream to the type.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Row, Table, TableState};
use ratatui::Frame;

use crate::sanitize::sanitize;
use crate::store::TypeLine;
use crate::tui::app::App;
use crate::tui::columns::display_width;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let c = app.store.counters();
    let types = c.types(app.type_order);
    let [types_area, props_area] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Fill(1)]).areas(area);
    let selected = types.get(app.coverage_row).map(|l| l.name);
    let planned = app.session.plan.is_some();
    let rows: Vec<Row> = types
        .iter()
        .map(|line| type_row(line, planned, app))
        .collect();
    // The numbers stay beside the names: the name column is as wide as the
    // longest name, up to what the numbers leave.
    const NUMBERS: u16 = 11 + 7 + 8 + 6 + 5 + 9 + 6;
    let room = types_area.width.saturating_sub(2 + NUMBERS).max(12);
    let name_width = types
        .iter()
        .map(|l| display_width(&sanitize(l.name)))
        .chain([10])
        .max()
        .unwrap_or(10)
        .min(usize::from(room)) as u16;
    let seen_planned = c
        .coverage
        .keys()
        .filter(|k| c.by_type.contains_key(*k))
        .count();
    let title = match planned {
        true => format!(
            " Event types: {} · planned seen {seen_planned}/{} · by {} (s) ",
            types.len(),
            c.coverage.len(),
            app.type_order.name()
        ),
        false => format!(
            " Event types: {} · by {} (s) · no plan (--plan FILE) ",
            types.len(),
            app.type_order.name()
        ),
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(name_width),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new([
            "event type".to_owned(),
            "plan".to_owned(),
            format!("{:>7}", "events"),
            format!("{:>8}", "problems"),
            format!("{:>6}", "errors"),
            format!("{:>5}", "rate"),
            "last seen".to_owned(),
        ])
        .style(t.dim()),
    )
    .block(Block::bordered().title(Span::styled(title, t.title())))
    .row_highlight_style(t.selected());
    // The state scrolls the selected type into view (the table builds only visible rows).
    let mut state = TableState::default().with_selected(Some(app.coverage_row));
    frame.render_stateful_widget(table, types_area, &mut state);
    properties(frame, app, props_area, selected);
}

fn type_row<'a>(line: &TypeLine<'_>, planned: bool, app: &App) -> Row<'a> {
    let t = app.theme;
    let counts = &line.counts;
    let seen = match counts.last_seen {
        Some(when) => format!("{} ago", age((app.now - when).whole_seconds())),
        None => "never".to_owned(),
    };
    let style = match (counts.events, counts.with_findings) {
        (0, _) => t.dim(),
        (_, 0) => t.ok(),
        _ if counts.with_errors > 0 => t.error(),
        _ => t.warning(),
    };
    let plan = match (planned, line.planned, counts.events) {
        (false, _, _) => "—",
        (true, true, 0) => "never seen",
        (true, true, _) => "planned",
        (true, false, _) => "not in plan",
    };
    let rate = match counts.events {
        0 => "—".to_owned(),
        _ => format!("{:.0}%", 100.0 * line.problem_rate()),
    };
    Row::new(vec![
        Span::styled(sanitize(line.name).into_owned(), style),
        Span::raw(plan),
        Span::raw(format!("{:>7}", counts.events)),
        Span::raw(format!("{:>8}", counts.with_findings)),
        Span::raw(format!("{:>6}", counts.with_errors)),
        Span::raw(format!("{rate:>5}")),
        Span::raw(seen),
    ])
}

/// Per planned property of the selected type: how often it came, null, mistyped.
fn properties(frame: &mut Frame, app: &App, area: Rect, selected: Option<&str>) {
    let t = app.theme;
    let c = app.store.counters();
    let mut prop_rows = Vec::new();
    if let Some(name) = selected {
        let events = c.by_type.get(name).map_or(0, |n| n.events);
        let pct = |n: u64| {
            if events == 0 {
                "—".to_owned()
            } else {
                format!("{:.0}%", 100.0 * n as f64 / events as f64)
            }
        };
        for (prop, counts) in c.coverage.get(name).into_iter().flatten() {
            let style = if counts.type_errors > 0 || (events > 0 && counts.present < events) {
                t.warning()
            } else {
                t.ok()
            };
            prop_rows.push(Row::new(vec![
                Span::styled(sanitize(prop).into_owned(), style),
                Span::raw(pct(counts.present)),
                Span::raw(pct(counts.null)),
                Span::raw(counts.type_errors.to_string()),
            ]));
        }
    }
    let props_title = match selected {
        Some(name) if c.coverage.contains_key(name) => {
            format!(" Planned properties of {} ", sanitize(name))
        }
        Some(name) if app.session.plan.is_some() => {
            format!(
                " {} is not in the plan: no planned properties ",
                sanitize(name)
            )
        }
        _ => " Planned properties (load a plan with --plan FILE) ".to_owned(),
    };
    let props = Table::new(
        prop_rows,
        [
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(12),
        ],
    )
    .header(Row::new(["property", "present", "null", "type errors"]).style(t.dim()))
    .block(Block::bordered().title(props_title));
    frame.render_widget(props, area);
}

/// `12s`, `4m`, `3h`, `2d`.
pub fn age(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
