//! Styles, with colour only when `NO_COLOR` is unset.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warning(self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn dim(self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }
    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn selected(self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn key(self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn string(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn number(self) -> Style {
        self.fg(Color::Magenta)
    }
    pub fn literal(self) -> Style {
        self.fg(Color::Yellow)
    }
    /// A value a finding points at (null where not allowed, wrong type).
    pub fn flagged(self) -> Style {
        if self.color {
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// A required property that is absent, shown where it should be.
    pub fn ghost(self) -> Style {
        self.fg(Color::Red)
            .add_modifier(Modifier::ITALIC | Modifier::DIM)
    }
}
