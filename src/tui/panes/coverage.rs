//! Plan coverage: per planned event type, whether and how it was seen; per
//! property of the selected type, how often it came, null, or mistyped.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use crate::sanitize::sanitize;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let c = app.store.counters();
    if app.session.plan.is_none() {
        let text = vec![
            Line::styled("No plan loaded: run with --plan FILE to see which planned events and properties arrive.", t.dim()),
            Line::raw(""),
            Line::raw(format!("{} event types seen so far.", c.by_type.len())),
        ];
        frame.render_widget(
            Paragraph::new(text).block(Block::bordered().title(" Plan coverage ")),
            area,
        );
        return;
    }
    let [types_area, props_area, foot] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Fill(1),
        Constraint::Length(3),
    ])
    .areas(area);

    let selected = c.coverage.keys().nth(app.coverage_row);
    let rows: Vec<Row> = c
        .coverage
        .keys()
        .map(|name| {
            let counts = c.by_type.get(name).cloned().unwrap_or_default();
            let seen = match counts.last_seen {
                Some(when) => format!("{} ago", age((app.now - when).whole_seconds())),
                None => "never".to_owned(),
            };
            let style = match (counts.events, counts.with_findings) {
                (0, _) => t.dim(),
                (_, 0) => t.ok(),
                _ => t.warning(),
            };
            Row::new(vec![
                Span::styled(sanitize(name).into_owned(), style),
                Span::raw(counts.events.to_string()),
                Span::raw(counts.with_findings.to_string()),
                Span::raw(seen),
            ])
        })
        .collect();
    let seen_planned = c
        .coverage
        .keys()
        .filter(|k| c.by_type.contains_key(*k))
        .count();
    let title = format!(
        " Planned event types: {seen_planned} of {} seen (Enter: show its events) ",
        c.coverage.len()
    );
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(8),
            Constraint::Length(14),
            Constraint::Length(12),
        ],
    )
    .header(Row::new(["event type", "seen", "with findings", "last seen"]).style(t.dim()))
    .block(Block::bordered().title(Span::styled(title, t.title())))
    .row_highlight_style(t.selected());
    // The state scrolls the selected type into view (the table builds only visible rows).
    let mut state = TableState::default().with_selected(Some(app.coverage_row));
    frame.render_stateful_widget(table, types_area, &mut state);

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
        for (prop, counts) in &c.coverage[name] {
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
    let props_title = format!(
        " Properties of {} ",
        selected.map_or("—".into(), |s| sanitize(s).into_owned())
    );
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
    frame.render_widget(props, props_area);

    let never: Vec<String> = c
        .coverage
        .keys()
        .filter(|k| !c.by_type.contains_key(*k))
        .map(|k| sanitize(k).into_owned())
        .collect();
    let mut unplanned: Vec<(&String, u64)> = c
        .by_type
        .iter()
        .filter(|(k, _)| !c.coverage.contains_key(*k))
        .map(|(k, v)| (k, v.events))
        .collect();
    unplanned.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let unplanned: Vec<String> = unplanned
        .iter()
        .map(|(k, n)| format!("{} ({n})", sanitize(k)))
        .collect();
    let foot_text = vec![
        Line::from(vec![
            Span::styled("planned, never seen: ", t.dim()),
            Span::raw(list(&never)),
        ]),
        Line::from(vec![
            Span::styled("seen, not in the plan: ", t.dim()),
            Span::raw(list(&unplanned)),
        ]),
    ];
    frame.render_widget(Paragraph::new(foot_text).block(Block::default()), foot);
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
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
