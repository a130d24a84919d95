//! Reconcile in parts: a captured event and every exported row that can
//! match it land in the same part — by insert_id, or for events without one
//! by event type and user (or device), which is how those are matched.

use super::Captured;
use crate::export::ExportedRow;

/// FNV-1a, 64 bits, from `seed`: stable across runs and machines.
fn fnv(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
        }
        for &b in *part {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn part(
    insert_id: Option<&str>,
    event_type: Option<&str>,
    actor: Option<&str>,
    seed: u64,
    parts: usize,
) -> usize {
    let h = match insert_id {
        Some(id) => fnv(seed, &[b"i", id.as_bytes()]),
        None => fnv(
            seed,
            &[
                b"t",
                event_type.unwrap_or_default().as_bytes(),
                actor.unwrap_or_default().as_bytes(),
            ],
        ),
    };
    (h % parts.max(1) as u64) as usize
}

/// The part of `parts` a captured event belongs to (`seed` splits a part again).
pub fn captured_part(c: &Captured, seed: u64, parts: usize) -> usize {
    part(
        c.insert_id.as_deref(),
        c.event_type.as_deref(),
        c.actor(),
        seed,
        parts,
    )
}

/// The part an exported row belongs to: the part of the events it can match.
pub fn row_part(r: &ExportedRow, seed: u64, parts: usize) -> usize {
    part(
        r.insert_id.as_deref(),
        r.event_type.as_deref(),
        r.actor(),
        seed,
        parts,
    )
}

/// A user or device id, as the set of the captured side's actors keeps it
/// (8 bytes each, whatever the ids' length).
pub fn actor_hash(actor: &str) -> u64 {
    fnv(0, &[actor.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Outcome;

    fn captured(id: Option<&str>, user: &str) -> Captured {
        Captured {
            seq: 1,
            index: 0,
            received_ms: 0,
            insert_id: id.map(str::to_owned),
            event_type: Some("e".into()),
            user_id: Some(user.into()),
            device_id: None,
            time_ms: Some(0),
            outcome: Outcome::Accepted,
            properties: None,
            revenue: Vec::new(),
        }
    }

    fn row(id: Option<&str>, user: &str) -> ExportedRow {
        ExportedRow {
            insert_id: id.map(str::to_owned),
            event_type: Some("e".into()),
            user_id: Some(user.into()),
            ..ExportedRow::default()
        }
    }

    #[test]
    fn an_event_and_its_rows_share_a_part_at_every_seed() {
        for seed in 0..4 {
            for i in 0..200 {
                let id = format!("id-{i}");
                let user = format!("u{}", i % 7);
                assert_eq!(
                    captured_part(&captured(Some(&id), &user), seed, 64),
                    row_part(&row(Some(&id), "someone else"), seed, 64),
                    "by insert_id, whoever Amplitude says sent it"
                );
                assert_eq!(
                    captured_part(&captured(None, &user), seed, 64),
                    row_part(&row(None, &user), seed, 64),
                    "without an id, by type and actor"
                );
            }
        }
        let spread: std::collections::HashSet<usize> = (0..1000)
            .map(|i| captured_part(&captured(Some(&format!("{i}")), "u"), 0, 16))
            .collect();
        assert_eq!(spread.len(), 16, "ids spread over every part");
        assert_ne!(
            captured_part(&captured(Some("x"), "u"), 0, 1 << 20),
            captured_part(&captured(Some("x"), "u"), 1, 1 << 20),
            "another seed splits a part differently"
        );
    }
}
