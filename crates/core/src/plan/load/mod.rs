//! Reading a plan from TOML or CSV. Every error names the file, the line
//! and what was expected; unknown keys and columns are errors; regexes are
//! compiled here, once.

use std::path::Path;

use super::Plan;

mod csv_form;
mod toml_form;

pub use csv_form::parse_csv;
pub use toml_form::parse_toml;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

/// Parses a plan read from `file`, choosing the form by its extension
/// (`.csv`, else TOML). Reading the file is the caller's job.
pub fn parse(text: &str, file: &str) -> Result<Plan, PlanError> {
    let is_csv = Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        parse_csv(text, file)
    } else {
        parse_toml(text, file)
    }
}

/// A regex error in one line, and the character of the pattern it points at
/// (the regex crate marks it with carets under the pattern).
pub(super) fn regex_problem(e: &regex::Error) -> (String, Option<usize>) {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let caret = lines
        .iter()
        .position(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^'));
    let offset = caret.and_then(|i| {
        let pattern_line = lines.get(i.checked_sub(1)?)?;
        let indent = pattern_line.len() - pattern_line.trim_start().len();
        lines[i].find('^').map(|c| c.saturating_sub(indent))
    });
    let reason = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_owned,
        );
    (reason, offset)
}

pub(super) fn one_line(e: &regex::Error) -> String {
    match regex_problem(e) {
        (reason, Some(at)) => format!("{reason} (at character {} of the pattern)", at + 1),
        (reason, None) => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml_err(text: &str) -> String {
        parse_toml(text, "plan.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    fn csv_err(text: &str) -> String {
        parse_csv(text, "plan.csv")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn toml_errors_name_file_line_and_expectation() {
        let e = toml_err("[events.a.properties]\nx = { type = \"string\", requird = true }\n");
        assert!(e.starts_with("plan.toml:2:"), "{e}");
        assert!(
            e.contains("unknown field `requird`") && e.contains("expected one of"),
            "{e}"
        );

        let e = toml_err("[events.a.properties]\nx = { type = \"strng\" }\n");
        assert!(e.starts_with("plan.toml:2:14:"), "{e}");
        assert!(e.contains("unknown type \"strng\""), "{e}");

        let e = toml_err("[settings]\nevent_name = \"^[a-z\"\n");
        assert!(
            e.starts_with(
                "plan.toml:2:16: bad regex \"^[a-z\": unclosed character class (at character 2"
            ),
            "{e}"
        );

        let e = toml_err("[settings]\nunknown_events = \"maybe\"\n");
        assert!(
            e.contains("plan.toml:2:") && e.contains("allow, warning or error"),
            "{e}"
        );

        let e = toml_err("[settings.severity]\nmissing_propety = \"error\"\n");
        assert!(e.contains("unknown finding code"), "{e}");

        let e = toml_err("[bogus]\n");
        assert!(
            e.starts_with("plan.toml:1:") && e.contains("unknown field `bogus`"),
            "{e}"
        );

        let e = toml_err("[events.a]\nproperties = 3\n");
        assert!(e.starts_with("plan.toml:2:"), "{e}");
    }

    #[test]
    fn csv_errors_name_file_line_and_expectation() {
        let header = csv_form::CSV_COLUMNS.join(",");
        let e = csv_err(&format!("{header}\na,x,strng,true,false,,,,\n"));
        assert!(e.starts_with("plan.csv:2:3: unknown type"), "{e}");
        let e = csv_err(&format!("{header}\na,x,string,maybe,false,,,,\n"));
        assert!(
            e.starts_with("plan.csv:2:4:") && e.contains("true/false"),
            "{e}"
        );
        let e = csv_err(&format!("{header}\na,x,string,true,false,,,(,\n"));
        assert!(e.starts_with("plan.csv:2:8: bad regex"), "{e}");
        let e = csv_err("event_type,property,kind\n");
        assert!(
            e.starts_with("plan.csv:1:3: unknown column \"kind\""),
            "{e}"
        );
        let e = csv_err(&format!("{header}\na,x,string,,,,,,\na,x,integer,,,,,,\n"));
        assert!(
            e.starts_with("plan.csv:3:2:") && e.contains("listed twice"),
            "{e}"
        );
    }

    #[test]
    fn the_sdk_profile_is_on_unless_the_plan_turns_it_off() {
        assert!(
            parse_toml("[settings]\n", "p.toml")
                .expect("plan")
                .settings
                .sdk_profile
        );
        let off = parse_toml("[settings]\nsdk_profile = false\n", "p.toml").expect("plan");
        assert!(!off.settings.sdk_profile);
    }
}
