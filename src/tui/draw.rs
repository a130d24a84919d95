//! `draw(frame, &App)`: reads the state, never changes it. Only the visible
//! slice of anything long is built.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{App, Screen};
use super::input::InputKind;
use super::layout;
use super::panes;
use crate::sanitize::sanitize;

pub fn draw(frame: &mut Frame, app: &App) {
    let areas = layout::areas(frame.area());
    header(frame, app, areas.header);
    match app.screen {
        Screen::Stream => {
            let (stream, detail) = layout::stream_and_detail(areas.main, app.split_view());
            panes::stream::draw(frame, app, stream);
            if let Some(detail) = detail {
                panes::detail::draw(frame, app, detail);
            }
        }
        Screen::Detail => panes::detail::draw(frame, app, areas.main),
        Screen::Coverage => panes::coverage::draw(frame, app, areas.main),
        Screen::Stats => panes::stats::draw(frame, app, areas.main),
        Screen::Reconcile => panes::reconcile::draw(frame, app, areas.main),
        Screen::Help => panes::help::draw(frame, app, areas.main),
    }
    bar(frame, app, areas.bar);
    status(frame, app, areas.status);
}

fn header(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let mut spans = vec![Span::styled(" amptap ", t.title())];
    // Narrow: only the current screen says its name, so the counts fit.
    let compact = area.width < 110;
    for (screen, label) in [
        (Screen::Stream, "1 Stream"),
        (Screen::Coverage, "2 Types"),
        (Screen::Stats, "3 Stats"),
        (Screen::Reconcile, "r Reconcile"),
    ] {
        let current =
            app.screen == screen || (screen == Screen::Stream && app.screen == Screen::Detail);
        let style = if current { t.selected() } else { t.dim() };
        let label = match label.split_once(' ') {
            Some((key, _)) if compact && !current => key,
            _ => label,
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {label} "), style));
    }
    let c = app.store.counters();
    if let Some(why) = &app.journal_error {
        // Above everything else: SDKs are being answered 503 right now.
        let text = format!(
            "  ✗ JOURNAL NOT WRITABLE ({}): SDKs get 503 ",
            sanitize(why)
        );
        spans.push(Span::styled(text, t.error()));
    }
    let live = match app.view.paused() {
        Some(n) => format!("  ⏸ paused, {n} arrived"),
        None if app.session.listen.is_some() => {
            format!("  ● live {:.0} ev/s", panes::stats::rate(app, 5))
        }
        None if app.feed_done => "  ■ read".to_owned(),
        None => "  … reading".to_owned(),
    };
    spans.push(Span::raw(live));
    let noun = if c.events == 1 { "event" } else { "events" };
    spans.push(Span::raw(format!("  {} {noun} ", c.events)));
    spans.push(Span::styled(format!("✗ {}", c.by_status[2]), t.error()));
    spans.push(Span::raw(" "));
    spans.push(Span::styled(format!("⚠ {}", c.by_status[1]), t.warning()));
    if let Some(why) = &app.link_error {
        // The journal keeps everything: a warning after the counts, as
        // much of it as fits.
        let used: usize = spans.iter().map(Span::width).sum();
        let room = usize::from(area.width).saturating_sub(used);
        let full = format!("  ⚠ {}", sanitize(why));
        let text = if unicode_width::UnicodeWidthStr::width(full.as_str()) <= room {
            full
        } else {
            "  ⚠ KAFKA DOWN".to_owned()
        };
        spans.push(Span::styled(text, t.warning()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn bar(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let line = match &app.input {
        Some(input) => {
            let prompt = match input.kind {
                InputKind::Filter => "/ ",
                InputKind::Export => "export to (.md .html .json .csv .xml .txt): ",
                InputKind::Find => "find in this event: ",
            };
            let mut spans = vec![Span::styled(prompt, t.key()), Span::raw(input.text.clone())];
            if let Some(e) = &input.error {
                spans.push(Span::styled(format!("   ✗ {e}"), t.error()));
            }
            let x = area.x + (prompt.chars().count() + input.cursor) as u16;
            frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
            Line::from(spans)
        }
        None => {
            let f = app.view.filter();
            let mut spans = Vec::new();
            if !f.is_empty() {
                spans.push(Span::styled("filter ", t.key()));
                spans.push(Span::raw(sanitize(f.as_str()).into_owned()));
                spans.push(Span::raw("  "));
            }
            if app.view.only_problems() {
                spans.push(Span::styled("only problems  ", t.warning()));
            }
            // The hint gives way to the filter on a narrow terminal.
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let room = usize::from(area.width).saturating_sub(used);
            let hint = [
                "/ filter · e problems · space pause · x export · ? help · q quit",
                "/ filter · e problems · ? help · q quit",
                "? help · q quit",
            ]
            .into_iter()
            .find(|h| h.chars().count() <= room)
            .unwrap_or("");
            spans.push(Span::styled(hint, t.dim()));
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn status(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let s = &app.session;
    let mut parts = Vec::new();
    if let Some(listen) = &s.listen {
        parts.push(format!("{listen} → {}", s.upstream));
    } else if !s.inputs.is_empty() {
        parts.push(format!("open {}", s.inputs.join(", ")));
    }
    parts.push(match &s.plan {
        Some(p) => format!("plan {p}"),
        None => "no plan".to_owned(),
    });
    if let Some(j) = &s.journal {
        parts.push(format!(
            "journal {} ({})",
            j.display(),
            panes::stats::bytes(app.journal_bytes)
        ));
    }
    // The latest message first: it is what the user just asked about.
    let mut spans = Vec::new();
    if let Some(m) = &app.message {
        spans.push(Span::styled(sanitize(m).into_owned(), t.key()));
        spans.push(Span::raw(" · "));
    }
    spans.push(Span::styled(parts.join(" · "), t.dim()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
