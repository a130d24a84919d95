//! Event strings → text that is safe to put on a terminal.
//!
//! Anything an SDK sent is untrusted: an ANSI escape in a property value
//! could move the cursor, retitle the window or hide text, and bidi
//! overrides can make a line read differently than it is.

use std::borrow::Cow;

/// Replaces control characters, escapes and bidi controls with visible
/// stand-ins (`\n` → `␊`, others → `�`), leaving everything else as is.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\n' => '␊',
                '\r' => '␍',
                '\t' => '␉',
                '\u{1b}' => '␛',
                c if is_unsafe(c) => '�',
                c => c,
            })
            .collect(),
    )
}

/// A cell for a CSV file someone will open in a spreadsheet: control
/// characters made visible as on a terminal, and a cell that would start a
/// formula (`=`, `+`, `-`, `@`, tab, CR: OWASP's list) led by `'` so it
/// stays text.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    match (formula, sanitize(text)) {
        (false, clean) => clean,
        (true, clean) => Cow::Owned(format!("'{clean}")),
    }
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{200E}' | '\u{200F}' | '\u{061C}' // directional marks
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_are_made_visible() {
        assert_eq!(sanitize("plain ✓"), "plain ✓");
        assert_eq!(sanitize("a\u{1b}[31mred\u{7}"), "a␛[31mred�");
        assert_eq!(sanitize("x\u{202E}gnp.exe"), "x�gnp.exe");
        assert_eq!(sanitize("line\nbreak"), "line␊break");
        assert_eq!(sanitize("c1\u{9b}31m"), "c1�31m");
    }

    #[test]
    fn csv_cells_never_start_a_formula_or_carry_controls() {
        assert_eq!(csv_cell("Song Played"), "Song Played");
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for lead in ["+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(lead).starts_with('\''), "{lead}");
        }
        assert_eq!(csv_cell("title\u{1b}]0;pwned\u{7}"), "title␛]0;pwned�");
    }
}
