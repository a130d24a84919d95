//! Relay markers in a journal: which relayed events Amplitude took or refused.

/// What the relay's outbox journaled about its events (markers after their
/// records): taken by Amplitude, or refused by name.
#[derive(Default)]
pub struct RelayOutcomes {
    taken: std::collections::HashSet<u64>,
    refused: std::collections::HashMap<u64, (u16, String)>,
}

impl RelayOutcomes {
    pub fn note(&mut self, m: &crate::record::Marker) {
        match m.marker.as_str() {
            crate::record::Marker::RELAYED => self.taken.extend(&m.seqs),
            crate::record::Marker::RELAY_DROPPED => {
                let why = (
                    m.status.unwrap_or(400),
                    m.reason.clone().unwrap_or_default(),
                );
                self.refused
                    .extend(m.seqs.iter().map(|s| (*s, why.clone())));
            }
            _ => {}
        }
    }

    /// A relayed event is accepted once its marker says so; until then it
    /// stays "not yet confirmed sent".
    pub fn apply(&self, c: &mut crate::reconcile::Captured) {
        if self.taken.contains(&c.seq) {
            c.outcome = crate::reconcile::Outcome::Accepted;
        } else if let Some((status, reason)) = self.refused.get(&c.seq) {
            c.outcome = crate::reconcile::Outcome::Rejected {
                status: *status,
                reason: reason.clone(),
            };
        }
    }
}
