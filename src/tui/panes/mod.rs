//! One module per screen.

pub mod coverage;
pub mod detail;
pub mod help;
mod json_view;
pub mod reconcile;
pub mod stats;
pub mod stream;

/// An event's lines as the detail view shows them (for finding text in it).
pub fn event_lines(
    event: &crate::event::Event,
    findings: &[crate::plan::Finding],
    t: crate::tui::theme::Theme,
) -> Vec<ratatui::text::Line<'static>> {
    json_view::json_lines(event, findings, t)
}
