//! The counts a reconciliation ends with; partitions' counts add up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DiffKind;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileSummary {
    /// Distinct captured events (retries of one insert id count once).
    pub captured: u64,
    /// Of those, accepted by Amplitude.
    pub forwarded_ok: u64,
    pub matched: u64,
    /// Matched pairs with an unexpected difference.
    pub changed: u64,
    pub missing: u64,
    pub rejected: u64,
    pub not_forwarded: u64,
    pub pending: u64,
    pub extra: u64,
    pub duplicated: u64,
    /// Unexpected differences, by kind.
    pub diffs_by_kind: BTreeMap<DiffKind, u64>,
    /// Differences Amplitude makes by design (dropped nulls, revenue fields…).
    pub expected_transformations: u64,
    pub exported_rows: u64,
    pub exported_rows_in_scope: u64,
}

impl ReconcileSummary {
    /// Adds another part's counts (a partition of a larger reconcile).
    pub fn absorb(&mut self, other: &ReconcileSummary) {
        let ReconcileSummary {
            captured,
            forwarded_ok,
            matched,
            changed,
            missing,
            rejected,
            not_forwarded,
            pending,
            extra,
            duplicated,
            diffs_by_kind,
            expected_transformations,
            exported_rows,
            exported_rows_in_scope,
        } = other;
        self.captured += captured;
        self.forwarded_ok += forwarded_ok;
        self.matched += matched;
        self.changed += changed;
        self.missing += missing;
        self.rejected += rejected;
        self.not_forwarded += not_forwarded;
        self.pending += pending;
        self.extra += extra;
        self.duplicated += duplicated;
        for (kind, n) in diffs_by_kind {
            *self.diffs_by_kind.entry(*kind).or_default() += n;
        }
        self.expected_transformations += expected_transformations;
        self.exported_rows += exported_rows;
        self.exported_rows_in_scope += exported_rows_in_scope;
    }
}
