//! Help, generated from the key table and the filter operator table.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::filter::OPERATORS;
use crate::tui::app::App;
use crate::tui::columns::display_width;
use crate::tui::keymap::{Context, BINDINGS};

pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = app.theme;
    let width = usize::from(app.size.width.saturating_sub(2));
    let mut lines = Vec::new();
    for ctx in [
        Context::Global,
        Context::Stream,
        Context::Detail,
        Context::Coverage,
        Context::Reconcile,
        Context::Chooser,
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
            entry(&mut lines, format!("  {:<10}", b.label), b.help, width, app);
        }
    }
    lines.push(Line::styled("Filter (applied as you type)", t.title()));
    for (op, help) in OPERATORS {
        entry(&mut lines, format!("  {op:<24}"), help, width, app);
    }
    lines.push(Line::raw(
        "  mouse: wheel scrolls, click selects, click again opens",
    ));
    lines
}

/// A key (or operator) and its help, the help wrapped under itself so
/// nothing is cut at 80 columns.
fn entry(lines: &mut Vec<Line<'static>>, key: String, help: &str, width: usize, app: &App) {
    let indent = display_width(&key);
    let room = width.saturating_sub(indent).max(20);
    let mut rows: Vec<String> = vec![String::new()];
    for word in help.split(' ') {
        let Some(current) = rows.last_mut() else {
            break;
        };
        if !current.is_empty() && display_width(current) + 1 + display_width(word) > room {
            rows.push(word.to_owned());
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    for (i, row) in rows.into_iter().enumerate() {
        let lead = if i == 0 {
            key.clone()
        } else {
            " ".repeat(indent)
        };
        lines.push(Line::from(vec![
            Span::styled(lead, app.theme.key()),
            Span::raw(row),
        ]));
    }
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
