//! The event stream: one row per event, only the visible rows built.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};
use ratatui::Frame;

use crate::filter::Status;
use crate::sanitize::sanitize;
use crate::store::RowRef;
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let wide = layout::is_wide(area);
    let rows_visible = layout::stream_rows(app.size);
    let offset = app.view.offset();
    let focus = app.view.focus();
    let rows: Vec<Row> = app
        .view
        .rows(offset..offset + rows_visible)
        .filter_map(|id| app.store.get(id))
        .map(|r| {
            let row = row(&r, wide, t);
            if Some(r.id) == focus {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(12),
        Constraint::Fill(2),
        Constraint::Length(if wide { 36 } else { 16 }),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(5),
    ];
    let mut header = vec![
        "time (UTC)",
        "event type",
        "user / device",
        "props",
        "check",
        "sent",
    ];
    if wide {
        widths.insert(2, Constraint::Length(14));
        header.insert(2, "endpoint");
    }
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
        frame.render_widget(ratatui::widgets::Paragraph::new(text), inner);
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

fn row(r: &RowRef<'_>, wide: bool, t: Theme) -> Row<'static> {
    let request = r.request;
    let time = request.received;
    let when = format!(
        "{:02}:{:02}:{:02}.{:03}",
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    );
    // A request without readable events is a row of its own: what was
    // asked, and why nothing could be read from it.
    let (event_type, who) = match request.problem {
        Some(kind) => (
            sanitize(&match r.reason() {
                Some(why) => format!("{} {} · {why}", r.method(), r.path()),
                None => format!("{} {}", r.method(), r.path()),
            })
            .into_owned(),
            kind.as_str().to_owned(),
        ),
        None => (
            sanitize(r.event_type().unwrap_or("(no event_type)")).into_owned(),
            sanitize(r.actor().unwrap_or("—")).into_owned(),
        ),
    };
    let n = r.findings().len();
    let (badge, style) = match r.row.status {
        Status::Ok => ("✓".to_owned(), t.ok()),
        Status::Warning => (format!("⚠ {n}"), t.warning()),
        Status::Error => (format!("✗ {n}"), t.error()),
    };
    let sent = match request.status {
        s if request.failed => Cell::from(Span::styled(format!("{s}!"), t.error())),
        s if s >= 400 => Cell::from(Span::styled(s.to_string(), t.warning())),
        s => Cell::from(s.to_string()),
    };
    let mut cells = vec![
        Cell::from(when),
        Cell::from(event_type),
        Cell::from(who),
        Cell::from(format!("{:>5}", r.row.properties)),
        Cell::from(Span::styled(badge, style)),
        sent,
    ];
    if wide {
        cells.insert(2, Cell::from(sanitize(r.path()).into_owned()));
    }
    Row::new(cells)
}
