//! An event pretty-printed for the detail view: keys in the order sent,
//! values a finding points at marked, required properties that are absent
//! shown as ghost lines where they belong.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use serde_json::Value;

use crate::event::Event;
use crate::plan::{Code, Finding, Severity};
use crate::sanitize::sanitize;
use crate::tui::theme::Theme;

/// Paths a finding points at, with the finding's severity.
fn flagged_paths(findings: &[Finding]) -> BTreeMap<String, Severity> {
    let mut m = BTreeMap::new();
    for f in findings {
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
fn ghosts(findings: &[Finding]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut m: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.code == Code::MissingProperty) {
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
pub fn json_lines(event: &Event, findings: &[Finding], t: Theme) -> Vec<Line<'static>> {
    let mut p = Printer {
        t,
        flagged: flagged_paths(findings),
        ghosts: ghosts(findings),
        drift: findings
            .iter()
            .filter(|f| f.code == Code::TypeDrift)
            .map(|f| f.path.as_str())
            .collect(),
        lines: Vec::new(),
    };
    p.value(event.json(), "", 0, None, false);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Dialect;
    use crate::plan::{EventContext, Plan, Validator};

    #[test]
    fn a_misnamed_key_is_marked_on_its_line() {
        let raw = serde_json::value::RawValue::from_string(
            r#"{"event_type":"a","userId":"user-12345","timestamp":"2024-05-01T10:00:00Z"}"#
                .to_owned(),
        )
        .expect("json");
        let event = Event::from_raw(raw, Dialect::V2);
        let plan = Plan::none();
        let mut findings = Vec::new();
        let ctx = EventContext {
            received_ms: 1_714_557_600_000,
            seq: 1,
            delivered: true,
            min_id_length: None,
        };
        Validator::new(&plan).check(&event, &ctx, &mut findings);
        let lines = json_lines(&event, &findings, Theme { color: false });
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        for key in ["\"timestamp\"", "\"userId\""] {
            let line = text
                .iter()
                .find(|l| l.contains(key))
                .expect("the key's line");
            assert!(line.ends_with('✗'), "{line}");
        }
    }

    /// A family emoji is five code points joined by ZWJ: on screen it stays
    /// one whole cluster, however the line wraps (escapes from the Python
    /// SDK included).
    #[test]
    fn a_zwj_emoji_keeps_every_code_point_on_screen() {
        use ratatui::widgets::{Paragraph, Wrap};
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        for raw in [
            format!(r#"{{"event_type":"a","event_properties":{{"who":"{family} family {family}"}}}}"#),
            r#"{"event_type":"a","event_properties":{"who":"\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67"}}"#.to_owned(),
        ] {
            let event = Event::from_raw(
                serde_json::value::RawValue::from_string(raw).expect("json"),
                Dialect::V2,
            );
            let lines = json_lines(&event, &[], Theme { color: false });
            for width in [12u16, 20, 40] {
                let mut terminal =
                    ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, 12))
                        .expect("terminal");
                terminal
                    .draw(|f| {
                        let p = Paragraph::new(lines.clone()).wrap(Wrap { trim: false });
                        f.render_widget(p, f.area());
                    })
                    .expect("draw");
                let buffer = terminal.backend().buffer();
                let whole = buffer.content().iter().filter(|c| c.symbol() == family).count();
                let broken = buffer
                    .content()
                    .iter()
                    .filter(|c| c.symbol() != family && c.symbol().contains('\u{200D}'))
                    .count();
                assert!(whole >= 1 && broken == 0, "width {width}: {whole} whole, {broken} broken");
            }
        }
    }
}
