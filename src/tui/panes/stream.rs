//! The event stream: one row per event, only the visible rows built.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table};
use ratatui::Frame;
use time::OffsetDateTime;

use crate::filter::Status;
use crate::sanitize::sanitize;
use crate::store::RowRef;
use crate::tui::app::App;
use crate::tui::columns::{cut, display_width, fit, Column, TimeMode};
use crate::tui::layout;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let rows_visible = layout::stream_rows(app.size);
    let offset = app.view.offset();
    let focus = app.view.focus();
    let shown = app.columns.columns();
    let cells: Vec<(bool, Vec<Cell>)> = app
        .view
        .rows(offset..offset + rows_visible)
        .filter_map(|id| app.store.get(id))
        .map(|r| (Some(r.id) == focus, cells(&r, &shown, app)))
        .collect();
    // Widths from what the visible rows hold, rounded up so scrolling does not jitter.
    let content: Vec<u16> = shown
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let widest = cells
                .iter()
                .map(|(_, row)| display_width(&row[i].0))
                .chain([display_width(c.header(app.time_mode))])
                .max()
                .unwrap_or(0);
            u16::try_from(widest.div_ceil(4) * 4).unwrap_or(u16::MAX)
        })
        .collect();
    let fitted = fit(&shown, &content, area.width.saturating_sub(2));
    let kept: Vec<usize> = fitted
        .iter()
        .filter_map(|(c, _)| shown.iter().position(|s| s == c))
        .collect();
    let rows: Vec<Row> = cells
        .into_iter()
        .map(|(selected, row)| {
            let row = Row::new(kept.iter().zip(&fitted).map(|(&i, (_, w))| {
                let (text, style) = &row[i];
                ratatui::widgets::Cell::from(Span::styled(cut(text, *w), *style))
            }));
            if selected {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let widths: Vec<Constraint> = fitted.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    // The sorted column says so (▼), within its width.
    let sorted = app.view.sort_key().map(Column::of_sort);
    let header: Vec<String> = fitted
        .iter()
        .map(|(c, w)| match Some(*c) == sorted {
            true => cut(&format!("{}▼", c.header(app.time_mode)), *w),
            false => c.header(app.time_mode).to_owned(),
        })
        .collect();
    let c = app.store.counters();
    let mut title = format!(" Events {} ", c.events);
    if c.undecodable > 0 {
        title.push_str(&format!("· {} bad requests ", c.undecodable));
    }
    // Rows are events and requests without events; the evicted are counted too.
    let total = c.events + c.undecodable;
    if app.view.len() as u64 != total {
        title.push_str(&format!("· showing {} ", app.view.len()));
    }
    if let Some(p) = app.view.progress() {
        let percent = (p.done * 100).checked_div(p.total).unwrap_or(100);
        title.push_str(&format!("· filtering {percent}%… "));
    }
    if app.store.evicted() > 0 {
        title.push_str(&format!("· oldest {} not in memory ", app.store.evicted()));
    }
    if let Some(key) = app.view.sort_key() {
        title.push_str(&format!("· sorted by {} ", key.name()));
    }
    title.push_str(match (app.view.paused(), app.view.follow) {
        (Some(_), _) => "· paused ",
        (None, true) => "· following ",
        (None, false) => "· G to follow ",
    });
    let empty = app.view.is_empty();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.dim()))
        .block(Block::bordered().title(Span::styled(title, t.title())))
        .column_spacing(1);
    frame.render_widget(table, area);
    if let Some(cursor) = app.chooser {
        chooser(frame, app, area, cursor);
    }
    if empty {
        let addr = app
            .session
            .listen
            .as_deref()
            .map(|l| l.trim_start_matches("http://"));
        let lines = match (total, addr) {
            (0, Some(addr)) => first_contact(addr),
            (0, None) => vec!["no events in these journals".to_owned()],
            _ => vec!["no event matches the filter (\\ clears it)".to_owned()],
        };
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: (lines.len() as u16).min(area.height.saturating_sub(3)),
        };
        let text: Vec<Line> = lines
            .into_iter()
            .map(|l| Line::styled(l, t.dim()))
            .collect();
        frame.render_widget(Paragraph::new(text), inner);
    }
}

/// Until the first request: the exact setting for each SDK family, with the
/// tap's real address.
fn first_contact(addr: &str) -> Vec<String> {
    let url = format!("http://{addr}/2/httpapi");
    vec![
        "waiting for events… set your SDK's server URL to the tap:".to_owned(),
        format!("  Browser, Node   {{ serverUrl: '{url}' }}"),
        format!("  Python          Config(server_url='{url}')"),
        format!("  Android, Swift  serverUrl = \"{url}\""),
        "                  (from the Android emulator, 10.0.2.2 is this machine)".to_owned(),
        format!("  amplitude-js 8  {{ apiEndpoint: '{addr}', forceHttps: false }}"),
        "  with useBatch: true, /batch instead of /2/httpapi".to_owned(),
    ]
}

/// One cell: its text (sanitized) and style.
type Cell = (String, Style);

fn cells(r: &RowRef<'_>, shown: &[Column], app: &App) -> Vec<Cell> {
    let t = app.theme;
    let request = r.request;
    let received = request.received;
    // A request without readable events is a row of its own: what was
    // asked, and why nothing could be read from it.
    let (event_type, who) = match request.problem {
        Some(kind) => (
            match r.reason() {
                Some(why) => format!("{} {} · {why}", r.method(), r.path()),
                None => format!("{} {}", r.method(), r.path()),
            },
            kind.as_str().to_owned(),
        ),
        // ↪ marks an event the relay made from an app's own record.
        None => (
            format!(
                "{}{}",
                if r.path().starts_with("/relay/") {
                    "↪ "
                } else {
                    ""
                },
                r.event_type().unwrap_or("(no event_type)")
            ),
            r.actor().unwrap_or("—").to_owned(),
        ),
    };
    let mut event_type = Some(event_type);
    let mut who = Some(who);
    shown
        .iter()
        .map(|c| match c {
            Column::Received => (
                app.time_mode.format(received, received, app.now),
                Style::default(),
            ),
            Column::EventTime => event_time(r, app),
            Column::EventType => (
                sanitize(&event_type.take().unwrap_or_default()).into_owned(),
                Style::default(),
            ),
            Column::Endpoint => (sanitize(r.path()).into_owned(), Style::default()),
            Column::Who => (
                sanitize(&who.take().unwrap_or_default()).into_owned(),
                Style::default(),
            ),
            Column::Props => (format!("{:>5}", r.row.properties), Style::default()),
            Column::Check => {
                let n = r.findings().len();
                match r.row.status {
                    Status::Ok => ("✓".to_owned(), t.ok()),
                    Status::Warning => (format!("⚠ {n}"), t.warning()),
                    Status::Error => (format!("✗ {n}"), t.error()),
                }
            }
            Column::Answer => match request.status {
                s if request.failed => (format!("{s}!"), t.error()),
                s if s >= 400 => (s.to_string(), t.warning()),
                s => (s.to_string(), Style::default()),
            },
        })
        .collect()
}

/// The event's own time; marked when it is more than a minute from when it arrived.
fn event_time(r: &RowRef<'_>, app: &App) -> Cell {
    let Some(ms) = r.event_time() else {
        return ("—".to_owned(), app.theme.dim());
    };
    let received = r.request.received;
    let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return (ms.to_string(), app.theme.warning());
    };
    let far = (at - received).whole_seconds().abs() > 60;
    let style = if far {
        app.theme.warning()
    } else {
        Style::default()
    };
    (app.time_mode.format(at, received, app.now), style)
}

/// The column chooser over the stream.
fn chooser(frame: &mut Frame, app: &App, area: Rect, cursor: usize) {
    let t = app.theme;
    let lines: Vec<Line> = Column::ALL
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let mark = if app.columns.is_shown(c) {
                "[x]"
            } else {
                "[ ]"
            };
            let text = format!(" {mark} {:<14} {}", c.header(TimeMode::Local), c.help());
            let style = if i == cursor {
                t.selected()
            } else {
                Style::default()
            };
            Line::styled(text, style)
        })
        .collect();
    let width = area.width.saturating_sub(4).min(72);
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    let block = Block::bordered().title(Span::styled(
        " Columns · space shows/hides · Esc closes ",
        t.title(),
    ));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
