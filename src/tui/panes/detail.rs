//! One event: its JSON as sent (pretty, coloured), required properties that
//! are missing shown as ghost lines where they belong, flagged values
//! highlighted; its findings; the request it came in.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use serde_json::Value;

use crate::plan::{Code, Severity};
use crate::report::expected_actual;
use crate::sanitize::sanitize;
use crate::store::Entry;
use crate::tap::Delivery;
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let Some(entry) = app.focused() else {
        frame.render_widget(
            Paragraph::new("no event selected").block(Block::bordered()),
            area,
        );
        return;
    };
    let wide = layout::is_wide(area);
    let findings = findings_lines(entry, t, !wide);
    let request = request_lines(entry, t);
    let json = json_lines(entry, t);
    let title = format!(
        " {} · request #{} event {} · {} ",
        sanitize(entry.event.event_type().unwrap_or("(no event_type)")),
        entry.request.seq,
        entry.index,
        sanitize(entry.event.insert_id().unwrap_or("no insert_id"))
    );
    let json_block = Block::bordered().title(Span::styled(title, t.title()));
    let json_pane = Paragraph::new(json)
        .block(json_block)
        .scroll((app.detail_scroll, 0));
    let findings_pane = Paragraph::new(findings).block(Block::bordered().title(" Findings "));
    let request_pane = Paragraph::new(request).block(Block::bordered().title(" Request "));
    if wide {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Fill(1)]).areas(area);
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(8)]).areas(right);
        frame.render_widget(json_pane, left);
        frame.render_widget(findings_pane, top);
        frame.render_widget(request_pane, bottom);
    } else {
        let n = entry.findings.len().max(1) as u16 + 2;
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Length(n.min(area.height / 3).max(3)),
            Constraint::Length(5),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(findings_pane, top);
        frame.render_widget(request_pane, middle);
        frame.render_widget(json_pane, bottom);
    }
}

/// One line per finding when `compact` (narrow screens), else two.
fn findings_lines(e: &Entry, t: Theme, compact: bool) -> Vec<Line<'static>> {
    if e.findings.is_empty() {
        return vec![Line::styled("✓ no findings", t.ok())];
    }
    e.findings
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

fn request_lines(e: &Entry, t: Theme) -> Vec<Line<'static>> {
    let r = &e.request;
    let how = match &r.delivery {
        Delivery::Forwarded { latency_ms, .. } => format!("forwarded, {latency_ms:.1} ms"),
        Delivery::Offline => "answered offline".to_owned(),
        Delivery::Failed { error, .. } => format!("NOT FORWARDED: {}", sanitize(error)),
        Delivery::Refused { reason } => format!("refused: {}", sanitize(reason)),
    };
    let status_style = if r.status >= 400 { t.error() } else { t.ok() };
    vec![
        Line::from(vec![
            Span::raw(format!("#{} POST {} → ", r.seq, sanitize(&r.path))),
            Span::styled(r.status.to_string(), status_style),
            Span::raw(format!(" · {how}")),
        ]),
        Line::styled(format!("answer: {}", sanitize(&r.answer_body)), t.dim()),
        Line::styled(
            format!(
                "{} in the request · from {} · key {}{}",
                if r.event_count == 1 {
                    "1 event".to_owned()
                } else {
                    format!("{} events", r.event_count)
                },
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

/// Paths a finding points at, with the finding's severity.
fn flagged_paths(e: &Entry) -> BTreeMap<String, Severity> {
    let mut m = BTreeMap::new();
    for f in &e.findings {
        // Absences have no value to mark (they become ghost lines); drift is shaded apart.
        let absent = matches!(
            f.code,
            Code::MissingProperty | Code::MissingId | Code::MissingEventType | Code::TypeDrift
        );
        if !absent {
            m.entry(f.path.clone())
                .and_modify(|s: &mut Severity| *s = (*s).max(f.severity))
                .or_insert(f.severity);
        }
    }
    m
}

/// Required properties that are absent: parent path → (name, what was expected).
fn ghosts(e: &Entry) -> BTreeMap<String, Vec<(String, String)>> {
    let mut m: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for f in e
        .findings
        .iter()
        .filter(|f| f.code == Code::MissingProperty)
    {
        if let Some((parent, name)) = f.path.rsplit_once('.') {
            m.entry(parent.to_owned())
                .or_default()
                .push((name.to_owned(), f.expected.clone().unwrap_or_default()));
        }
    }
    m
}

struct Printer<'a> {
    t: Theme,
    flagged: BTreeMap<String, Severity>,
    ghosts: BTreeMap<String, Vec<(String, String)>>,
    drift: BTreeSet<&'a str>,
    lines: Vec<Line<'static>>,
}

/// The event pretty-printed as lines, keys in the order serde_json keeps them.
pub fn json_lines(e: &Entry, t: Theme) -> Vec<Line<'static>> {
    let mut p = Printer {
        t,
        flagged: flagged_paths(e),
        ghosts: ghosts(e),
        drift: e
            .findings
            .iter()
            .filter(|f| f.code == Code::TypeDrift)
            .map(|f| f.path.as_str())
            .collect(),
        lines: Vec::new(),
    };
    p.value(e.event.json(), "", 0, None, false);
    p.lines
}

impl Printer<'_> {
    fn value(&mut self, v: &Value, path: &str, indent: usize, key: Option<&str>, comma: bool) {
        let pad = "  ".repeat(indent);
        let mut head = vec![Span::raw(pad.clone())];
        if let Some(k) = key {
            head.push(Span::styled(format!("\"{}\"", sanitize(k)), self.t.key()));
            head.push(Span::raw(": "));
        }
        let end = if comma { "," } else { "" };
        match v {
            Value::Object(map) => {
                head.push(Span::raw("{"));
                self.lines.push(Line::from(head));
                let ghosts = self.ghosts.remove(path).unwrap_or_default();
                let n = map.len();
                for (i, (k, child)) in map.iter().enumerate() {
                    let child_path = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.value(
                        child,
                        &child_path,
                        indent + 1,
                        Some(k),
                        i + 1 < n || !ghosts.is_empty(),
                    );
                }
                for (i, (name, expected)) in ghosts.iter().enumerate() {
                    let sep = if i + 1 < ghosts.len() { "," } else { "" };
                    self.lines.push(Line::styled(
                        format!(
                            "{pad}  \"{}\": ‹missing: {}›{sep}",
                            sanitize(name),
                            sanitize(expected)
                        ),
                        self.t.ghost(),
                    ));
                }
                if path.is_empty() {
                    // Required properties of an event sent with no event_properties at all.
                    if let Some(missing) = self.ghosts.remove("event_properties") {
                        self.lines.push(Line::styled(
                            format!("{pad}  \"event_properties\": ‹missing›"),
                            self.t.ghost(),
                        ));
                        for (name, expected) in missing {
                            self.lines.push(Line::styled(
                                format!(
                                    "{pad}    \"{}\": ‹missing: {}›",
                                    sanitize(&name),
                                    sanitize(&expected)
                                ),
                                self.t.ghost(),
                            ));
                        }
                    }
                }
                self.lines.push(Line::raw(format!("{pad}}}{end}")));
            }
            Value::Array(items) if !items.is_empty() => {
                head.push(Span::raw("["));
                self.lines.push(Line::from(head));
                let n = items.len();
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &format!("{path}[{i}]"), indent + 1, None, i + 1 < n);
                }
                self.lines.push(Line::raw(format!("{pad}]{end}")));
            }
            scalar => {
                let text = match scalar {
                    Value::String(s) => format!("\"{}\"", sanitize(s)),
                    other => other.to_string(),
                };
                let style = match (self.flagged.get(path), scalar) {
                    (Some(_), _) => self.t.flagged(),
                    (None, _) if self.drift.contains(path) => self.t.warning(),
                    (None, Value::String(_)) => self.t.string(),
                    (None, Value::Number(_)) => self.t.number(),
                    (None, Value::Bool(_) | Value::Null) => self.t.literal(),
                    (None, _) => Style::default(),
                };
                head.push(Span::styled(text, style));
                head.push(Span::raw(end));
                if let Some(sev) = self.flagged.get(path) {
                    let mark = if *sev == Severity::Error {
                        " ✗"
                    } else {
                        " ⚠"
                    };
                    head.push(Span::styled(
                        mark,
                        if *sev == Severity::Error {
                            self.t.error()
                        } else {
                            self.t.warning()
                        },
                    ));
                }
                self.lines.push(Line::from(head));
            }
        }
    }
}
