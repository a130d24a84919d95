//! Rates and counts: events/s, per type, upstream answers, the journal and
//! how far the screen is behind it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use crate::sanitize::sanitize;
use crate::tui::app::App;
use crate::tui::columns::{cut, display_width};

/// The last `seconds` of arrivals per second, oldest first, ending at `now`.
pub fn per_second(app: &App, seconds: usize) -> Vec<u64> {
    let now = app.now.unix_timestamp();
    let mut out = vec![0; seconds];
    for &(s, n) in &app.store.counters().per_second {
        let back = now - s;
        if (0..seconds as i64).contains(&back) {
            out[seconds - 1 - back as usize] = n;
        }
    }
    out
}

/// Mean events/s over the last `seconds` whole seconds.
pub fn rate(app: &App, seconds: usize) -> f64 {
    let v = per_second(app, seconds + 1);
    v[..seconds].iter().sum::<u64>() as f64 / seconds as f64
}

pub fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let c = app.store.counters();
    let [spark_area, rest] =
        Layout::vertical([Constraint::Length(6), Constraint::Fill(1)]).areas(area);
    let width = usize::from(spark_area.width.saturating_sub(2)).clamp(1, 120);
    let data = per_second(app, width);
    let peak = data.iter().copied().max().unwrap_or(0);
    let title = format!(
        " events/s, last {width} s · now {:.1}/s · peak {peak}/s ",
        rate(app, 5)
    );
    frame.render_widget(
        Sparkline::default()
            .data(&data)
            .style(t.key())
            .block(Block::bordered().title(Span::styled(title, t.title()))),
        spark_area,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(rest);

    let mut types: Vec<(&String, u64)> = c.by_type.iter().map(|(k, v)| (k, v.events)).collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let max = types.first().map_or(1, |t| t.1.max(1));
    let shown = usize::from(left.height.saturating_sub(2));
    // Names as wide as the longest shown, but the bar keeps a third.
    let inner = usize::from(left.width.saturating_sub(2));
    let name_width = types
        .iter()
        .take(shown)
        .map(|(name, _)| display_width(&sanitize(name)))
        .max()
        .unwrap_or(0)
        .clamp(10, (inner * 2 / 3).saturating_sub(8).max(10));
    let bar_width = inner.saturating_sub(name_width + 8).max(4);
    let type_lines: Vec<Line> = types
        .iter()
        .take(shown)
        .map(|(name, n)| {
            let filled = (*n as usize * bar_width).div_ceil(max as usize);
            let name = cut(&sanitize(name), name_width as u16);
            let pad = name_width.saturating_sub(display_width(&name));
            Line::from(vec![
                Span::raw(format!("{name}{} {n:>6} ", " ".repeat(pad))),
                Span::styled("█".repeat(filled), t.key()),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(type_lines).block(Block::bordered().title(" events by type ")),
        left,
    );

    let mut lines = vec![
        Line::raw(format!(
            "requests {} · events {} · undecodable {}",
            c.requests, c.events, c.undecodable
        )),
        Line::from(vec![
            Span::raw("checks: "),
            Span::styled(format!("✓ {}", c.by_status[0]), t.ok()),
            Span::raw("  "),
            Span::styled(format!("⚠ {}", c.by_status[1]), t.warning()),
            Span::raw("  "),
            Span::styled(format!("✗ {}", c.by_status[2]), t.error()),
        ]),
    ];
    let statuses: Vec<String> = c.upstream.iter().map(|(s, n)| format!("{s}×{n}")).collect();
    lines.push(Line::raw(format!(
        "answers: {}",
        if statuses.is_empty() {
            "—".into()
        } else {
            statuses.join(" ")
        }
    )));
    let fails = Span::styled(
        format!("forward failures: {}", c.forward_failures),
        if c.forward_failures > 0 {
            t.error()
        } else {
            t.dim()
        },
    );
    lines.push(Line::from(fails));
    let codes: Vec<String> = c
        .by_code
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    lines.push(Line::raw(format!(
        "findings: {}",
        if codes.is_empty() {
            "none".into()
        } else {
            codes.join(", ")
        }
    )));
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        "in memory: {} rows in {:.1} of {:.0} MiB ({} older left memory; the journal has them)",
        app.store.len(),
        app.store.bytes() as f64 / 1048576.0,
        app.store.budget() as f64 / 1048576.0,
        app.store.evicted()
    )));
    if let Some(j) = &app.session.journal {
        lines.push(Line::raw(format!(
            "journal: {} ({})",
            j.display(),
            bytes(app.journal_bytes)
        )));
    }
    lines.push(Line::raw(format!(
        "screen behind the journal by {} requests",
        app.behind
    )));
    if !app.warnings.is_empty() {
        lines.push(Line::styled(
            format!(
                "{} warnings, last: {}",
                app.warnings.len(),
                sanitize(app.warnings.last().map_or("", String::as_str))
            ),
            t.warning(),
        ));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" session ")),
        right,
    );
}
