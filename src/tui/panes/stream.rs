//! The event stream: one row per event, only the visible rows built.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};
use ratatui::Frame;

use crate::filter::Status;
use crate::sanitize::sanitize;
use crate::store::Entry;
use crate::tap::Delivery;
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
        .map(|e| {
            let row = row(e, wide, t);
            if Some(e.id) == focus {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(12),
        Constraint::Fill(2),
        Constraint::Length(if wide { 24 } else { 16 }),
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
        widths.push(Constraint::Length(38));
        header.push("insert_id");
    }
    let total = app.store.counters().events;
    let mut title = format!(" Events {total} ");
    if app.view.len() as u64 != total {
        title.push_str(&format!("· showing {} ", app.view.len()));
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
        let hint = if total == 0 {
            "waiting for events… point your SDK's serverUrl at the address below"
        } else {
            "no event matches the filter (\\ clears it)"
        };
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: 1,
        };
        frame.render_widget(Line::styled(hint, t.dim()), inner);
    }
}

fn row(e: &Entry, wide: bool, t: Theme) -> Row<'static> {
    let r = &e.request;
    let time = r.received;
    let when = format!(
        "{:02}:{:02}:{:02}.{:03}",
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    );
    // A request without readable events is a row of its own: what was
    // asked, and why nothing could be read from it.
    let (event_type, who) = match &r.problem {
        Some(problem) => (
            sanitize(&format!("{} {}", r.method, r.path)).into_owned(),
            problem.kind.as_str().to_owned(),
        ),
        None => (
            sanitize(e.event.event_type().unwrap_or("(no event_type)")).into_owned(),
            sanitize(e.event.actor().unwrap_or("—")).into_owned(),
        ),
    };
    let n = e.findings.len();
    let (badge, style) = match e.status {
        Status::Ok => ("✓".to_owned(), t.ok()),
        Status::Warning => (format!("⚠ {n}"), t.warning()),
        Status::Error => (format!("✗ {n}"), t.error()),
    };
    let sent = match &r.delivery {
        Delivery::Failed { .. } => Cell::from(Span::styled(format!("{}!", r.status), t.error())),
        _ if r.status >= 400 => Cell::from(Span::styled(r.status.to_string(), t.warning())),
        _ => Cell::from(r.status.to_string()),
    };
    let mut cells = vec![
        Cell::from(when),
        Cell::from(event_type),
        Cell::from(who),
        Cell::from(format!("{:>5}", e.event.property_count())),
        Cell::from(Span::styled(badge, style)),
        sent,
    ];
    if wide {
        cells.insert(2, Cell::from(sanitize(&r.path).into_owned()));
        cells.push(Cell::from(
            sanitize(e.event.insert_id().unwrap_or("")).into_owned(),
        ));
    }
    Row::new(cells)
}
