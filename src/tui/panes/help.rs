//! Help, generated from the key table and the filter operator table.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::filter::OPERATORS;
use crate::tui::app::App;
use crate::tui::keymap::{Context, BINDINGS};

pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = app.theme;
    let mut lines = Vec::new();
    for ctx in [
        Context::Global,
        Context::Stream,
        Context::Detail,
        Context::Coverage,
        Context::Reconcile,
        Context::Input,
        Context::Help,
    ] {
        lines.push(Line::styled(ctx.title(), t.title()));
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS.iter().filter(|b| b.context == ctx) {
            // `↑ k` and `k` share one line: the first binding of an action names both.
            if !seen.insert(b.action) {
                continue;
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", b.label), t.key()),
                Span::raw(b.help),
            ]));
        }
    }
    lines.push(Line::styled(
        "Filter words (AND-ed, applied as you type)",
        t.title(),
    ));
    for (op, help) in OPERATORS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {op:<24}"), t.key()),
            Span::raw(*help),
        ]));
    }
    lines.push(Line::raw(
        "  mouse: wheel scrolls, click selects, click again opens",
    ));
    lines
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::bordered().title(Span::styled(
        " Help — ↑↓ scroll, any other key returns ",
        app.theme.title(),
    ));
    let help = Paragraph::new(lines(app))
        .block(block)
        .scroll((app.help_scroll, 0));
    frame.render_widget(help, area);
}
