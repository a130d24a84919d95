//! The field-mapping table (tracking plan): which event types exist, which
//! properties each carries, their types, which are required, and how the
//! app's own field names map to Amplitude's. Loaded from TOML or CSV into
//! one model; `validate` holds events against it.

mod infer;
mod insert_ids;
mod lint;
mod load;
mod misnamed;
mod relay;
pub mod sdk_profile;
mod types;
pub mod validate;

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde_json::Value;

pub use infer::{infer, to_toml};
pub use lint::{lint, LintIssue};
pub use load::{parse, parse_csv, parse_toml, PlanError};
pub use relay::RelaySpec;
pub use types::{describe, describe_value, PropType};
pub use validate::{is_placeholder_id, Code, EventContext, Finding, Severity, Validator};

/// A compiled regex that remembers its source (for equality and printing).
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        Ok(Pattern {
            source: source.to_owned(),
            regex: Regex::new(source)?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.source)
    }
}

/// An event-type glob: `*` any run of characters, `?` one; everything else,
/// brackets included, is literal (`[Amplitude] *` means what it says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(pub String);

impl Glob {
    /// Wildcard matching with one backtrack point, over chars, no allocation.
    pub fn is_match(&self, text: &str) -> bool {
        let (pattern, text) = (self.0.as_str(), text);
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        let next = |s: &str, i: usize| s[i..].chars().next().map(|c| (c, i + c.len_utf8()));
        while let Some((tc, t_next)) = next(text, t) {
            match next(pattern, p) {
                Some(('*', p_next)) => {
                    star = Some((p_next, t));
                    p = p_next;
                }
                Some((pc, p_next)) if pc == '?' || pc == tc => {
                    p = p_next;
                    t = t_next;
                }
                _ => match star {
                    Some((p_after, t_star)) => {
                        let resume = next(text, t_star).map_or(text.len(), |(_, i)| i);
                        star = Some((p_after, resume));
                        p = p_after;
                        t = resume;
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].chars().all(|c| c == '*')
    }
}

/// What to do with something the plan does not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Allow,
    Warning,
    Error,
}

impl Policy {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "allow" => Ok(Policy::Allow),
            "warning" => Ok(Policy::Warning),
            "error" => Ok(Policy::Error),
            _ => Err(format!(
                "unknown policy {s:?}: expected allow, warning or error"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Allow => "allow",
            Policy::Warning => "warning",
            Policy::Error => "error",
        }
    }

    pub fn severity(self) -> Option<Severity> {
        match self {
            Policy::Allow => None,
            Policy::Warning => Some(Severity::Warning),
            Policy::Error => Some(Severity::Error),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub event_name: Option<Pattern>,
    pub property_name: Option<Pattern>,
    pub unknown_events: Policy,
    pub unexpected_properties: Policy,
    pub min_id_length: usize,
    pub ignore: Vec<Glob>,
    /// Per-code overrides; `None` turns a code off.
    pub severity: BTreeMap<Code, Option<Severity>>,
    /// What the official SDKs send on their own is never flagged unless the
    /// plan speaks of it (`sdk_profile = false` judges it like the rest).
    pub sdk_profile: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            event_name: None,
            property_name: None,
            unknown_events: Policy::Warning,
            unexpected_properties: Policy::Warning,
            min_id_length: 5,
            ignore: Vec::new(),
            severity: BTreeMap::new(),
            sdk_profile: true,
        }
    }
}

impl Settings {
    pub fn is_ignored(&self, event_type: &str) -> bool {
        self.ignore.iter().any(|g| g.is_match(event_type))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventSpec {
    pub description: Option<String>,
    pub properties: BTreeMap<String, PropertySpec>,
    /// More than this many from one device in a minute is `over_firing`.
    pub max_per_minute: Option<u32>,
    /// How the relay makes this event from an app's own records.
    pub relay: Option<RelaySpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropertySpec {
    pub ty: PropType,
    pub required: bool,
    pub nullable: bool,
    pub allowed: Option<Vec<Value>>,
    pub pattern: Option<Pattern>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// The app's own name for this property, sent by mistake instead of
    /// this one; for the relay, the path of its value in the app's record.
    pub source: Option<String>,
    pub description: Option<String>,
}

impl PropertySpec {
    pub fn of_type(ty: PropType) -> Self {
        PropertySpec {
            ty,
            required: false,
            nullable: false,
            allowed: None,
            pattern: None,
            min: None,
            max: None,
            min_length: None,
            max_length: None,
            source: None,
            description: None,
        }
    }
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub settings: Settings,
    pub events: BTreeMap<String, EventSpec>,
    pub user_properties: BTreeMap<String, PropertySpec>,
}

impl Plan {
    /// The severity the plan gives `code` (`default` unless it says
    /// otherwise); `None` when the plan turns the code off.
    pub fn severity_of(&self, code: Code, default: Severity) -> Option<Severity> {
        match self.settings.severity.get(&code) {
            Some(level) => *level,
            None => Some(default),
        }
    }

    /// No table at all: only the checks that need none (ids, time,
    /// duplicates, drift) apply, and no event type is unknown.
    pub fn none() -> Self {
        Plan {
            settings: Settings {
                unknown_events: Policy::Allow,
                unexpected_properties: Policy::Allow,
                ..Settings::default()
            },
            ..Plan::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_literally_but_for_stars() {
        let g = Glob("[Amplitude] *".into());
        assert!(g.is_match("[Amplitude] Page Viewed"));
        assert!(!g.is_match("A Page Viewed"));
        assert!(Glob("session_*".into()).is_match("session_start"));
        assert!(Glob("a?c".into()).is_match("abc"));
        assert!(!Glob("session_start".into()).is_match("session_start2"));
        for (pattern, text, want) in [
            ("*", "", true),
            ("a*", "a", true),
            ("*b*c", "abxbc", true),
            ("*b*c", "abxbd", false),
            ("é?", "éx", true),
            ("**", "x", true),
            ("a*c", "ab", false),
            ("", "", true),
            ("", "a", false),
        ] {
            assert_eq!(
                Glob(pattern.into()).is_match(text),
                want,
                "{pattern} ~ {text}"
            );
        }
    }
}
