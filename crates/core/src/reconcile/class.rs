//! What became of an event, in one word: the classes a reconcile sorts into.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// In the export; listed only when it changed on the way.
    Matched,
    Missing,
    Rejected,
    NotForwarded,
    Pending,
    Extra,
    Duplicated,
}

impl Class {
    /// Worst first: the order reports list them and the Reconcile view cycles.
    pub const ALL: [Class; 7] = [
        Class::Missing,
        Class::Rejected,
        Class::NotForwarded,
        Class::Matched,
        Class::Duplicated,
        Class::Extra,
        Class::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Matched => "matched",
            Class::Missing => "missing",
            Class::Rejected => "rejected",
            Class::NotForwarded => "not_forwarded",
            Class::Pending => "pending",
            Class::Extra => "extra",
            Class::Duplicated => "duplicated",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Class::Matched => "in Amplitude, changed on the way",
            Class::Missing => "forwarded and accepted, not in the export",
            Class::Rejected => "Amplitude answered 4xx for its request",
            Class::NotForwarded => "never reached Amplitude (upstream failure or offline)",
            Class::Pending => "newer than the export's data: not yet in Amplitude",
            Class::Extra => "in the export for these users and devices, never captured",
            Class::Duplicated => "one insert_id exported more than once",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
