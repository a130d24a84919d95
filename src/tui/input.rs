//! The line being typed at the bottom: a filter or an export path.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::filter::FilterError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Export,
    /// Text to find in the open event.
    Find,
}

/// The line being typed: a filter (applied as you type) or an export path.
#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    pub error: Option<FilterError>,
    /// The filter before editing began, restored by Esc.
    pub before: String,
}

/// Quotes a filter word that holds spaces.
pub fn quote_word(w: &str) -> String {
    if w.chars().any(char::is_whitespace) {
        format!("\"{w}\"")
    } else {
        w.to_owned()
    }
}

/// Line editing: characters, Backspace, Delete, ←, →, Home, End.
pub fn edit(input: &mut Input, key: KeyEvent) {
    let byte_at = |text: &str, chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i)
    };
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            let at = byte_at(&input.text, input.cursor);
            input.text.insert(at, c);
            input.cursor += 1;
        }
        KeyCode::Char('u') => {
            input.text.clear();
            input.cursor = 0;
        }
        KeyCode::Backspace if input.cursor > 0 => {
            let at = byte_at(&input.text, input.cursor - 1);
            input.text.remove(at);
            input.cursor -= 1;
        }
        KeyCode::Delete if input.cursor < input.text.chars().count() => {
            let at = byte_at(&input.text, input.cursor);
            input.text.remove(at);
        }
        KeyCode::Left => input.cursor = input.cursor.saturating_sub(1),
        KeyCode::Right => input.cursor = (input.cursor + 1).min(input.text.chars().count()),
        KeyCode::Home => input.cursor = 0,
        KeyCode::End => input.cursor = input.text.chars().count(),
        _ => {}
    }
}
