//! Where things are on screen: one function, used by drawing and by mouse
//! hit-testing so the two never disagree.

use ratatui::layout::{Constraint, Layout, Rect};

pub struct Areas {
    pub header: Rect,
    pub main: Rect,
    pub bar: Rect,
    pub status: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [header, main, bar, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        header,
        main,
        bar,
        status,
    }
}

/// Event rows the stream table shows (inside its border, under its header).
pub fn stream_rows(size: Rect) -> usize {
    usize::from(areas(size).main.height.saturating_sub(3))
}

/// Wide enough for the stream and the focused event side by side.
pub fn is_split_wide(size: Rect) -> bool {
    size.width >= 180
}

/// The stream's area and, when split, the detail's beside it.
pub fn stream_and_detail(main: Rect, split: bool) -> (Rect, Option<Rect>) {
    if !split {
        return (main, None);
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(main);
    (left, Some(right))
}

/// The stream row under a mouse position, counted from the first visible row.
pub fn stream_row_at(size: Rect, split: bool, column: u16, row: u16) -> Option<usize> {
    let main = stream_and_detail(areas(size).main, split).0;
    let first = main.y + 2;
    let last = main.y + main.height.saturating_sub(1);
    let inside = column > main.x && column + 1 < main.x + main.width;
    (inside && row >= first && row < last).then(|| usize::from(row - first))
}

/// Wide enough for side-by-side panes and extra columns.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 120
}
