//! Reconcile: captured × Amplitude's export, run in the background. A gauge
//! while it downloads; then the problems by class and, for the selected
//! one, both sides next to each other.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use serde_json::Value;

use crate::reconcile::{Class, Outcome, Problem};
use crate::sanitize::sanitize;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let state = &app.reconcile;
    if state.running {
        let [top, rest] =
            Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(area);
        let p = &state.progress;
        let ratio = p
            .total
            .filter(|&t| t > 0)
            .map_or(0.0, |t| (p.bytes as f64 / t as f64).clamp(0.0, 1.0));
        let label = format!(
            "{} · {:.1} MB{}",
            p.state,
            p.bytes as f64 / 1_048_576.0,
            if p.attempt > 1 {
                format!(" (try {})", p.attempt)
            } else {
                String::new()
            }
        );
        frame.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(label)
                .gauge_style(t.key())
                .block(Block::bordered().title(" Reconciling with Amplitude's export ")),
            top,
        );
        frame.render_widget(
            Paragraph::new(
                "The tap keeps capturing meanwhile; r again when it is done to refresh.",
            )
            .style(t.dim()),
            rest,
        );
        return;
    }
    if let Some(error) = &state.error {
        let text = vec![
            Line::styled(format!("✗ {}", sanitize(error)), t.error()),
            Line::raw(""),
            Line::styled("Fix it and press r to try again.", t.dim()),
        ];
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(" Reconcile ")),
            area,
        );
        return;
    }
    let Some(rec) = state.report.as_ref().map(|r| &r.reconcile) else {
        frame.render_widget(
            Paragraph::new(
                "Press r to compare what was captured with what Amplitude stored (Export API).",
            )
            .block(Block::bordered().title(" Reconcile ")),
            area,
        );
        return;
    };
    let s = &rec.summary;
    // Narrow terminals wrap the summary onto a second line rather than cut classes off.
    let summary_height = if area.width < 150 { 4 } else { 3 };
    let [summary_area, list_area, detail_area] = Layout::vertical([
        Constraint::Length(summary_height),
        Constraint::Percentage(45),
        Constraint::Fill(1),
    ])
    .areas(area);
    let summary = Line::from(vec![
        Span::raw(format!(
            "captured {} · matched {} · ",
            s.captured, s.matched
        )),
        Span::styled(
            format!(
                "missing {} · rejected {} · not forwarded {} · changed {}",
                s.missing, s.rejected, s.not_forwarded, s.changed
            ),
            if s.missing + s.rejected + s.not_forwarded + s.changed > 0 {
                t.error()
            } else {
                t.ok()
            },
        ),
        Span::raw(format!(
            " · duplicated {} · extra {} · pending {} · changed as Amplitude documents {}",
            s.duplicated, s.extra, s.pending, s.expected_transformations
        )),
    ]);
    let title = format!(" Reconcile {} ", rec.window.as_deref().unwrap_or(""));
    frame.render_widget(
        Paragraph::new(summary)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(Span::styled(title, t.title()))),
        summary_area,
    );

    let shown = state.shown();
    let rows: Vec<Row> = shown
        .iter()
        .map(|p| {
            let style = match p.class {
                Class::Missing | Class::Rejected | Class::NotForwarded | Class::Matched => {
                    t.error()
                }
                Class::Duplicated | Class::Extra => t.warning(),
                Class::Pending => t.dim(),
            };
            Row::new(vec![
                Span::styled(
                    if p.class == Class::Matched {
                        "changed".to_owned()
                    } else {
                        p.class.to_string()
                    },
                    style,
                ),
                Span::raw(sanitize(p.event_type.as_deref().unwrap_or("")).into_owned()),
                Span::raw(
                    sanitize(
                        p.user_id
                            .as_deref()
                            .or(p.device_id.as_deref())
                            .unwrap_or(""),
                    )
                    .into_owned(),
                ),
                Span::raw(sanitize(p.insert_id.as_deref().unwrap_or("")).into_owned()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Fill(1),
            Constraint::Length(18),
            // Narrow screens show the start of the id; the rest is in the export.
            Constraint::Length(if crate::tui::layout::is_wide(area) {
                38
            } else {
                14
            }),
        ],
    )
    .header(Row::new(["class", "event type", "user / device", "insert_id"]).style(t.dim()))
    .row_highlight_style(t.selected())
    .block(Block::bordered().title(match state.class {
        None => format!(
            " {} problems · f one class · Enter the event as sent · x exports ",
            rec.problems.len()
        ),
        Some(class) => format!(
            " {} {} of {} problems · f next class ",
            shown.len(),
            class.as_str(),
            rec.problems.len()
        ),
    }));
    let mut table_state =
        TableState::default().with_selected((!shown.is_empty()).then_some(state.row));
    frame.render_stateful_widget(table, list_area, &mut table_state);

    match shown.get(state.row).copied() {
        Some(p) => side_by_side(frame, app, p, detail_area),
        None => {
            let mut lines = vec![Line::styled(
                "✓ every captured event is in Amplitude as sent",
                t.ok(),
            )];
            lines.extend(
                state
                    .notes
                    .iter()
                    .map(|n| Line::styled(sanitize(n).into_owned(), t.dim())),
            );
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: true })
                    .block(Block::bordered()),
                detail_area,
            );
        }
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "—".into(),
        Some(Value::String(s)) => format!("{:?}", sanitize(s)),
        Some(other) => sanitize(&other.to_string()).into_owned(),
    }
}

/// The selected problem: what was sent on the left, what Amplitude has on the right.
fn side_by_side(frame: &mut Frame, app: &App, p: &Problem, area: Rect) {
    let t = app.theme;
    let [head, body] = Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(area);
    let sent = match &p.captured {
        Some(c) => {
            let outcome = match &c.outcome {
                Outcome::Accepted => "accepted by Amplitude".to_owned(),
                Outcome::Rejected { status, reason } => format!("rejected {status}: {reason}"),
                Outcome::NotForwarded { reason } => reason.clone(),
            };
            format!(
                "sent: request #{} event {} · {} · {}",
                c.seq,
                c.index,
                if c.attempts > 1 {
                    format!("{} tries", c.attempts)
                } else {
                    "1 try".into()
                },
                outcome
            )
        }
        None => "sent: never captured".into(),
    };
    let stored = if p.exported.is_empty() {
        "in Amplitude: not in the export".to_owned()
    } else {
        let rows: Vec<String> = p
            .exported
            .iter()
            .map(|e| {
                format!(
                    "{} uploaded {}",
                    e.uuid.as_deref().unwrap_or("?"),
                    e.server_upload_time.as_deref().unwrap_or("?")
                )
            })
            .collect();
        format!("in Amplitude: {}", rows.join("; "))
    };
    let head_lines = vec![
        Line::raw(sanitize(&sent).into_owned()),
        Line::raw(sanitize(&stored).into_owned()),
    ];
    frame.render_widget(Paragraph::new(head_lines).block(Block::default()), head);
    let rows: Vec<Row> = p
        .diffs
        .iter()
        .map(|d| {
            let style = if d.expected { t.dim() } else { t.warning() };
            Row::new(vec![
                Span::styled(sanitize(&d.path).into_owned(), style),
                Span::raw(show(&d.captured)),
                Span::raw(show(&d.exported)),
                Span::styled(
                    format!("{}{}", d.kind, if d.expected { " (expected)" } else { "" }),
                    style,
                ),
            ])
        })
        .collect();
    let diff = Table::new(
        rows,
        [
            Constraint::Percentage(30),
            Constraint::Percentage(25),
            Constraint::Percentage(25),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["field", "sent", "in Amplitude", "difference"]).style(t.dim()))
    .block(Block::bordered().title(format!(" {} ", p.class.help())));
    frame.render_widget(diff, body);
}
