//! One row: its event as sent (see `json_view`), or for a request without
//! readable events the reason and the body as received; its findings; the
//! request it came in. The request is read back from its journal line in
//! the background: until it arrives the pane says so.

use std::sync::Arc;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::json_view::json_lines;
use crate::plan::{Finding, Severity};
use crate::record::Record;
use crate::report::expected_actual;
use crate::sanitize::sanitize;
use crate::store::RowRef;
use crate::tap::Delivery;
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let Some(row) = app.focused() else {
        frame.render_widget(
            Paragraph::new("no event selected").block(Block::bordered()),
            area,
        );
        return;
    };
    let record = match app.focused_record() {
        Some(Ok(record)) => Ok(record),
        Some(Err(e)) => Err(format!("cannot read this request back: {}", sanitize(e))),
        None => Err("reading the request from the journal…".to_owned()),
    };
    let wide = layout::is_wide(area);
    let findings = findings_lines(row.findings(), t, !wide);
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    let findings_height: usize = findings
        .iter()
        .map(|l| l.width().div_ceil(inner).max(1))
        .sum();
    let request = request_lines(&row, record.as_ref().ok().copied(), t);
    let event = record.as_ref().ok().and_then(|r| r.events.get(row.index()));
    // Where this row is among what the filter shows: "3/22".
    let position = match app.view.focus_row() {
        Some(i) => format!(" {}/{} ·", i + 1, app.view.len()),
        None => String::new(),
    };
    let (title, body) = match (&record, event) {
        (_, Some(event)) => (
            format!(
                "{position} {} · request #{} event {} · {} ",
                sanitize(event.event_type().unwrap_or("(no event_type)")),
                row.request.seq,
                row.index(),
                sanitize(event.insert_id().unwrap_or("no insert_id"))
            ),
            highlight(json_lines(event, row.findings(), t), app),
        ),
        (Ok(record), None) => (
            format!(
                "{position} {} · request #{} ",
                sanitize(&record.request_line()),
                record.seq
            ),
            problem_lines(record, t),
        ),
        (Err(message), None) => (
            format!(" request #{} ", row.request.seq),
            vec![Line::styled(message.clone(), t.dim())],
        ),
    };
    let json_block = Block::bordered().title(Span::styled(title, t.title()));
    let json_pane = Paragraph::new(body)
        .block(json_block)
        .wrap(Wrap { trim: false })
        .scroll((app.detail_scroll, 0));
    let relay = record
        .as_ref()
        .ok()
        .and_then(|r| r.relay.as_ref())
        .filter(|_| event.is_some());
    let json_pane = RelayedPane {
        event: json_pane,
        source: relay.map(|note| source_pane(note, app)),
    };
    let findings_pane = Paragraph::new(findings)
        .block(Block::bordered().title(" Findings "))
        .wrap(Wrap { trim: false });
    let request_pane = Paragraph::new(request)
        .block(Block::bordered().title(" Request "))
        .wrap(Wrap { trim: false });
    if wide {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Fill(1)]).areas(area);
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(8)]).areas(right);
        frame.render_widget(json_pane, left);
        frame.render_widget(findings_pane, top);
        frame.render_widget(request_pane, bottom);
    } else {
        let n = u16::try_from(findings_height)
            .unwrap_or(u16::MAX)
            .saturating_add(2);
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Length(n.min(area.height / 2).max(3)),
            Constraint::Length(5),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(findings_pane, top);
        frame.render_widget(request_pane, middle);
        frame.render_widget(json_pane, bottom);
    }
}

/// Marks what the filter's free text and the find text matched, so the eye finds it.
fn highlight(lines: Vec<Line<'static>>, app: &App) -> Vec<Line<'static>> {
    let find = app
        .find
        .as_deref()
        .and_then(|f| regex::Regex::new(&format!("(?i){}", regex::escape(f))).ok());
    let patterns: Vec<&regex::Regex> = app
        .view
        .filter()
        .text_patterns()
        .chain(find.as_ref())
        .collect();
    if patterns.is_empty() {
        return lines;
    }
    let mark = app.theme.selected();
    lines
        .into_iter()
        .map(|line| {
            let style = line.style;
            let spans = line.spans.into_iter().flat_map(|span| {
                let text = span.content.into_owned();
                let mut cuts: Vec<(usize, usize)> = patterns
                    .iter()
                    .flat_map(|re| re.find_iter(&text).map(|m| (m.start(), m.end())))
                    .filter(|(a, b)| a < b)
                    .collect();
                cuts.sort_unstable();
                let mut out = Vec::new();
                let mut at = 0;
                for (start, end) in cuts {
                    if start < at {
                        continue; // overlaps the last mark
                    }
                    if start > at {
                        out.push(Span::styled(text[at..start].to_owned(), span.style));
                    }
                    out.push(Span::styled(
                        text[start..end].to_owned(),
                        span.style.patch(mark),
                    ));
                    at = end;
                }
                if at < text.len() {
                    out.push(Span::styled(text[at..].to_owned(), span.style));
                }
                out
            });
            Line::from(spans.collect::<Vec<_>>()).style(style)
        })
        .collect()
}

/// A relayed event beside the app's record it was made from.
struct RelayedPane<'a> {
    event: Paragraph<'a>,
    source: Option<Paragraph<'a>>,
}

impl ratatui::widgets::Widget for RelayedPane<'_> {
    fn render(self, area: Rect, buf: &mut ratatui::buffer::Buffer) {
        let Some(source) = self.source else {
            self.event.render(area, buf);
            return;
        };
        let [left, right] = if area.width >= 100 {
            Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(area)
        } else {
            Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(area)
        };
        self.event.render(left, buf);
        source.render(right, buf);
    }
}

/// The app's record as the relay received it, pretty, with what was coerced.
fn source_pane<'a>(note: &crate::record::RelayNote, app: &App) -> Paragraph<'a> {
    let t = app.theme;
    let pretty = serde_json::from_str::<serde_json::Value>(&note.record)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| note.record.clone());
    let mut lines: Vec<Line<'static>> = pretty
        .lines()
        .map(|l| Line::raw(sanitize(l).into_owned()))
        .collect();
    for c in &note.coerced {
        lines.push(Line::styled(format!("↳ {}", sanitize(c)), t.dim()));
    }
    Paragraph::new(highlight(lines, app))
        .wrap(Wrap { trim: false })
        .scroll((app.detail_scroll, 0))
        .block(Block::bordered().title(Span::styled(
            format!(
                " relayed from {}: the app's record ",
                sanitize(&note.source)
            ),
            t.title(),
        )))
}

/// A request without readable events: why, and what was sent.
fn problem_lines(record: &Record, t: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(problem) = &record.problem {
        lines.push(Line::styled(
            format!("{}: {}", problem.kind.as_str(), sanitize(&problem.reason)),
            t.error(),
        ));
    }
    match &record.body {
        Some(body) => {
            let note = if body.truncated {
                ", cut at 64 KiB"
            } else {
                ""
            };
            lines.push(Line::styled(
                format!(
                    "body as received ({} bytes{note}; api keys masked):",
                    record.body_bytes
                ),
                t.dim(),
            ));
            lines.extend(
                body.text()
                    .lines()
                    .map(|l| Line::raw(sanitize(l).into_owned())),
            );
        }
        None => lines.push(Line::styled("no body was received", t.dim())),
    }
    lines
}

/// One line per finding when `compact` (narrow screens), else two.
fn findings_lines(findings: &[Finding], t: Theme, compact: bool) -> Vec<Line<'static>> {
    if findings.is_empty() {
        return vec![Line::styled("✓ no findings", t.ok())];
    }
    findings
        .iter()
        .flat_map(|f| {
            let (mark, style) = match f.severity {
                Severity::Error => ("✗", t.error()),
                Severity::Warning => ("⚠", t.warning()),
                Severity::Info => ("·", t.dim()),
            };
            let head = vec![
                Span::styled(format!("{mark} {} ", f.code), style),
                Span::styled(sanitize(&f.path).into_owned(), t.key()),
            ];
            let detail = sanitize(&expected_actual(f)).into_owned();
            if compact {
                let mut line = head;
                line.push(Span::styled(format!(" — {detail}"), t.dim()));
                vec![Line::from(line)]
            } else {
                vec![
                    Line::from(head),
                    Line::styled(format!("    {detail}"), t.dim()),
                ]
            }
        })
        .collect()
}

fn request_lines(row: &RowRef<'_>, record: Option<&Arc<Record>>, t: Theme) -> Vec<Line<'static>> {
    let status = row.request.status;
    let status_style = if status >= 400 { t.error() } else { t.ok() };
    let first = Line::from(vec![
        Span::raw(format!(
            "#{} {} {} → ",
            row.request.seq,
            sanitize(row.method()),
            sanitize(row.path())
        )),
        Span::styled(status.to_string(), status_style),
    ]);
    let Some(r) = record else {
        return vec![first];
    };
    let how = match &r.delivery {
        Delivery::Forwarded { latency_ms, .. } => format!("forwarded, {latency_ms:.1} ms"),
        Delivery::Offline => "answered offline".to_owned(),
        Delivery::Failed { error, .. } => format!("NOT FORWARDED: {}", sanitize(error)),
        Delivery::Refused { reason } => format!("refused: {}", sanitize(reason)),
        Delivery::Queued => "taken by the relay (202); its outbox sends it".to_owned(),
    };
    let mut first = first;
    first.push_span(Span::raw(format!(" · {how}")));
    let events = match r.events.len() {
        1 => "1 event".to_owned(),
        n => format!("{n} events"),
    };
    vec![
        first,
        Line::styled(format!("answer: {}", sanitize(&r.answer.body)), t.dim()),
        Line::styled(
            format!(
                "{events} in the request · from {} · key {}{}",
                sanitize(&r.client),
                r.api_key.as_deref().unwrap_or("—"),
                r.tag
                    .as_deref()
                    .map(|t| format!(" · tag {}", sanitize(t)))
                    .unwrap_or_default()
            ),
            t.dim(),
        ),
    ]
}
